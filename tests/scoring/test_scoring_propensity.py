"""Propensity model: planted-signal recovery, time-window evaluation, refusal on thin history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territorial.errors import TerritorialError
from territorial.scoring.config import load_config
from territorial.scoring.features import EventIndex, FeatureBuilder, build_history, days
from territorial.scoring.frames import prepare_accounts, prepare_activities, prepare_opportunities
from territorial.scoring.propensity import (
    InsufficientHistoryError,
    PropensityModel,
    reliability_table,
)
from territorial.scoring.synthetic import planted_book

ONE_WINDOW = load_config(overrides={"propensity": {"activity_windows_days": [30]}}).propensity


def _prepared(book):  # type: ignore[no-untyped-def]
    return dict(
        accounts=prepare_accounts(book.accounts),
        opportunities=prepare_opportunities(book.opportunities),
        activities=prepare_activities(book.activities),
    )


@pytest.fixture(scope="module")
def planted_model() -> PropensityModel:
    book = planted_book(accounts=3000, opportunities_per_account=1.0, seed=4)
    return PropensityModel(config=ONE_WINDOW, random_state=0).fit(**_prepared(book))


@pytest.mark.slow
def test_planted_signal_is_recovered(planted_model: PropensityModel) -> None:
    quality = planted_model.quality_
    # Wins depend only on industry (Healthcare/Software) and meetings in the 30 days before
    # creation: held-out AUC is far above chance and those two groups rank first.
    assert quality.roc_auc > 0.68
    assert quality.brier < quality.brier_baseline
    top_two = set(planted_model.importance_["feature"].head(2))
    assert top_two == {"industry", "meetings_30d"}
    assert planted_model.importance_.loc[2:, "heldout_auc"].max() < 0.58


@pytest.mark.slow
def test_evaluation_uses_only_the_later_window(planted_model: PropensityModel) -> None:
    quality = planted_model.quality_
    assert quality.test_wins + quality.test_losses == quality.test_opportunities
    assert quality.train_wins + quality.train_losses == quality.train_opportunities
    # The default holdout is the latest 25% of closes.
    share = quality.test_opportunities / (quality.test_opportunities + quality.train_opportunities)
    assert 0.2 < share < 0.3
    table = quality.reliability
    assert table["opportunities"].sum() == quality.test_opportunities
    assert (
        (table["mean_predicted"] >= table["p_low"]) & (table["mean_predicted"] <= table["p_high"])
    ).all()


@pytest.mark.slow
def test_contributions_explain_the_planted_account(planted_model: PropensityModel) -> None:
    book = planted_book(accounts=3000, opportunities_per_account=1.0, seed=4)
    accounts = prepare_accounts(book.accounts)
    result = planted_model.predict(accounts=accounts, as_of=book.end.date())
    assert ((result.probability > 0) & (result.probability < 1)).all()
    healthcare = (accounts["industry"] == "Healthcare").to_numpy()
    industry = result.group_names.index("industry")
    assert (result.contributions[healthcare, industry] > 0.05).all()
    first = np.flatnonzero(healthcare)[0]
    assert "Healthcare: +0." in result.reasons[first]


def test_thin_history_is_refused_with_the_numbers() -> None:
    book = planted_book(accounts=200, opportunities_per_account=0.3, seed=1)
    with pytest.raises(InsufficientHistoryError, match=r"need at least 30 of each") as info:
        PropensityModel(config=ONE_WINDOW).fit(**_prepared(book))
    assert isinstance(info.value, TerritorialError)
    assert info.value.exit_code == 3 and info.value.http_status == 422


def test_refused_when_the_test_window_is_thin() -> None:
    book = planted_book(accounts=3000, opportunities_per_account=0.5, seed=2)
    config = load_config(
        overrides={
            "propensity": {
                "cutoff": "2026-06-01",
                "min_test_outcomes": 50,
                "activity_windows_days": [30],
            }
        }
    ).propensity
    with pytest.raises(InsufficientHistoryError, match="closed on or after it"):
        PropensityModel(config=config).fit(**_prepared(book))


def test_features_see_only_the_past() -> None:
    """An activity on the creation day or later never counts toward that opportunity."""
    accounts = prepare_accounts(pd.DataFrame({"id": ["a"], "industry": ["Retail"]}))
    activities = prepare_activities(
        pd.DataFrame(
            {
                "account_id": ["a", "a", "a", "a"],
                "channel": ["meeting", "meeting", "meeting", "meeting"],
                "occurred_at": ["2025-12-31", "2026-01-30", "2026-01-31", "2026-02-10"],
            }
        )
    )
    opportunities = prepare_opportunities(
        pd.DataFrame(
            {
                "account_id": ["a"],
                "created_date": ["2026-01-31"],
                "close_date": ["2026-02-01"],
                "is_closed": [True],
                "is_won": [True],
            }
        )
    )
    history = build_history(accounts["id"], activities, opportunities, channels=("meeting",))
    builder = FeatureBuilder(ONE_WINDOW).learn(accounts)
    at = days(pd.Series(pd.to_datetime(["2026-01-31"])))
    features = builder.build(accounts, np.array([0]), at, history)
    labels = list(features.labels([0])[0])
    assert "1 meeting in last 30 days" in labels  # Jan 30 only: Dec 31 is 31 days back
    assert "0 earlier won deals" in list(features.labels([0])[0])  # the win closes after creation


def test_event_index_window_is_half_open() -> None:
    index = EventIndex(np.array([0, 0, 1]), np.array([10, 20, 15]))
    codes = np.array([0, 0, 1, 1])
    counts = index.count(codes, np.array([10, 11, 0, 16]), np.array([20, 21, 100, 100]))
    assert list(counts) == [1, 1, 1, 0]


def test_reliability_table_bins() -> None:
    table = reliability_table([0, 1, 1, 0], [0.05, 0.95, 0.91, 0.15], bins=10)
    assert list(table["opportunities"]) == [1, 1, 2]
    assert list(table["observed_rate"]) == [0.0, 0.0, 1.0]


def test_predict_before_fit_fails() -> None:
    with pytest.raises(TerritorialError, match="not trained"):
        PropensityModel().predict(
            accounts=pd.DataFrame({"id": []}), as_of=pd.Timestamp("2026-01-01").date()
        )
