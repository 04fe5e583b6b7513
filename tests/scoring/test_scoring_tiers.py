"""Tiers: thresholds, weights and territory roll-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territorial.scoring.config import load_config
from territorial.scoring.tiers import assign_tier, percentile, tier_accounts, tier_territories

TIERS = load_config(overrides={"tiers": {"thresholds": {"a": 70, "b": 45}}}).tiers


@pytest.mark.parametrize(
    ("score", "tier"),
    [(100, "A"), (70, "A"), (69.99, "B"), (45, "B"), (44.99, "C"), (0, "C")],
)
def test_thresholds(score: float, tier: str) -> None:
    assert assign_tier([score], TIERS)[0] == tier


def test_tier_score_is_the_weighted_mean_of_components() -> None:
    config = load_config(
        overrides={"tiers": {"weights": {"fit": 0.5, "propensity": 0.25, "potential": 0.25}}}
    ).tiers
    fit = np.array([80.0, 20.0, 50.0, 50.0])
    propensity = np.array([0.9, 0.1, 0.5, 0.3])  # percentiles 100, 25, 75, 50
    potential = np.array([10.0, 40.0, 30.0, 20.0])  # percentiles 25, 100, 75, 50
    result = tier_accounts(fit=fit, propensity=propensity, potential=potential, config=config)
    expected = 0.5 * fit + 0.25 * np.array([100, 25, 75, 50]) + 0.25 * np.array([25, 100, 75, 50])
    np.testing.assert_allclose(result.tier_score, expected)
    assert list(result.tier) == list(assign_tier(expected, config))
    assert result.reasons[0].startswith("A (score 71/100): fit 80: +40 tier score")


def test_missing_propensity_spreads_its_weight() -> None:
    config = load_config(
        overrides={"tiers": {"weights": {"fit": 0.5, "propensity": 0.25, "potential": 0.25}}}
    ).tiers
    result = tier_accounts(fit=[60.0, 60.0], propensity=None, potential=[1.0, 2.0], config=config)
    # fit weight 0.5 and potential 0.25 rescaled to 2/3 and 1/3.
    np.testing.assert_allclose(result.tier_score, [60 * 2 / 3 + 50 / 3, 60 * 2 / 3 + 100 / 3])


def test_percentile_keeps_missing() -> None:
    out = percentile([1.0, np.nan, 3.0])
    assert np.isnan(out[1]) and out[0] == 50 and out[2] == 100


def test_territory_tier_is_potential_weighted() -> None:
    frame = pd.DataFrame(
        {
            "owner_id": ["r1", "r1", "r2", None],
            "tier_score": [90.0, 30.0, 50.0, 10.0],
            "tier": ["A", "C", "B", "C"],
            "potential": [300.0, 100.0, 10.0, 5.0],
            "workload_hours": [10.0, 5.0, 2.0, 1.0],
        }
    )
    out = tier_territories(frame, territory="owner_id", config=TIERS).set_index("territory")
    assert out.loc["r1", "tier_score"] == pytest.approx((90 * 300 + 30 * 100) / 400)
    assert out.loc["r1", "tier"] == "A"
    assert out.loc["r2", "tier"] == "B"
    assert out.loc["(unassigned)", "accounts"] == 1
    assert out.loc["r1", "workload_hours"] == 15
