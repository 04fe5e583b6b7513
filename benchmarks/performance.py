"""Goals benchmark: the monthly performance table by rep over three years, and quotas.

Builds a SQLite store with the sample company (``--accounts`` accounts, ``--reps``
people; at 1M accounts the sample writes about 1.1M opportunities and 3.5M activities),
scores it, then times:

* ``performance cold``: the monthly table by rep for the three years of history, first
  computation in a fresh process state (reads the store, writes the Parquet extract);
* ``performance warm (disk)``: the same from the Parquet extract (a new CLI process);
* ``performance warm (memory)``: the same again in the process (the API server);
* ``performance week/territory``: weekly table by territory from the warm extract;
* ``quotas 1,000 territories``: :func:`allocate_quotas` (blend, floor, ramps) on 1,000
  territories;
* ``quotas from the store``: :func:`plan_quotas` (reads the store; potential method).

Targets (issue 12): performance under 30 s cold and under 5 s warm at 1M accounts /
1.1M opportunities / 3.5M activities; quotas for 1,000 territories under 2 s. Prints
the machine and load average. Run::

    .venv/bin/python benchmarks/performance.py --accounts 1000000 --reps 300
    .venv/bin/python benchmarks/performance.py --accounts 20000 --reps 40   # quick check
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from territorial.goals import performance as perf
from territorial.goals.periods import parse_period
from territorial.goals.quotas import QuotaOptions, allocate_quotas, plan_quotas
from territorial.io import import_paths
from territorial.sample import write_sample_company
from territorial.scoring.store_adapter import score_store
from territorial.store import open_store
from territorial.store.records import entity_counts


def _timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="Keep the store here.")
    args = parser.parse_args()
    console = Console()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="territorial-perf-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'territorial.db'}"
    engine = open_store(url)
    if not entity_counts(engine).get("accounts"):
        (_, seconds) = _timed(
            lambda: write_sample_company(
                workdir / "sample",
                accounts=args.accounts,
                reps=args.reps,
                seed=args.seed,
                leads=False,
            )
        )
        console.print(f"sample written in {seconds:.1f} s")
        (_, seconds) = _timed(lambda: import_paths([workdir / "sample"], engine=engine))
        console.print(f"imported in {seconds:.1f} s")
        (_, seconds) = _timed(lambda: score_store(engine))
        console.print(f"scored in {seconds:.1f} s")
    counts = entity_counts(engine)
    cache = workdir / "cache"
    for folder in cache.glob("performance/*"):
        for file in folder.iterdir():
            file.unlink()
    perf._MEMO.clear()
    rows: list[tuple[str, float, str]] = []

    table, seconds = _timed(
        lambda: perf.performance_table(engine, by="rep", grain="month", cache_dir=cache)
    )
    end = date.fromisoformat(table.attrs["as_of"])
    start = end - timedelta(days=3 * 365 - 1)

    def monthly() -> pd.DataFrame:
        return perf.performance_table(
            engine, by="rep", grain="month", start=start, end=end, cache_dir=cache
        )

    for folder in cache.glob("performance/*"):
        for file in folder.iterdir():
            file.unlink()
    perf._MEMO.clear()
    table, seconds = _timed(monthly)
    rows.append(("performance cold (monthly by rep, 3 years)", seconds, f"{len(table):,} rows"))
    perf._MEMO.clear()
    table, seconds = _timed(monthly)
    rows.append(("performance warm (disk extract)", seconds, f"{len(table):,} rows"))
    table, seconds = _timed(monthly)
    rows.append(("performance warm (memory)", seconds, f"{len(table):,} rows"))
    weekly, seconds = _timed(
        lambda: perf.performance_table(
            engine, by="territory", grain="week", start=start, end=end, cache_dir=cache
        )
    )
    rows.append(("performance warm (weekly by territory)", seconds, f"{len(weekly):,} rows"))

    rng = np.random.default_rng(args.seed)
    n = 1_000
    frame = pd.DataFrame(
        {
            "territory": [f"T{i:04d}" for i in range(n)],
            "territory_name": [f"Territory {i}" for i in range(n)],
            "rep_id": [f"R{i:04d}" for i in range(n)],
            "potential": rng.lognormal(13, 0.6, n),
            "history": rng.lognormal(12, 0.8, n),
            "prior_history": rng.lognormal(12, 0.8, n),
            "expected_bookings": rng.lognormal(12, 0.6, n),
            "start_date": [date(2027, 4, 12) if i % 12 == 0 else None for i in range(n)],
        }
    )
    season = pd.DataFrame(
        rng.uniform(0.6, 1.6, (n, 12)), index=frame["territory"], columns=range(1, 13)
    )
    result, seconds = _timed(
        lambda: allocate_quotas(
            frame,
            target=2e9,
            period=parse_period("FY2027"),
            options=QuotaOptions(method="blend", floor=5e5, cap=5e6),
            season=season,
        )
    )
    rows.append(
        (
            "quotas 1,000 territories (allocate_quotas)",
            seconds,
            f"{len(result.monthly):,} monthly rows",
        )
    )
    stored, seconds = _timed(lambda: plan_quotas(engine, target=1e8, period="FY2026"))
    rows.append(
        ("quotas from the store (plan_quotas)", seconds, f"{len(stored.quotas):,} territories")
    )

    out = Table(title=f"Goals benchmark: {counts}")
    out.add_column("what")
    out.add_column("seconds", justify="right")
    out.add_column("size")
    for name, seconds, size in rows:
        out.add_row(name, f"{seconds:.2f}", size)
    console.print(out)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    console.print(
        f"{platform.platform()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; store {workdir}"
    )


if __name__ == "__main__":
    main()
