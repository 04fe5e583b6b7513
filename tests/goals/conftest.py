"""A hand-drawn company for the goals tests (both databases), and the sample company."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from _goals_data import ACCOUNTS, ACTIVITIES, OPPS, REPS, SCORES
from sqlalchemy import Engine, insert

from territorial.store import open_store
from territorial.store.scores import account_scores
from territorial.store.tables import accounts, activities, opportunities, reps


def _fill(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(reps), [{"capacity_hours": None, "start_date": None, **r} for r in REPS]
        )
        conn.execute(insert(accounts), ACCOUNTS)
        conn.execute(
            insert(opportunities),
            [
                {
                    "id": i,
                    "account_id": a,
                    "owner_id": o,
                    "amount": amt,
                    "currency": "USD",
                    "stage": "Closed Won" if won else ("Closed Lost" if closed else "Open"),
                    "created_date": c,
                    "close_date": d,
                    "is_closed": closed,
                    "is_won": won,
                }
                for i, a, o, amt, c, d, closed, won in OPPS
            ],
        )
        conn.execute(
            insert(activities),
            [
                {
                    "id": i,
                    "account_id": a,
                    "rep_id": r,
                    "channel": ch,
                    "occurred_at": w,
                    "duration_minutes": 30.0,
                }
                for i, a, r, ch, w in ACTIVITIES
            ],
        )
        now = datetime(2026, 4, 1, tzinfo=UTC)
        conn.execute(
            insert(account_scores),
            [
                {
                    "account_id": a,
                    "as_of": date(2026, 4, 1),
                    "scored_at": now,
                    "fit_score": 50.0,
                    "propensity": p,
                    "potential": pot,
                    "potential_method": "seats",
                    "serviceable": True,
                    "tier_score": 50.0,
                    "tier": tier,
                    "visit_hours": 10.0,
                    "call_hours": 5.0,
                    "travel_hours": 1.0,
                    "workload_hours": 16.0,
                    "travel_miles": 3.0,
                    "travel_from": "owner",
                }
                for a, (pot, p, tier) in SCORES.items()
            ],
        )


@pytest.fixture
def tiny(store_url: str) -> Iterator[Engine]:
    """The hand-drawn company in a fresh store."""
    engine = open_store(store_url)
    _fill(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def tiny_sqlite(sqlite_url: str) -> Iterator[Engine]:
    engine = open_store(sqlite_url)
    _fill(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from territorial.sample import write_sample_company

    folder = tmp_path_factory.mktemp("company")
    write_sample_company(folder, accounts=600, reps=10, seed=5)
    return folder
