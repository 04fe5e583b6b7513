"""Reports: market analysis, charts and plan documents."""
