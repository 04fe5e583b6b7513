"""The REST API: ``create_app`` builds the one FastAPI application."""
