"""account_scores in the store (SQLite and PostgreSQL) and the `territorial score` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert, inspect

from territorial.cli import main
from territorial.scoring import load_config, score_accounts
from territorial.scoring.synthetic import SyntheticBook, planted_book
from territorial.store import open_store
from territorial.store.scores import SCORE_TABLE_COLUMNS, read_scores, scores_as_of, write_scores
from territorial.store.tables import accounts, activities, opportunities, reps


def _store_book(engine: Engine, book: SyntheticBook) -> None:
    """Write a synthetic book straight into the core tables."""
    acc = book.accounts.copy()
    extra = ["technology", "web_visits_30d", "hiring"]
    acc["attributes"] = [
        {"technology": t, "web_visits_30d": int(w), "hiring": bool(h)}
        for t, w, h in zip(acc["technology"], acc["web_visits_30d"], acc["hiring"], strict=True)
    ]
    acc = acc.drop(columns=extra)
    acc["employees"] = acc["employees"].astype(int)
    opp = book.opportunities.copy()
    opp["currency"] = "USD"
    opp["created_date"] = opp["created_date"].dt.date
    opp["close_date"] = opp["close_date"].dt.date
    act = book.activities.copy()
    act["occurred_at"] = act["occurred_at"].dt.to_pydatetime()

    def rows(frame: pd.DataFrame) -> list[dict]:
        return frame.astype(object).where(frame.notna(), None).to_dict("records")

    with engine.begin() as connection:
        connection.execute(insert(accounts), rows(acc))
        connection.execute(insert(reps), rows(book.reps))
        connection.execute(insert(opportunities), rows(opp))
        connection.execute(insert(activities), rows(act))


def _cli(*args: str) -> int:
    """Run ``territorial ARGS``; the exit code (0 when it returns normally)."""
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_account_scores_round_trip_and_replace(store_url: str) -> None:
    engine = open_store(store_url)
    assert "account_scores" in inspect(engine).get_table_names()
    book = planted_book(accounts=120, opportunities_per_account=0.3, seed=1)
    config = load_config(overrides={"propensity": {"mode": "off"}})
    run = score_accounts(book.accounts, reps=book.reps, config=config)
    assert write_scores(engine, scores=run.scores) == 120
    stored = read_scores(engine)
    assert list(stored.columns) == list(SCORE_TABLE_COLUMNS)
    assert len(stored) == 120 and stored["account_id"].is_unique
    assert stored["propensity"].isna().all()
    expected = run.scores.set_index("account_id")
    got = stored.set_index("account_id").loc[expected.index]
    np.testing.assert_allclose(
        got["potential"].to_numpy(float), expected["potential"].to_numpy(float)
    )
    np.testing.assert_allclose(
        got["workload_hours"].to_numpy(float), expected["workload_hours"].to_numpy(float)
    )
    assert list(got["tier"]) == list(expected["tier"])
    assert list(got["reasons"]) == list(expected["reasons"])
    assert scores_as_of(engine) == run.as_of

    # A second run replaces the table: a smaller book leaves no stale rows behind.
    smaller = run.scores.head(10)
    write_scores(engine, scores=smaller)
    assert sorted(read_scores(engine)["account_id"]) == sorted(smaller["account_id"])


def test_write_refuses_bad_rows_and_keeps_the_old_ones(store_url: str) -> None:
    from territorial.errors import ValidationError

    engine = open_store(store_url)
    book = planted_book(accounts=20, opportunities_per_account=0.1, seed=1)
    run = score_accounts(
        book.accounts, config=load_config(overrides={"propensity": {"mode": "off"}})
    )
    write_scores(engine, scores=run.scores)
    with pytest.raises(ValidationError, match="one row per account"):
        write_scores(engine, scores=pd.concat([run.scores, run.scores.head(1)]))
    assert len(read_scores(engine)) == 20
    # A row the database rejects (NOT NULL tier) rolls the whole replacement back.
    broken = run.scores.head(5).copy()
    broken.loc[broken.index[-1], "tier"] = None
    with pytest.raises(Exception, match=r"NOT NULL|not-null|null value"):
        write_scores(engine, scores=broken)
    assert len(read_scores(engine)) == 20


@pytest.mark.slow
def test_cli_score_writes_the_table_and_the_file(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_store(sqlite_url)
    book = planted_book(accounts=1500, opportunities_per_account=0.8, seed=2)
    _store_book(engine, book)
    csv_path = tmp_path / "scores.csv"
    assert _cli("score", "--database", sqlite_url, "--out", str(csv_path)) == 0
    out = capsys.readouterr().out
    assert "held-out ROC AUC" in out and "Reps needed" in out

    stored = read_scores(engine)
    assert len(stored) == 1500
    assert stored["propensity"].notna().all()
    exported = pd.read_csv(csv_path)
    assert len(exported) == 1500 and exported["account_id"].is_unique
    assert {"potential", "workload_hours", "tier", "reasons", "name", "owner_id"} <= set(
        exported.columns
    )

    parquet = tmp_path / "scores.parquet"
    assert (
        _cli("score", "--database", sqlite_url, "--out", str(parquet), "--as-of", "2026-01-01") == 0
    )
    frame = pd.read_parquet(parquet)
    assert len(frame) == 1500 and str(frame["as_of"].iloc[0]) == "2026-01-01"
    assert len(read_scores(engine)) == 1500

    market = tmp_path / "market"
    assert _cli("market", "--database", sqlite_url, "--out", str(market)) == 0
    assert (market / "index.html").exists()
    assert (market / "white_space_by_state.csv").exists()


def test_cli_score_bad_inputs(sqlite_url: str, tmp_path: Path) -> None:
    assert _cli("score", "--database", sqlite_url, "--as-of", "yesterday") == 2
    assert _cli("score", "--database", sqlite_url) == 4  # empty store
    engine = open_store(sqlite_url)
    _store_book(engine, planted_book(accounts=30, opportunities_per_account=0.1, seed=1))
    assert _cli("score", "--database", sqlite_url, "--out", str(tmp_path / "scores.xlsx")) == 2
