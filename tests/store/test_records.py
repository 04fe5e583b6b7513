"""Data-access functions: write_import in one transaction, typed reads, counts, last import."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from territorial.errors import NotFoundError, ValidationError
from territorial.store import open_store
from territorial.store.records import (
    EntityBatch,
    entity_counts,
    last_import,
    read_accounts,
    read_activities,
    read_opportunities,
    read_reps,
    schema_version,
    stored_ids,
    write_import,
)
from territorial.store.tables import imports


def _accounts(*ids: str, name: str = "Acme") -> EntityBatch:
    frame = pd.DataFrame(
        {
            "id": list(ids),
            "name": [f"{name} {i}" for i in ids],
            "latitude": [40.0 + n for n in range(len(ids))],
            "longitude": [-70.0] * len(ids),
            "employees": pd.array([10 * (n + 1) for n in range(len(ids))], dtype="Int64"),
            "attributes": ['{"tier": "gold"}'] * len(ids),
        }
    )
    return EntityBatch("accounts", frame)


def _opportunity(opp_id: str, account_id: str) -> EntityBatch:
    frame = pd.DataFrame(
        {
            "id": [opp_id],
            "account_id": [account_id],
            "amount": [100.0],
            "currency": ["USD"],
            "stage": ["Closed Won"],
            "created_date": pd.to_datetime(["2024-01-02"]),
            "close_date": pd.to_datetime([None]),
            "is_closed": [True],
            "is_won": [True],
        }
    )
    return EntityBatch("opportunities", frame)


@pytest.fixture
def engine(store_url: str) -> Engine:
    return open_store(store_url)


def test_write_and_read_back_typed(engine: Engine) -> None:
    reps = EntityBatch(
        "reps",
        pd.DataFrame(
            {
                "id": ["R1"],
                "name": ["Rita"],
                "specialties": ['["Software", "Retail"]'],
                "capacity_hours": [32.5],
                "max_accounts": pd.array([None], dtype="Int64"),
                "start_date": pd.to_datetime(["2023-04-01"]),
                "active": [True],
            }
        ),
    )
    activity = EntityBatch(
        "activities",
        pd.DataFrame(
            {
                "id": ["T1"],
                "account_id": ["A1"],
                "rep_id": ["R1"],
                "channel": ["visit"],
                "occurred_at": pd.to_datetime(["2024-02-03 14:30:15"]),
                "duration_minutes": [45.0],
            }
        ),
    )
    summary = write_import(
        engine,
        batch=[activity, _opportunity("O1", "A1"), reps, _accounts("A1", "A2")],  # any order
        source="unit test",
    )
    assert summary.counts == {"accounts": 2, "reps": 1, "opportunities": 1, "activities": 1}
    assert summary.inserted["accounts"] == 2 and summary.updated["accounts"] == 0
    accounts = read_accounts(engine)
    assert accounts["id"].tolist() == ["A1", "A2"]
    assert str(accounts["employees"].dtype) == "Int64"
    assert accounts["attributes"].tolist() == [{"tier": "gold"}, {"tier": "gold"}]
    assert accounts["latitude"].dtype == "float64"
    rep = read_reps(engine).iloc[0]
    assert rep["specialties"] == ["Software", "Retail"]
    assert rep["start_date"] == pd.Timestamp("2023-04-01")
    assert pd.isna(rep["max_accounts"]) and bool(rep["active"])
    opp = read_opportunities(engine).iloc[0]
    assert bool(opp["is_won"]) and pd.isna(opp["close_date"])
    act = read_activities(engine).iloc[0]
    assert act["occurred_at"] == pd.Timestamp("2024-02-03 14:30:15")
    assert entity_counts(engine) == {
        "accounts": 2, "reps": 1, "opportunities": 1, "activities": 1
    }  # fmt: skip
    record = last_import(engine)
    assert record is not None
    assert (record.id, record.source, record.status) == (
        summary.import_id,
        "unit test",
        "succeeded",
    )
    assert record.finished_at is not None
    assert sorted(stored_ids(engine, entity="accounts")) == ["A1", "A2"]
    assert (
        read_accounts(engine, columns=["id", "import_id"])["import_id"].tolist()
        == [summary.import_id] * 2
    )


def test_columns_subset_and_unknown_column(engine: Engine) -> None:
    write_import(engine, batch=[_accounts("A1")], source="t")
    assert list(read_accounts(engine, columns=["id", "latitude"]).columns) == ["id", "latitude"]
    with pytest.raises(NotFoundError, match="colour"):
        read_accounts(engine, columns=["id", "colour"])


def test_empty_store_reads_empty_frames(engine: Engine) -> None:
    assert len(read_accounts(engine)) == 0
    assert "attributes" in read_accounts(engine).columns
    assert last_import(engine) is None
    assert entity_counts(engine) == dict.fromkeys(
        ["accounts", "reps", "opportunities", "activities"], 0
    )
    assert schema_version(engine)


def test_failed_write_leaves_nothing(engine: Engine) -> None:
    write_import(engine, batch=[_accounts("A1"), _opportunity("O1", "A1")], source="first")
    before = (entity_counts(engine), read_accounts(engine).to_json())
    # Replacing accounts without A1 would orphan O1: the foreign key stops it mid-write.
    with pytest.raises(ValidationError, match="clashes with stored data"):
        write_import(
            engine, batch=[_accounts("A2", name="New")], source="second", replace=["accounts"]
        )
    assert (entity_counts(engine), read_accounts(engine).to_json()) == before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(imports)).scalar_one() == 1


def test_replace_deletes_missing_rows(engine: Engine) -> None:
    write_import(engine, batch=[_accounts("A1", "A2", "A3")], source="first")
    summary = write_import(
        engine, batch=[_accounts("A2", "A4", name="New")], source="second", replace=["accounts"]
    )
    assert (summary.inserted, summary.updated, summary.deleted) == (
        {"accounts": 1}, {"accounts": 1}, {"accounts": 2}
    )  # fmt: skip
    assert read_accounts(engine)["name"].tolist() == ["New A2", "New A4"]
