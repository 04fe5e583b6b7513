"""The whole run: columns, modes, documentation of every output column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territorial.scoring import SCORE_COLUMNS, load_config, score_accounts
from territorial.scoring.propensity import InsufficientHistoryError
from territorial.scoring.synthetic import planted_book
from territorial.store.scores import SCORE_TABLE_COLUMNS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"


@pytest.fixture(scope="module")
def run():  # type: ignore[no-untyped-def]
    book = planted_book(accounts=1500, opportunities_per_account=0.8, seed=5)
    return score_accounts(
        book.accounts, reps=book.reps, opportunities=book.opportunities, activities=book.activities
    )


def test_one_row_per_account_with_every_documented_column(run) -> None:  # type: ignore[no-untyped-def]
    scores = run.scores
    assert list(scores.columns) == [c[0] for c in SCORE_COLUMNS]
    assert list(scores.columns) == list(SCORE_TABLE_COLUMNS)
    assert scores["account_id"].is_unique and len(scores) == 1500
    assert scores["fit_score"].between(0, 100).all()
    assert scores["propensity"].between(0, 1).all()
    assert set(scores["tier"]) <= {"A", "B", "C"}
    assert (scores["potential"] >= 0).all() and (scores["workload_hours"] > 0).all()
    np.testing.assert_allclose(
        scores["visit_hours"] + scores["call_hours"] + scores["travel_hours"],
        scores["workload_hours"],
        atol=0.01,
    )
    assert run.quality is not None and run.quality.roc_auc > 0.6


def test_reasons_are_human_readable(run) -> None:  # type: ignore[no-untyped-def]
    scores = run.scores
    for column in (
        "fit_reasons",
        "propensity_reasons",
        "tier_reasons",
        "workload_reasons",
        "reasons",
    ):
        text = scores[column].astype(str)
        assert (text.str.len() > 5).mean() > 0.95, column
        assert not text.str.contains(r"\bnan\b|\bNone\b|\[|\{").any(), column
    assert scores["fit_reasons"].str.contains(r"^[^;]+: [+-]\d+ fit").all()
    assert scores["propensity_reasons"].str.contains(r": [+-]0\.\d\d propensity").mean() > 0.95
    assert scores["potential_inputs"].str.len().min() > 10


def test_every_output_column_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, _unit, _meaning in SCORE_COLUMNS:
        assert f"| `{name}` |" in text, name


def test_modes_off_and_required() -> None:
    book = planted_book(accounts=100, opportunities_per_account=0.2, seed=1)
    off = load_config(overrides={"propensity": {"mode": "off"}})
    run = score_accounts(
        book.accounts,
        reps=book.reps,
        opportunities=book.opportunities,
        activities=book.activities,
        config=off,
    )
    assert run.quality is None and run.scores["propensity"].isna().all()
    auto = score_accounts(
        book.accounts, reps=book.reps, opportunities=book.opportunities, activities=book.activities
    )
    assert auto.propensity_skipped and "need at least" in auto.propensity_skipped
    assert auto.scores["tier"].notna().all()
    required = load_config(overrides={"propensity": {"mode": "required"}})
    with pytest.raises(InsufficientHistoryError):
        score_accounts(
            book.accounts,
            reps=book.reps,
            opportunities=book.opportunities,
            activities=book.activities,
            config=required,
        )


def test_as_of_hides_the_future() -> None:
    book = planted_book(accounts=300, opportunities_per_account=0.5, seed=3)
    config = load_config(
        overrides={
            "propensity": {"mode": "off"},
            "potential": {"method": "learned", "min_won_deals": 2},
        }
    )
    early = score_accounts(
        book.accounts,
        opportunities=book.opportunities,
        activities=book.activities,
        config=config,
        as_of=pd.Timestamp("2025-01-01").date(),
    )
    late = score_accounts(
        book.accounts,
        opportunities=book.opportunities,
        activities=book.activities,
        config=config,
        as_of=pd.Timestamp("2026-07-01").date(),
    )

    def won_deals(run) -> int:  # type: ignore[no-untyped-def]
        return int(run.scores["potential_inputs"].iloc[0].split("regression on ")[1].split()[0])

    assert won_deals(early) < won_deals(late)
