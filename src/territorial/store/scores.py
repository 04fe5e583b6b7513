"""The ``account_scores`` table: one row per account, replaced as a whole by each scoring run.

Written by ``territorial score`` (:func:`write_scores`) and read by the design engine and
the market report (:func:`read_scores`). Columns, units and meaning:
``territorial.scoring.pipeline.SCORE_COLUMNS`` and ``docs/scoring.md``. The design engine
balances on ``potential`` (dollars per year) and ``workload_hours`` (hours per year).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Index,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)

from territorial.errors import ValidationError
from territorial.store.tables import ID, metadata

account_scores = Table(
    "account_scores",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("as_of", Date, nullable=False, doc="date the scores describe"),
    Column(
        "scored_at", DateTime(timezone=True), nullable=False, doc="when the run computed it (UTC)"
    ),
    Column("fit_score", Float, nullable=False, doc="ideal-customer-profile fit, points 0-100"),
    Column("fit_reasons", Text, doc="top fit factors with their points"),
    Column("propensity", Float, doc="calibrated win probability 0-1; NULL when not trained"),
    Column("propensity_percentile", Float, doc="percentile 0-100 of propensity"),
    Column("propensity_reasons", Text, doc="top feature groups with their effect"),
    Column("potential", Float, nullable=False, doc="revenue potential, dollars per year"),
    Column("potential_percentile", Float, doc="percentile 0-100 of potential"),
    Column("potential_method", String(16), nullable=False, doc="'seats' or 'learned'"),
    Column("potential_inputs", Text, doc="inputs of the potential calculation"),
    Column("serviceable", Boolean, nullable=False, doc="counts toward the serviceable market"),
    Column("tier_score", Float, nullable=False, doc="points 0-100"),
    Column("tier", String(1), nullable=False, doc="'A', 'B' or 'C'"),
    Column("tier_reasons", Text, doc="components of tier_score"),
    Column("visit_hours", Float, nullable=False, doc="hours per year"),
    Column("call_hours", Float, nullable=False, doc="hours per year"),
    Column("travel_hours", Float, nullable=False, doc="hours per year"),
    Column("workload_hours", Float, nullable=False, doc="hours per year: visits + calls + travel"),
    Column("travel_miles", Float, nullable=False, doc="one-way road miles"),
    Column("travel_from", String(16), nullable=False, doc="'owner', 'nearest rep' or 'default'"),
    Column("workload_reasons", Text, doc="the workload formula with this account's numbers"),
    Column("reasons", Text, doc="headline reasons"),
)
Index(None, account_scores.c.tier)

SCORE_TABLE_COLUMNS: tuple[str, ...] = tuple(c.name for c in account_scores.columns)
_CHUNK = 5000


def _records(scores: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (``None`` for missing), ready for ``executemany``."""
    frame = scores[list(SCORE_TABLE_COLUMNS)].copy()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    frame["scored_at"] = pd.to_datetime(frame["scored_at"], utc=True).dt.to_pydatetime()
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _sqlite_rows(scores: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples in SQLite's storage format (what SQLAlchemy's SQLite types write):
    dates ``YYYY-MM-DD``, times ``YYYY-MM-DD HH:MM:SS.ffffff``, booleans 0/1."""
    frame = scores[list(SCORE_TABLE_COLUMNS)].copy()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.strftime("%Y-%m-%d")
    stamp = pd.to_datetime(frame["scored_at"], utc=True).dt.tz_convert(None)
    frame["scored_at"] = stamp.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    frame["serviceable"] = frame["serviceable"].astype(bool).astype(int)
    cleaned = frame.astype(object).where(frame.notna(), None)
    return list(cleaned.itertuples(index=False, name=None))


def write_scores(engine: Engine, *, scores: pd.DataFrame) -> int:
    """Replace every row of ``account_scores`` with ``scores`` in one transaction.

    Readers see either the previous run or this one, never a mix. Returns rows written.
    On SQLite the rows go straight to the driver's ``executemany`` (SQLAlchemy's per-row
    processing tripled the time of a 100k-row write).
    """
    missing = [c for c in SCORE_TABLE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValidationError(f"scores frame lacks account_scores column(s) {missing}")
    if scores["account_id"].duplicated().any():
        raise ValidationError("scores must have one row per account; account_id repeats")
    if engine.dialect.name == "sqlite":
        rows = _sqlite_rows(scores)
        columns = ", ".join(SCORE_TABLE_COLUMNS)
        marks = ", ".join("?" for _ in SCORE_TABLE_COLUMNS)
        sql = f"INSERT INTO account_scores ({columns}) VALUES ({marks})"
        with engine.begin() as connection:
            connection.execute(delete(account_scores))
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(sql, rows)
            finally:
                cursor.close()
        return len(rows)
    records = _records(scores)
    with engine.begin() as connection:
        connection.execute(delete(account_scores))
        for start in range(0, len(records), _CHUNK):
            connection.execute(insert(account_scores), records[start : start + _CHUNK])
    return len(records)


def read_scores(engine: Engine, *, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """``account_scores`` as a frame (all columns, or ``columns``), ordered by account id."""
    chosen = [account_scores.c[name] for name in (columns or SCORE_TABLE_COLUMNS)]
    query = select(*chosen).order_by(account_scores.c.account_id)
    sql = str(query.compile(dialect=engine.dialect))
    # The driver's cursor straight into columns: building rows of SQLAlchemy Row objects
    # first costs about five times as long for a million accounts.
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    frame = pd.DataFrame.from_records(rows, columns=[c.name for c in chosen], coerce_float=True)
    for column in chosen:
        if isinstance(column.type, Float):
            frame[column.name] = pd.to_numeric(frame[column.name], errors="coerce").astype(float)
            continue
        convert = column.type.dialect_impl(engine.dialect).result_processor(engine.dialect, None)
        if convert is not None and len(frame):
            converted = [convert(v) for v in frame[column.name].tolist()]
            frame[column.name] = pd.Series(converted, index=frame.index)
    return frame


def scores_as_of(engine: Engine) -> date | None:
    """The ``as_of`` date of the stored run, or ``None`` when nothing was scored yet."""
    with engine.connect() as connection:
        value = connection.execute(select(account_scores.c.as_of).limit(1)).scalar()
    if isinstance(value, datetime):
        return value.date()
    return value


__all__ = ["SCORE_TABLE_COLUMNS", "account_scores", "read_scores", "scores_as_of", "write_scores"]
