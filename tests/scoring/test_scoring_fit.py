"""Fit score: table-driven cases against the documented formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territorial.scoring.config import load_config
from territorial.scoring.fit import fit_scores
from territorial.scoring.frames import prepare_accounts

# Two factors, weights 60 + 40 = 100 points, so shares read directly as points.
CONFIG = load_config(
    overrides={
        "fit": {
            "factors": {
                "annual_revenue": None,
                "region": None,
                "technology": None,
                "industry": {
                    "weight": 60,
                    "values": {"Healthcare": 1.0, "Retail": 0.5},
                    "default": 0.25,
                    "missing": 0.0,
                },
                "employees": {
                    "weight": 40,
                    "bands": [[0, 0.1], [100, 0.5], [1000, 1.0]],
                    "default": 0.0,
                    "missing": 0.0,
                },
            }
        }
    }
)


@pytest.mark.parametrize(
    ("industry", "employees", "expected", "reason_start"),
    [
        ("Healthcare", 800, 60 + 20, "Healthcare: +60 fit; 800 employees: +20 fit"),
        ("healthcare ", 5000, 60 + 40, "healthcare : +60 fit; 5000 employees: +40 fit"),
        ("Retail", 99, 30 + 4, "Retail: +30 fit; 99 employees: +4 fit"),
        ("Mining", 100, 15 + 20, "100 employees: +20 fit; Mining: +15 fit"),
        (None, 1000, 0 + 40, "1000 employees: +40 fit"),
        ("Healthcare", None, 60, "Healthcare: +60 fit"),
        (None, None, 0, ""),
    ],
)
def test_fit_cases(
    industry: str | None, employees: float | None, expected: float, reason_start: str
) -> None:
    accounts = prepare_accounts(
        pd.DataFrame({"id": ["a"], "industry": [industry], "employees": [employees]})
    )
    result = fit_scores(accounts, CONFIG.fit)
    assert result.score[0] == pytest.approx(expected)
    assert result.points.sum(axis=1)[0] == pytest.approx(expected)
    assert result.reasons[0] == reason_start


def test_weights_are_rescaled_to_100_points() -> None:
    config = load_config(
        overrides={
            "fit": {
                "factors": {
                    k: {"weight": 3}
                    for k in ("industry", "employees", "annual_revenue", "region", "technology")
                }
            }
        }
    )
    accounts = prepare_accounts(
        pd.DataFrame(
            {
                "id": ["best"],
                "industry": ["Software"],
                "employees": [600],
                "annual_revenue": [3e8],
                "state": ["CA"],
                "attributes": [{"technology": "Salesforce"}],
            }
        )
    )
    assert fit_scores(accounts, config.fit).score[0] == pytest.approx(100.0)


def test_unknown_attribute_column_counts_as_missing() -> None:
    accounts = prepare_accounts(
        pd.DataFrame({"id": ["a", "b"], "industry": ["Software", "Retail"]})
    )
    result = fit_scores(accounts, load_config().fit)
    assert np.all((result.score >= 0) & (result.score <= 100))
    assert "technology" in result.factor_names
