"""Performance tracking: bookings, win rates, pipeline, activity and attainment per group
and period, computed by DuckDB over a columnar extract of the store.

Definitions (also in ``docs/goals.md``), for a group key and a period ``[start, end)``:

* **bookings**: amounts of opportunities won with ``close_date`` in the period, credited
  to the opportunity's owner (``--by rep``), the owner's manager (``team``), or the
  account's territory in the territory model / its segment, state, industry, or to
  the opportunity's product (``product``, missing: ``unknown``; opportunity figures
  only: activities and tier-A figures are not about a product and stay 0, quota and
  attainment empty).
* **won**, **lost**: opportunities closed won / closed lost in the period;
  **win_rate** = won / (won + lost); **avg_deal** = bookings / won;
  **cycle_days**: mean days from creation to close of the won ones.
* **pipeline**: amount of opportunities open at the end of the period (created on or
  before its last day and not closed by then).
* **quota**: the newest stored quota set's monthly phasing (day and week periods take
  the days they cover of each month); **attainment** = bookings / quota;
  **coverage** = pipeline / (the quota set's quota - bookings since its start, to the
  period's end), empty when nothing remains.
* **activities** (and per channel ``activities_call`` ...): logged by the rep (``rep``,
  ``team``) or on the group's accounts; **accounts_touched**: distinct accounts with
  one; **tier_a_coverage**: the group's tier-A accounts touched in the period / its
  tier-A accounts (tiers from ``account_scores``).
* ``*_change``: relative change from the previous period (0.1 = +10%).

Ownership comes from :func:`territorial.planning.ownership.book` only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from territorial.domain.model import CHANNELS
from territorial.errors import ConfigError
from territorial.goals.periods import GRAINS, add_months, fiscal_year, fiscal_year_of

log = logging.getLogger(__name__)

GROUPINGS = ("rep", "territory", "segment", "team", "state", "industry", "product")

#: Columns of a performance table, name -> meaning.
PERFORMANCE_COLUMNS: dict[str, str] = {
    "key": "the group: rep id, territory id, segment, manager id, state, industry or product",
    "period": "YYYY-MM-DD (day, week's Monday), YYYY-MM (month) or YYYY-Qn (fiscal quarter)",
    "bookings": "won amounts closed in the period, dollars",
    "won": "opportunities closed won",
    "lost": "opportunities closed lost",
    "win_rate": "won / (won + lost)",
    "avg_deal": "bookings / won, dollars",
    "cycle_days": "mean days from creation to close of won opportunities",
    "pipeline": "open opportunity amounts at the period's end, dollars",
    "new_pipeline": "amounts of opportunities created in the period, dollars",
    "quota": "quota of the period, dollars (newest quota set)",
    "attainment": "bookings / quota",
    "coverage": "pipeline / quota still to book in the quota period",
    "activities": "activities in the period",
    **{f"activities_{c}": f"{c} activities" for c in CHANNELS},
    "accounts_touched": "distinct accounts with an activity",
    "tier_a_accounts": "tier-A accounts of the group",
    "tier_a_touched": "tier-A accounts of the group touched in the period",
    "tier_a_coverage": "tier_a_touched / tier_a_accounts",
    "tier_a_meetings": "meetings and visits with tier-A accounts",
    "bookings_change": "bookings relative to the previous period (0.1 = +10%)",
    "activities_change": "activities relative to the previous period",
}

#: Refuse tables larger than this many rows (groups × periods).
MAX_ROWS = 5_000_000

_EXTRACT_VERSION = 3  # 2: opportunities' product and lead_source; 3: day columns, acc_*
_MEMO: dict[str, dict[str, pa.Table]] = {}
_MEMO_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class PeriodGrid:
    """The periods of a table: labels with their ``[start, end)`` dates, in order."""

    labels: list[str]
    starts: list[date]
    ends: list[date]


def period_grid(start: date, end: date, grain: str, *, fiscal_start_month: int = 1) -> PeriodGrid:
    """Every ``grain`` period overlapping ``[start, end]`` (``end`` inclusive)."""
    if grain not in GRAINS:
        raise ConfigError(f"grain {grain!r} is not one of {', '.join(GRAINS)}")
    labels: list[str] = []
    starts: list[date] = []
    ends: list[date] = []
    if grain == "day":
        cursor = start
        step = timedelta(days=1)
    elif grain == "week":
        cursor = start - timedelta(days=start.weekday())
        step = timedelta(days=7)
    elif grain == "month":
        cursor = date(start.year, start.month, 1)
    else:
        year = fiscal_year_of(start, fiscal_start_month=fiscal_start_month)
        first = fiscal_year(year, fiscal_start_month=fiscal_start_month).start
        cursor = add_months(
            first, ((start.year - first.year) * 12 + start.month - first.month) // 3 * 3
        )
    while cursor <= end:
        if grain in ("day", "week"):
            nxt = cursor + step
            label = cursor.isoformat()
        elif grain == "month":
            nxt = add_months(cursor, 1)
            label = f"{cursor.year:04d}-{cursor.month:02d}"
        else:
            nxt = add_months(cursor, 3)
            year = fiscal_year_of(cursor, fiscal_start_month=fiscal_start_month)
            first = fiscal_year(year, fiscal_start_month=fiscal_start_month).start
            quarter = ((cursor.year - first.year) * 12 + cursor.month - first.month) // 3 + 1
            label = f"{year}-Q{quarter}"
        labels.append(label)
        starts.append(cursor)
        ends.append(nxt)
        cursor = nxt
    return PeriodGrid(labels, starts, ends)


# --- the extract -------------------------------------------------------------------------
def data_fingerprint(engine: Any) -> str:
    """Changes whenever the data behind the extract can have changed."""
    from sqlalchemy import func, select, text

    from territorial.store.planning import owner_history
    from territorial.store.scores import account_scores
    from territorial.store.tables import activities, imports, opportunities, plans

    # Every import (or its undo) is a row of imports and every owner change a row of owner
    # history; rows of opportunities and activities are counted by SQLite's rowid (an index
    # lookup; a full COUNT(*) over millions of rows costs half a second per request).
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        sizes = [
            conn.execute(
                text(f"SELECT max(rowid) FROM {table.name}")
                if sqlite
                else select(func.count()).select_from(table)
            ).scalar()
            for table in (opportunities, activities)
        ]
        values = [
            *sizes,
            conn.execute(select(func.max(imports.c.id))).scalar(),
            conn.execute(select(func.count()).select_from(imports)).scalar(),
            conn.execute(select(func.max(owner_history.c.id))).scalar(),
            conn.execute(select(func.max(account_scores.c.scored_at))).scalar(),
            conn.execute(
                select(plans.c.id).where(plans.c.status == "active").order_by(plans.c.id.desc())
            ).scalar(),
        ]
    raw = json.dumps([_EXTRACT_VERSION, engine.url.render_as_string(), *map(str, values)])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _read_extract(engine: Any) -> dict[str, pa.Table]:
    from territorial.planning.ownership import book
    from territorial.store.records import (
        read_accounts,
        read_activities,
        read_opportunities,
        read_reps,
    )
    from territorial.store.scores import read_scores

    opps = read_opportunities(
        engine,
        columns=(
            "account_id",
            "owner_id",
            "amount",
            "created_date",
            "close_date",
            "is_closed",
            "is_won",
            "product",
            "lead_source",
        ),
    )
    opps["is_closed"] = opps["is_closed"].fillna(False).astype(bool)
    opps["is_won"] = opps["is_won"].fillna(False).astype(bool)
    acts = read_activities(engine, columns=("account_id", "rep_id", "channel", "occurred_at"))
    accounts = read_accounts(engine, columns=("id", "segment", "state", "industry"))
    owned = book(engine)[["account_id", "territory_id", "rep_id"]].rename(
        columns={"account_id": "id", "rep_id": "book_rep"}
    )
    accounts = accounts.merge(owned, on="id", how="left")
    tiers = read_scores(engine, columns=("account_id", "tier")).rename(columns={"account_id": "id"})
    accounts = accounts.merge(tiers, on="id", how="left")
    reps = read_reps(engine, columns=("id", "manager_id"))

    def arrow(frame: pd.DataFrame) -> pa.Table:
        clean = frame.copy()
        for column in clean.columns:
            if clean[column].dtype == object or str(clean[column].dtype) == "str":
                clean[column] = clean[column].astype(object).where(clean[column].notna(), None)
        return pa.Table.from_pandas(clean, preserve_index=False)

    tables = {
        "opps": arrow(opps),
        "acts": arrow(acts),
        "accounts": arrow(accounts),
        "reps": arrow(reps),
    }
    return _denormalise(tables)


_ACCOUNT_ATTRIBUTES = ("territory_id", "book_rep", "segment", "state", "industry", "tier")


def _text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text ids as strings even when a table is empty (Arrow gives its columns type null)."""
    return values.cast(pa.string()) if pa.types.is_null(values.type) else values


def _denormalise(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Give opportunities and activities their day columns (``DATE``) and their account's
    attributes (``acc_*``, dictionary-encoded), so the tables group without joining a million
    accounts on text keys on every request."""
    import pyarrow.compute as pc

    accounts = tables["accounts"]
    days = {"opps": ("created_date", "close_date"), "acts": ("occurred_at",)}
    out = dict(tables)
    for name, date_columns in days.items():
        fact = tables[name]
        for column in date_columns:
            day = "day" if column == "occurred_at" else column.replace("_date", "_day")
            fact = fact.append_column(day, pc.cast(fact[column], pa.date32()))
        where = pc.index_in(_text(fact["account_id"]), value_set=_text(accounts["id"]))
        for attribute in _ACCOUNT_ATTRIBUTES:
            values = pc.take(accounts[attribute], where)
            if pa.types.is_null(values.type):  # a column with no value at all (no scores)
                values = values.cast(pa.string())
            fact = fact.append_column(f"acc_{attribute}", pc.dictionary_encode(values))
        out[name] = fact
    return out


def load_extract(engine: Any, *, cache_dir: Path | None = None) -> dict[str, pa.Table]:
    """The columnar extract of the store, from memory, ``cache_dir`` (Parquet) or the store.

    Keyed by a fingerprint of the data (imports, row counts, owner changes, scores, the
    active plan), so a stale extract is never used.
    """
    key = data_fingerprint(engine)
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key]
    folder = None if cache_dir is None else Path(cache_dir) / "performance" / key
    names = ("opps", "acts", "accounts", "reps")
    if folder is not None and all((folder / f"{n}.parquet").exists() for n in names):
        tables = {n: pq.read_table(folder / f"{n}.parquet") for n in names}
    else:
        tables = _read_extract(engine)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for n, table in tables.items():
                partial = folder / f"{n}.parquet.partial"
                pq.write_table(table, partial)
                partial.replace(folder / f"{n}.parquet")
    with _MEMO_LOCK:
        _MEMO.clear()  # one extract in memory at a time
        _MEMO[key] = tables
    return tables


def data_as_of(tables: dict[str, pa.Table]) -> date:
    """The data's last day: the latest activity or past close date (today at most)."""
    import duckdb

    con = duckdb.connect()
    con.register("opps", tables["opps"])
    con.register("acts", tables["acts"])
    today = date.today()
    row = con.execute(
        "SELECT greatest((SELECT max(day) FROM acts WHERE day <= ?),"
        " (SELECT max(close_day) FROM opps WHERE is_closed AND close_day <= ?))",
        [today, today],
    ).fetchone()
    con.close()
    return row[0] if row and row[0] is not None else today


# --- the table ---------------------------------------------------------------------------
def _bucket_sql(column: str, grain: str, fiscal_start_month: int) -> str:
    """The first day of the period (a ``DATE``) that the day in ``column`` falls in; quarters
    are counted in the fiscal calendar (shifted so the fiscal year starts in January)."""
    if grain == "day":
        return column
    if grain in ("week", "month"):
        return f"CAST(date_trunc('{grain}', {column}) AS DATE)"
    shift = 0 if fiscal_start_month == 1 else 13 - fiscal_start_month
    return f"CAST(date_trunc('quarter', {column} + INTERVAL {shift} MONTH) AS DATE)"


def _bucket_label(day: date, grain: str) -> str:
    """The period label of a bucket from :func:`_bucket_sql`."""
    if grain in ("day", "week"):
        return day.isoformat()
    if grain == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _relabel(frame: pd.DataFrame, grain: str) -> pd.DataFrame:
    """Replace the bucket dates of ``frame["period"]`` by their labels (NULL stays missing)."""
    if len(frame):
        buckets = pd.unique(frame["period"].dropna())
        labels = {b: _bucket_label(pd.Timestamp(b).date(), grain) for b in buckets}
        frame["period"] = frame["period"].map(labels)
    return frame


def _fact_key(by: str, alias: str, rep_column: str) -> str:
    """The group key of an opportunity (``o``) or activity (``t``) row: its own rep column
    for ``rep``, the rep's manager for ``team`` (joined as ``r``), else its account's
    attribute carried on the row."""
    if by == "rep":
        return f"{alias}.{rep_column}"
    if by == "team":
        return "r.manager_id"
    if by == "product":  # only opportunities are about a product
        return f"coalesce(nullif(trim({alias}.product), ''), 'unknown')" if alias == "o" else "NULL"
    return f"{alias}.acc_" + ("territory_id" if by == "territory" else by)


def _account_key(by: str) -> str:
    return {
        "rep": "a.book_rep",
        "team": "r.manager_id",
        "territory": "a.territory_id",
        "segment": "a.segment",
        "state": "a.state",
        "industry": "a.industry",
        "product": "NULL",  # accounts are not about a product
    }[by]


def _quota_by_key(
    engine: Any, by: str, tables: dict[str, pa.Table], quota_set_id: int | None
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Monthly quota per group key (``key, month, quota``) and the set's header."""
    from territorial.errors import NotFoundError
    from territorial.store.goals import get_quota_set, read_quota_months, read_quota_rows

    if by not in ("rep", "territory", "team"):
        return pd.DataFrame(columns=["key", "month", "quota"]), None
    try:
        header = get_quota_set(engine, quota_set_id=quota_set_id)
    except NotFoundError:
        if quota_set_id is not None:
            raise
        return pd.DataFrame(columns=["key", "month", "quota"]), None
    months = read_quota_months(engine, quota_set_id=int(header["id"]))
    rows = read_quota_rows(engine, quota_set_id=int(header["id"]))[["territory_id", "rep_id"]]
    months = months.merge(rows, on="territory_id", how="left")
    if by == "territory":
        months["key"] = months["territory_id"]
    elif by == "rep":
        months["key"] = months["rep_id"]
    else:
        managers = tables["reps"].to_pandas().set_index("id")["manager_id"]
        months["key"] = months["rep_id"].map(managers)
    months = months[months["key"].notna()]
    return months.groupby(["key", "month"], as_index=False)["quota"].sum(), header


def _overlap(grid: PeriodGrid, months: list[str]) -> np.ndarray:
    """``(periods, months)``: the share of each month's days inside each period."""
    out = np.zeros((len(grid.labels), len(months)))
    for j, month in enumerate(months):
        first = date(int(month[:4]), int(month[5:7]), 1)
        nxt = add_months(first, 1)
        days = (nxt - first).days
        for i, (s, e) in enumerate(zip(grid.starts, grid.ends, strict=True)):
            inside = (min(e, nxt) - max(s, first)).days
            if inside > 0:
                out[i, j] = inside / days
    return out


def performance_table(
    engine: Any,
    *,
    by: str = "rep",
    grain: str = "month",
    start: date | None = None,
    end: date | None = None,
    quota_set_id: int | None = None,
    fiscal_start_month: int = 1,
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """One row per group and period from ``start`` to ``end`` (inclusive days), columns
    :data:`PERFORMANCE_COLUMNS`. ``end`` defaults to the data's last day, ``start`` to a
    year before it."""
    import duckdb

    if by not in GROUPINGS:
        raise ConfigError(f"--by {by!r} is not one of {', '.join(GROUPINGS)}")
    if grain not in GRAINS:
        raise ConfigError(f"--grain {grain!r} is not one of {', '.join(GRAINS)}")
    if start is not None and end is not None and start > end:
        raise ConfigError(f"--from {start} is after --to {end}")
    tables = load_extract(engine, cache_dir=cache_dir)
    if end is None:
        end = data_as_of(tables)
    if start is None:
        start = end - timedelta(days=364)
    quotas, header = _quota_by_key(engine, by, tables, quota_set_id)
    if header is not None:
        fiscal_start_month = int(header["fiscal_start_month"])
    grid = period_grid(start, end, grain, fiscal_start_month=fiscal_start_month)
    # One period earlier (for *_change) and back to the quota period's start (coverage).
    lead_start = grid.starts[0] - timedelta(days=1)
    if header is not None:
        lead_start = min(lead_start, header["period_start"])
    full = period_grid(lead_start, end, grain, fiscal_start_month=fiscal_start_month)
    first_shown = full.labels.index(grid.labels[0])
    range_start, range_end = full.starts[0], full.ends[-1]

    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        for name, table in tables.items():
            con.register(name, table)
        opp_key = _fact_key(by, "o", "owner_id")
        act_key = _fact_key(by, "t", "rep_id")
        book_key = _fact_key(by, "t", "acc_book_rep")
        acc_key = _account_key(by)
        close_bucket = _bucket_sql("o.close_day", grain, fiscal_start_month)
        created_bucket = _bucket_sql("o.created_day", grain, fiscal_start_month)
        act_bucket = _bucket_sql("t.day", grain, fiscal_start_month)
        team = by == "team"
        opp_from = "opps o" + (" LEFT JOIN reps r ON r.id = o.owner_id" if team else "")
        closed = con.execute(
            f"""
            SELECT CAST({opp_key} AS VARCHAR) AS key, {close_bucket} AS period,
                   coalesce(sum(o.amount) FILTER (WHERE o.is_won), 0) AS bookings,
                   count(*) FILTER (WHERE o.is_won) AS won,
                   count(*) FILTER (WHERE NOT o.is_won) AS lost,
                   avg(date_diff('day', o.created_day, o.close_day)) FILTER (WHERE o.is_won)
                       AS cycle_days
            FROM {opp_from}
            WHERE o.is_closed AND o.close_day IS NOT NULL
              AND o.close_day >= ? AND o.close_day < ? AND {opp_key} IS NOT NULL
            GROUP BY 1, 2
            """,
            [range_start, range_end],
        ).df()
        # Open pipeline: what was open before the range (period NULL), then what each
        # period opened (+) and closed (-).
        flows = con.execute(
            f"""
            SELECT key, period, sum(delta) AS delta FROM (
                SELECT CAST({opp_key} AS VARCHAR) AS key,
                       CASE WHEN o.created_day < ? THEN NULL ELSE {created_bucket} END AS period,
                       o.amount AS delta
                FROM {opp_from}
                WHERE o.created_day < ? AND {opp_key} IS NOT NULL
                UNION ALL
                SELECT CAST({opp_key} AS VARCHAR) AS key,
                       CASE WHEN o.close_day < ? THEN NULL ELSE {close_bucket} END,
                       -o.amount
                FROM {opp_from}
                WHERE o.is_closed AND o.close_day IS NOT NULL
                  AND o.close_day < ? AND {opp_key} IS NOT NULL
            ) GROUP BY 1, 2
            """,
            [range_start, range_end, range_start, range_end],
        ).df()
        created = con.execute(
            f"""
            SELECT CAST({opp_key} AS VARCHAR) AS key, {created_bucket} AS period,
                   sum(o.amount) AS new_pipeline
            FROM {opp_from}
            WHERE o.created_day >= ? AND o.created_day < ? AND {opp_key} IS NOT NULL
            GROUP BY 1, 2
            """,
            [range_start, range_end],
        ).df()
        channel_columns = ", ".join(
            f"count(*) FILTER (WHERE t.channel = '{c}') AS activities_{c}" for c in CHANNELS
        )
        act_from = "acts t" + (" LEFT JOIN reps r ON r.id = t.rep_id" if team else "")
        touched = con.execute(
            f"""
            SELECT CAST({act_key} AS VARCHAR) AS key, {act_bucket} AS period,
                   count(*) AS activities,
                   {channel_columns}, count(DISTINCT t.account_id) AS accounts_touched,
                   count(*) FILTER (WHERE t.acc_tier = 'A' AND t.channel IN ('meeting', 'visit'))
                       AS tier_a_meetings
            FROM {act_from}
            WHERE t.day >= ? AND t.day < ? AND {act_key} IS NOT NULL
            GROUP BY 1, 2
            """,
            [range_start, range_end],
        ).df()
        book_from = "acts t" + (" LEFT JOIN reps r ON r.id = t.acc_book_rep" if team else "")
        tier_a = con.execute(
            f"""
            SELECT CAST({book_key} AS VARCHAR) AS key, {act_bucket} AS period,
                   count(DISTINCT t.account_id) AS tier_a_touched
            FROM {book_from}
            WHERE t.acc_tier = 'A' AND t.day >= ? AND t.day < ? AND {book_key} IS NOT NULL
            GROUP BY 1, 2
            """,
            [range_start, range_end],
        ).df()
        acc_join = "LEFT JOIN reps r ON r.id = a.book_rep" if team else ""
        tier_a_total = con.execute(
            f"""
            SELECT CAST({acc_key} AS VARCHAR) AS key, count(*) AS tier_a_accounts
            FROM accounts a {acc_join}
            WHERE a.tier = 'A' AND {acc_key} IS NOT NULL GROUP BY 1
            """
        ).df()
        for frame in (closed, flows, created, touched, tier_a):
            _relabel(frame, grain)
    finally:
        con.close()

    keys = sorted(set(closed["key"]) | set(flows["key"]) | set(touched["key"]) | set(quotas["key"]))
    keys = [str(k) for k in keys]
    n_keys, n_periods = len(keys), len(full.labels)
    if n_keys * n_periods > MAX_ROWS:
        raise ConfigError(
            f"{n_keys:,} groups × {n_periods:,} {grain} periods is more than {MAX_ROWS:,} rows; "
            "choose a coarser --grain or a shorter --from/--to range"
        )
    key_pos = {k: i for i, k in enumerate(keys)}
    period_pos = {p: j for j, p in enumerate(full.labels)}

    def matrix(frame: pd.DataFrame, column: str) -> np.ndarray:
        out = np.zeros((n_keys, n_periods))
        if len(frame):
            rows = frame["key"].astype(str).map(key_pos).to_numpy()
            cols = frame["period"].map(period_pos)
            ok = cols.notna().to_numpy()
            np.add.at(
                out,
                (rows[ok].astype(int), cols[ok].to_numpy().astype(int)),
                frame.loc[ok, column].to_numpy(dtype=float),
            )
        return out

    bookings = matrix(closed, "bookings")
    won = matrix(closed, "won")
    lost = matrix(closed, "lost")
    cycle = matrix(
        closed.assign(cycle_sum=closed["cycle_days"].fillna(0) * closed["won"]), "cycle_sum"
    )
    before = flows[flows["period"].isna()]
    opening = np.zeros(n_keys)
    if len(before):
        np.add.at(
            opening,
            before["key"].astype(str).map(key_pos).to_numpy(dtype=np.int64),
            before["delta"].to_numpy(float),
        )
    pipeline = opening[:, None] + np.cumsum(matrix(flows[flows["period"].notna()], "delta"), axis=1)
    new_pipeline = matrix(created, "new_pipeline")
    activities = matrix(touched, "activities")
    tier_meetings = matrix(touched, "tier_a_meetings")
    channels = {c: matrix(touched, f"activities_{c}") for c in CHANNELS}
    accounts_touched = matrix(touched, "accounts_touched")
    tier_touched = matrix(tier_a, "tier_a_touched")
    tier_total = np.zeros(n_keys)
    if len(tier_a_total):
        known = tier_a_total[tier_a_total["key"].astype(str).isin(key_pos)]
        where = known["key"].astype(str).map(key_pos).to_numpy(dtype=np.int64)
        tier_total[where] = known["tier_a_accounts"].to_numpy(float)

    quota = np.full((n_keys, n_periods), np.nan)
    coverage = np.full((n_keys, n_periods), np.nan)
    if header is not None and len(quotas):
        months = sorted(quotas["month"].unique())
        month_pos = {m: j for j, m in enumerate(months)}
        monthly = np.zeros((n_keys, len(months)))
        known = quotas[quotas["key"].astype(str).isin(key_pos)]
        np.add.at(
            monthly,
            (
                known["key"].astype(str).map(key_pos).to_numpy(),
                known["month"].map(month_pos).to_numpy(),
            ),
            known["quota"].to_numpy(float),
        )
        overlap = _overlap(full, months)
        quota = monthly @ overlap.T
        has_quota = (
            (quotas.groupby("key")["quota"].sum() > 0).reindex(keys, fill_value=False).to_numpy()
        )
        in_set = np.array(
            [
                header["period_start"] <= s and e <= header["period_end"]
                for s, e in zip(full.starts, full.ends, strict=True)
            ]
        )
        quota = np.where(has_quota[:, None] & (overlap.sum(axis=1)[None, :] > 0), quota, np.nan)
        booked = np.cumsum(np.where(in_set[None, :], bookings, 0.0), axis=1)
        remaining = monthly.sum(axis=1)[:, None] - booked
        coverage = np.where(
            in_set[None, :] & has_quota[:, None] & (remaining > 0),
            pipeline / np.where(remaining > 0, remaining, 1.0),
            np.nan,
        )

    with np.errstate(divide="ignore", invalid="ignore"):
        closed_count = won + lost
        win_rate = np.where(closed_count > 0, won / closed_count, np.nan)
        avg_deal = np.where(won > 0, bookings / won, np.nan)
        cycle_days = np.where(won > 0, cycle / won, np.nan)
        attainment = np.where(quota > 0, bookings / quota, np.nan)
        tier_cov = np.where(tier_total[:, None] > 0, tier_touched / tier_total[:, None], np.nan)
        prev_b = np.concatenate([np.full((n_keys, 1), np.nan), bookings[:, :-1]], axis=1)
        prev_a = np.concatenate([np.full((n_keys, 1), np.nan), activities[:, :-1]], axis=1)
        bookings_change = np.where(prev_b > 0, bookings / prev_b - 1, np.nan)
        activities_change = np.where(prev_a > 0, activities / prev_a - 1, np.nan)

    shown = slice(first_shown, n_periods)
    width = n_periods - first_shown

    def flat(values: np.ndarray) -> np.ndarray:
        return values[:, shown].reshape(-1)

    frame = pd.DataFrame(
        {
            "key": np.repeat(keys, width),
            "period": np.tile(full.labels[first_shown:], n_keys),
            "bookings": np.round(flat(bookings), 2),
            "won": flat(won).astype(np.int64),
            "lost": flat(lost).astype(np.int64),
            "win_rate": np.round(flat(win_rate), 4),
            "avg_deal": np.round(flat(avg_deal), 2),
            "cycle_days": np.round(flat(cycle_days), 1),
            "pipeline": np.round(flat(pipeline), 2),
            "new_pipeline": np.round(flat(new_pipeline), 2),
            "quota": np.round(flat(quota), 2),
            "attainment": np.round(flat(attainment), 4),
            "coverage": np.round(flat(coverage), 3),
            "activities": flat(activities).astype(np.int64),
            **{f"activities_{c}": flat(v).astype(np.int64) for c, v in channels.items()},
            "accounts_touched": flat(accounts_touched).astype(np.int64),
            "tier_a_accounts": np.repeat(tier_total, width).astype(np.int64),
            "tier_a_touched": flat(tier_touched).astype(np.int64),
            "tier_a_coverage": np.round(flat(tier_cov), 4),
            "tier_a_meetings": flat(tier_meetings).astype(np.int64),
            "bookings_change": np.round(flat(bookings_change), 4),
            "activities_change": np.round(flat(activities_change), 4),
        }
    )
    frame.attrs["as_of"] = end.isoformat()
    frame.attrs["quota_set_id"] = None if header is None else int(header["id"])
    return frame[list(PERFORMANCE_COLUMNS)]


def summary(table: pd.DataFrame) -> dict[str, Any]:
    """Totals of a performance table (all groups and periods)."""
    won, lost = int(table["won"].sum()), int(table["lost"].sum())
    bookings = float(table["bookings"].sum())
    quota = float(table["quota"].sum(min_count=1)) if table["quota"].notna().any() else None
    return {
        "bookings": round(bookings, 2),
        "won": won,
        "lost": lost,
        "win_rate": won / (won + lost) if won + lost else None,
        "quota": quota,
        "attainment": bookings / quota if quota else None,
        "activities": int(table["activities"].sum()),
        "groups": int(table["key"].nunique()),
        "periods": int(table["period"].nunique()),
    }


__all__ = [
    "GROUPINGS",
    "PERFORMANCE_COLUMNS",
    "PeriodGrid",
    "data_as_of",
    "data_fingerprint",
    "load_extract",
    "performance_table",
    "period_grid",
    "summary",
]
