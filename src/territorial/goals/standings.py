"""Standings: where each territory (or rep) is against its quota, period to date.

One row per key with the newest quota set's period from its start to ``as_of``:
``quota`` (whole period), ``quota_to_date`` (phased to ``as_of``), ``bookings``,
``attainment`` = bookings / quota, ``pace`` = bookings / quota_to_date, ``pipeline``
and ``coverage`` at ``as_of``, won, lost, win_rate and activities in the last 4 weeks.
Without a quota set the period is the calendar year to date and quota figures are empty.
Signals, the workspace and the API read these figures from here.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

STANDING_COLUMNS = (
    "key",
    "quota",
    "quota_to_date",
    "bookings",
    "attainment",
    "pace",
    "pipeline",
    "coverage",
    "won",
    "lost",
    "win_rate",
    "activities_4w",
)


def standings(
    engine: Any,
    *,
    by: str = "territory",
    as_of: date | None = None,
    keys: frozenset[str] | None = None,
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """The period-to-date standing of every key (``keys`` limits the rows)."""
    from territorial.errors import NotFoundError
    from territorial.goals.performance import data_as_of, load_extract, performance_table
    from territorial.store.goals import get_quota_set, read_quota_rows

    tables = load_extract(engine, cache_dir=cache_dir)
    as_of = as_of or data_as_of(tables)
    try:
        header: dict[str, Any] | None = get_quota_set(engine)
    except NotFoundError:
        header = None
    if header is not None and header["period_start"] <= as_of:
        start = header["period_start"]
        end = min(as_of, header["period_end"] - timedelta(days=1))
    else:
        header = None
        start, end = date(as_of.year, 1, 1), as_of
    table = performance_table(
        engine,
        by=by,
        grain="day",
        start=start,
        end=end,
        quota_set_id=None if header is None else int(header["id"]),
        cache_dir=cache_dir,
    )
    if keys is not None:
        table = table[table["key"].isin(keys)]
    last_day = table["period"].max()
    recent = (end - timedelta(days=27)).isoformat()
    grouped = table.groupby("key").agg(
        quota_to_date=("quota", lambda s: s.sum(min_count=1)),
        bookings=("bookings", "sum"),
        won=("won", "sum"),
        lost=("lost", "sum"),
    )
    activities = table[table["period"] >= recent].groupby("key")["activities"].sum()
    last = table[table["period"] == last_day].set_index("key")
    out = grouped.reset_index()
    out["pipeline"] = out["key"].map(last["pipeline"]).astype(float)
    out["coverage"] = out["key"].map(last["coverage"]).astype(float)
    out["activities_4w"] = out["key"].map(activities).fillna(0).astype(int)
    if header is not None:
        rows = read_quota_rows(engine, quota_set_id=int(header["id"]))
        if by == "territory":
            full = rows.set_index("territory_id")["quota"]
        elif by == "rep":
            full = rows.groupby("rep_id")["quota"].sum()
        else:
            full = pd.Series(dtype=float)
        out["quota"] = out["key"].map(full).astype(float)
    else:
        out["quota"] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out["attainment"] = np.where(out["quota"] > 0, out["bookings"] / out["quota"], np.nan)
        out["pace"] = np.where(
            out["quota_to_date"] > 0, out["bookings"] / out["quota_to_date"], np.nan
        )
        closed = out["won"] + out["lost"]
        out["win_rate"] = np.where(closed > 0, out["won"] / closed, np.nan)
    out = out[list(STANDING_COLUMNS)]
    out.attrs.update(
        as_of=end.isoformat(),
        period_start=start.isoformat(),
        quota_set_id=None if header is None else int(header["id"]),
        period=None if header is None else header["period"],
    )
    return out.sort_values("key").reset_index(drop=True)


def monthly_trend(
    engine: Any,
    *,
    by: str,
    key: str,
    months: int = 12,
    as_of: date | None = None,
    cache_dir: Path | None = None,
) -> pd.DataFrame:
    """The last ``months`` months of one key: ``period, bookings, quota, pipeline,
    activities`` (a slice of the monthly performance table)."""
    from territorial.goals.performance import data_as_of, load_extract, performance_table

    as_of = as_of or data_as_of(load_extract(engine, cache_dir=cache_dir))
    first = date(as_of.year, as_of.month, 1)
    index = first.year * 12 + first.month - 1 - (months - 1)
    start = date(index // 12, index % 12 + 1, 1)
    table = performance_table(
        engine, by=by, grain="month", start=start, end=as_of, cache_dir=cache_dir
    )
    return table[table["key"] == key][
        ["period", "bookings", "quota", "attainment", "pipeline", "activities", "win_rate"]
    ].reset_index(drop=True)


def trend_svg(trend: pd.DataFrame, *, title: str) -> bytes:
    """Bars of monthly bookings with the monthly quota as a line, as an SVG image."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.2, 3.0))
    x = np.arange(len(trend))
    ax.bar(x, trend["bookings"] / 1e3, color="#2f6fb0", label="bookings")
    if trend["quota"].notna().any():
        ax.plot(x, trend["quota"] / 1e3, color="#d9822b", marker="o", label="quota")
    ax.set_xticks(x, [p[2:] for p in trend["period"]], fontsize=8)
    ax.set_ylabel("$ thousands")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    return buffer.getvalue()


__all__ = ["STANDING_COLUMNS", "monthly_trend", "standings", "trend_svg"]
