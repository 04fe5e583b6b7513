"""The planted win model of the sample company.

Every closed opportunity of the sample is won with probability
``sigmoid(win_logit(account))``, a logistic function of attributes that are all in
``accounts`` (industry, segment, technology, web_visits_30d, hiring, new_executive).
Nothing else (product, amount, rep, region, date) moves the odds, so a propensity
model trained on closed opportunities should recover these coefficients: see
``docs/sample.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from territorial.domain.model import INDUSTRIES, SEGMENTS
from territorial.sample.vocabulary import TECHNOLOGIES

#: Log-odds of a win for a baseline account (industry Manufacturing, SMB, Zoho,
#: no web visits, not hiring, no new executive).
INTERCEPT = -1.6

#: Industry fit: added log-odds by industry (0 for the reference, Manufacturing).
INDUSTRY_LOGIT: dict[str, float] = {
    "Software": 0.8,
    "Financial Services": 0.5,
    "Professional Services": 0.4,
    "Healthcare": 0.2,
    "Media & Telecom": 0.2,
    "Manufacturing": 0.0,
    "Retail": 0.0,
    "Transportation & Logistics": -0.1,
    "Energy": -0.2,
    "Construction & Real Estate": -0.3,
    "Education": -0.4,
    "Hospitality": -0.5,
    "Agriculture": -0.6,
    "Government": -0.8,
}

#: Size band: Mid-Market is the sweet spot, Enterprise deals are hardest to win.
SEGMENT_LOGIT: dict[str, float] = {"Enterprise": -0.25, "Mid-Market": 0.3, "SMB": 0.0}

#: Technology fit: the product integrates natively with Salesforce and HubSpot.
TECHNOLOGY_LOGIT: dict[str, float] = {
    "Salesforce": 0.5,
    "HubSpot": 0.4,
    "Microsoft Dynamics 365": 0.1,
    "Zoho": 0.0,
    "Pipedrive": 0.0,
    "Oracle NetSuite": -0.1,
    "SAP": -0.4,
    "Spreadsheets": -0.6,
}

#: Log-odds per unit of ``log1p(web_visits_30d)`` (intent: visits to our web site).
WEB_VISITS_LOGIT = 0.3
#: Log-odds when the account is hiring (``hiring`` is true).
HIRING_LOGIT = 0.5
#: Log-odds when the account has a new executive (``new_executive`` is true).
NEW_EXECUTIVE_LOGIT = 0.7

assert set(INDUSTRY_LOGIT) == set(INDUSTRIES)
assert set(SEGMENT_LOGIT) == set(SEGMENTS)
assert set(TECHNOLOGY_LOGIT) == set(TECHNOLOGIES)


def win_logit_arrays(
    *,
    industry: np.ndarray,
    segment: np.ndarray,
    technology: np.ndarray,
    web_visits_30d: np.ndarray,
    hiring: np.ndarray,
    new_executive: np.ndarray,
) -> np.ndarray:
    """Planted log-odds of winning, from integer codes (positions in INDUSTRIES, SEGMENTS,
    TECHNOLOGIES) and the three intent signals."""
    industry_part = np.array([INDUSTRY_LOGIT[name] for name in INDUSTRIES])[industry]
    segment_part = np.array([SEGMENT_LOGIT[name] for name in SEGMENTS])[segment]
    technology_part = np.array([TECHNOLOGY_LOGIT[name] for name in TECHNOLOGIES])[technology]
    return (
        INTERCEPT
        + industry_part
        + segment_part
        + technology_part
        + WEB_VISITS_LOGIT * np.log1p(np.asarray(web_visits_30d, dtype=np.float64))
        + HIRING_LOGIT * np.asarray(hiring, dtype=np.float64)
        + NEW_EXECUTIVE_LOGIT * np.asarray(new_executive, dtype=np.float64)
    )


def win_logit(accounts: pd.DataFrame) -> np.ndarray:
    """Planted log-odds of winning for each row of a sample ``accounts`` table."""

    def codes(column: str, labels: tuple[str, ...]) -> np.ndarray:
        values = accounts[column].astype(str).to_numpy()
        lookup = {label: i for i, label in enumerate(labels)}
        missing = set(np.unique(values)) - set(lookup)
        if missing:
            raise ValueError(f"unknown {column} values {sorted(missing)[:5]}")
        return pd.Series(values).map(lookup).to_numpy(dtype=np.int64)

    return win_logit_arrays(
        industry=codes("industry", INDUSTRIES),
        segment=codes("segment", SEGMENTS),
        technology=codes("technology", TECHNOLOGIES),
        web_visits_30d=accounts["web_visits_30d"].to_numpy(dtype=np.float64),
        hiring=accounts["hiring"].to_numpy(dtype=bool),
        new_executive=accounts["new_executive"].to_numpy(dtype=bool),
    )


def win_probability(accounts: pd.DataFrame) -> np.ndarray:
    """Planted probability that a closed opportunity of each account is won."""
    return 1.0 / (1.0 + np.exp(-win_logit(accounts)))
