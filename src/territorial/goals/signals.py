"""Signals: territories and reps that drift out of band, each with its figure, the
threshold it crossed and a suggested action.

Kinds (thresholds in :class:`SignalThresholds`):

* ``attainment_pace``: bookings since the quota period began / the quota phased to date
  is below ``pace_min``.
* ``coverage_low``: open pipeline / quota still to book is below ``coverage_min``.
* ``over_capacity``: the territory's workload hours per year (``account_scores``) over
  its rep's capacity (``capacity_hours`` × 46 weeks) is above ``capacity_max``.
* ``quota_out_of_line``: quota / potential off the median territory's by more than the
  quota set's ``outlier_band``.
* ``potential_shifted``: today's potential differs from the potential the quotas were
  set on by more than ``potential_shift_max``: re-run the balance.
* ``activity_drop``: activities per week in the last 4 weeks are below
  ``1 - activity_drop_max`` of the 12 weeks before.
* ``tier_a_untouched``: tier-A accounts without a touch in ``tier_a_days`` days,
  more than ``tier_a_untouched_max`` of them.

:func:`detect_signals` computes them; :func:`queue_signals` leaves each as a
notification for the territory's rep (``store.planning.notify``), once per day and kind.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

SELLING_WEEKS = 46

SIGNAL_COLUMNS = (
    "kind",
    "territory_id",
    "rep_id",
    "figure",
    "threshold",
    "message",
    "action",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalThresholds:
    pace_min: float = 0.85
    coverage_min: float = 2.0
    capacity_max: float = 1.10
    potential_shift_max: float = 0.15
    activity_drop_max: float = 0.30
    tier_a_days: int = 60
    tier_a_untouched_max: float = 0.25


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else float("nan")


def detect_signals(
    engine: Any,
    *,
    as_of: date | None = None,
    thresholds: SignalThresholds | None = None,
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """Every current signal, one row each (:data:`SIGNAL_COLUMNS`), worst first per kind."""
    import duckdb

    from territorial.errors import NotFoundError
    from territorial.goals.performance import data_as_of, load_extract
    from territorial.planning.ownership import book, territory_reps
    from territorial.store.goals import get_quota_set, read_quota_rows
    from territorial.store.records import read_reps
    from territorial.store.scores import read_scores

    limits = thresholds or SignalThresholds()
    tables = load_extract(engine, cache_dir=cache_dir)
    as_of = as_of or data_as_of(tables)
    members = territory_reps(engine)
    owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
    rep_of = owners.drop_duplicates("territory_id").set_index("territory_id")["rep_id"]
    rows: list[dict[str, Any]] = []

    def add(
        kind: str,
        territory: str | None,
        figure: float,
        threshold: float,
        message: str,
        action: str,
        rep: str | None = None,
    ) -> None:
        rows.append(
            {
                "kind": kind,
                "territory_id": territory,
                "rep_id": rep
                if rep is not None
                else (rep_of.get(territory) if territory else None),
                "figure": round(float(figure), 4),
                "threshold": threshold,
                "message": message,
                "action": action,
            }
        )

    owned = book(engine)[["account_id", "territory_id", "rep_id"]]
    scores = read_scores(engine, columns=("account_id", "potential", "workload_hours", "tier"))
    per_account = owned.merge(scores, on="account_id", how="left")
    per_territory = per_account.groupby("territory_id").agg(
        potential=("potential", "sum"),
        workload=("workload_hours", "sum"),
        accounts=("account_id", "size"),
    )
    mean_hours = float(per_account["workload_hours"].mean()) if len(per_account) else float("nan")
    mean_potential = float(per_account["potential"].mean()) if len(per_account) else float("nan")

    # Quota pace and coverage, over the newest quota set's period to date.
    try:
        header = get_quota_set(engine)
    except NotFoundError:
        header = None
    if header is not None and header["period_start"] <= as_of:
        from territorial.goals.standings import standings

        standing = standings(engine, by="territory", as_of=as_of, cache_dir=cache_dir)
        end = standing.attrs["as_of"]
        quota_rows = read_quota_rows(engine, quota_set_id=int(header["id"])).set_index(
            "territory_id"
        )
        for row in standing.itertuples(index=False):
            territory = str(row.key)
            if not (row.quota_to_date > 0):
                continue
            if row.pace < limits.pace_min:
                add(
                    "attainment_pace",
                    territory,
                    row.pace,
                    limits.pace_min,
                    f"{territory}: bookings {row.bookings:,.0f} $ are {row.pace:.0%} of the "
                    f"{row.quota_to_date:,.0f} $ quota phased to {end} "
                    f"(band ≥ {limits.pace_min:.0%})",
                    "review the open pipeline with the rep; if the territory's potential is short "
                    "of its quota, adjust the quota or realign",
                )
            if math.isfinite(row.coverage) and row.coverage < limits.coverage_min:
                add(
                    "coverage_low",
                    territory,
                    row.coverage,
                    limits.coverage_min,
                    f"{territory}: open pipeline {row.pipeline:,.0f} $ covers "
                    f"{row.coverage:.1f}× the quota still to book "
                    f"(band ≥ {limits.coverage_min:.1f}×)",
                    "build pipeline: prospect untouched tier-A accounts (see tier_a_untouched)",
                )
        stored = quota_rows["potential"]
        for territory, potential_then in stored.items():
            now = float(per_territory["potential"].get(territory, 0.0))
            if potential_then > 0:
                shift = now / potential_then - 1
                if abs(shift) > limits.potential_shift_max:
                    moves = max(1, math.ceil(abs(now - potential_then) / max(mean_potential, 1.0)))
                    add(
                        "potential_shifted",
                        str(territory),
                        shift,
                        limits.potential_shift_max,
                        f"{territory}: potential {now:,.0f} $/year is {shift:+.0%} from the "
                        f"{potential_then:,.0f} $ the quotas were set on",
                        f"re-run the balance: realign with at most {moves} moves "
                        f"(territorial design --current --max-moves {moves})",
                    )
        for outlier in (header.get("fairness") or {}).get("outliers", []):
            index = outlier.get("quota_index")
            if index is None:
                continue
            add(
                "quota_out_of_line",
                str(outlier["territory"]),
                float(index),
                float(header["fairness"].get("outlier_band", 0.25)),
                f"{outlier['territory']}: quota/potential is {float(index):.2f}× the median "
                f"territory's (band ±{float(header['fairness'].get('outlier_band', 0.25)):.0%})",
                "re-split the quota (territorial quota --method potential or blend) or realign",
            )

    # Workload against the rep's capacity.
    reps = read_reps(engine, columns=("id", "capacity_hours")).set_index("id")["capacity_hours"]
    for territory, row in per_territory.iterrows():
        rep = rep_of.get(territory)
        capacity = reps.get(rep) if rep is not None else None
        if capacity is None or not math.isfinite(capacity) or capacity <= 0:
            continue
        load = row["workload"] / (capacity * SELLING_WEEKS)
        if load > limits.capacity_max:
            excess = row["workload"] - capacity * SELLING_WEEKS
            moves = max(1, math.ceil(excess / max(mean_hours, 1e-9)))
            add(
                "over_capacity",
                str(territory),
                load,
                limits.capacity_max,
                f"{territory}: {row['workload']:,.0f} workload hours/year for a rep with "
                f"{capacity * SELLING_WEEKS:,.0f} ({load:.0%} of capacity)",
                f"realign with at most {moves} moves (territorial design --current "
                f"--max-moves {moves}) or add an overlay rep",
            )

    # Activity drop and untouched tier-A accounts, from the extract.
    con = duckdb.connect()
    try:
        con.register("acts", tables["acts"])
        con.register("accounts", tables["accounts"])
        weekly = con.execute(
            """
            SELECT a.territory_id AS key,
                   count(*) FILTER (WHERE CAST(t.occurred_at AS DATE) > ?) / 4.0 AS recent,
                   count(*) FILTER (WHERE CAST(t.occurred_at AS DATE) <= ?) / 12.0 AS before
            FROM acts t JOIN accounts a ON a.id = t.account_id
            WHERE CAST(t.occurred_at AS DATE) > ? AND CAST(t.occurred_at AS DATE) <= ?
              AND a.territory_id IS NOT NULL
            GROUP BY 1
            """,
            [
                as_of - timedelta(weeks=4),
                as_of - timedelta(weeks=4),
                as_of - timedelta(weeks=16),
                as_of,
            ],
        ).df()
        untouched = con.execute(
            """
            SELECT a.territory_id AS key, count(*) AS tier_a,
                   count(*) FILTER (WHERE a.id NOT IN (
                       SELECT account_id FROM acts
                       WHERE CAST(occurred_at AS DATE) > ? AND CAST(occurred_at AS DATE) <= ?))
                       AS untouched
            FROM accounts a WHERE a.tier = 'A' AND a.territory_id IS NOT NULL GROUP BY 1
            """,
            [as_of - timedelta(days=limits.tier_a_days), as_of],
        ).df()
    finally:
        con.close()
    for r in weekly.itertuples(index=False):
        if r.before > 0:
            change = r.recent / r.before - 1
            if change < -limits.activity_drop_max:
                add(
                    "activity_drop",
                    str(r.key),
                    change,
                    -limits.activity_drop_max,
                    f"{r.key}: {r.recent:.1f} activities/week in the last 4 weeks against "
                    f"{r.before:.1f} in the 12 before ({change:+.0%})",
                    "check in with the rep: time off, a stuck deal or too many accounts?",
                )
    for r in untouched.itertuples(index=False):
        share = r.untouched / r.tier_a if r.tier_a else 0.0
        if share > limits.tier_a_untouched_max:
            add(
                "tier_a_untouched",
                str(r.key),
                share,
                limits.tier_a_untouched_max,
                f"{r.key}: {r.untouched} of {r.tier_a} tier-A accounts untouched for "
                f"{limits.tier_a_days} days ({share:.0%})",
                "plan meetings with the untouched tier-A accounts this month",
            )
    frame = pd.DataFrame(rows, columns=list(SIGNAL_COLUMNS))
    frame.attrs["as_of"] = as_of.isoformat()
    return frame.reset_index(drop=True)


def queue_signals(engine: Any, *, signals: pd.DataFrame, at: datetime | None = None) -> int:
    """Leave each signal as a notification for its rep (kind ``signal``); a signal already
    queued today (same kind and territory) is not queued again. Returns how many."""
    from sqlalchemy import select

    from territorial.store.planning import notifications, notify_many

    now = at or datetime.now(UTC)
    day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    with engine.begin() as conn:
        seen = {
            (r.body.get("kind"), r.body.get("territory_id"))
            for r in conn.execute(
                select(notifications.c.body).where(
                    notifications.c.kind == "signal", notifications.c.created_at >= day_start
                )
            )
            if isinstance(r.body, dict)
        }
        rows = [
            {
                "kind": "signal",
                "title": s["message"],
                "body": {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in s.items()
                },
                "rep_id": s["rep_id"],
            }
            for s in signals.to_dict("records")
            if (s["kind"], s["territory_id"]) not in seen
        ]
        notify_many(conn, rows=rows, at=now)
    return len(rows)


def thresholds_dict(thresholds: SignalThresholds | None = None) -> dict[str, Any]:
    return asdict(thresholds or SignalThresholds())


__all__ = [
    "SIGNAL_COLUMNS",
    "SignalThresholds",
    "detect_signals",
    "queue_signals",
    "scheduled_signals",
    "thresholds_dict",
]


_LAST_SCHEDULED: dict[str, date] = {}


def scheduled_signals(engine: Any, *, today: date | None = None) -> int:
    """The scheduled run (``planning.jobs.run_scheduled_work``): once a day per store and
    process, detect the signals and queue the new ones as notifications. Returns how many
    were queued (0 when it already ran today)."""
    day = today or datetime.now(UTC).date()
    key = engine.url.render_as_string(hide_password=True)
    if _LAST_SCHEDULED.get(key) == day:
        return 0
    signals = detect_signals(engine)
    queued = queue_signals(engine, signals=signals)
    _LAST_SCHEDULED[key] = day
    return queued
