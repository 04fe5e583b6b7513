"""Territory model benchmark: activation and CRM export at 100k accounts and 200 reps.

For SQLite and PostgreSQL it builds a store with the sample company (``--accounts``
accounts, ``--reps`` people of whom the account executives carry territories), scores
it, designs a plan (the engine's heuristic, ``--design-seconds``), then times:

* ``activate`` of the approved plan: every account's owner, the owner history, the
  routing rules generated and activated, the holdover of open opportunities, one
  notification (and e-mail) per rep whose book changed, in one transaction;
* ``activate (realignment)``: a second version (a copy with 2% of the accounts moved)
  activated over the first;
* ``export salesforce``: the five Data Loader files;
* ``export csv``.

Targets (issue 11): activation under 10 s on SQLite and PostgreSQL; Salesforce export
under 5 s. Prints the machine and load average. Run::

    .venv/bin/python benchmarks/planning.py                      # 100k accounts, 200 reps
    .venv/bin/python benchmarks/planning.py --accounts 20000 --reps 40 --backends sqlite
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

from territorial.design.adapters import StoreDesignOptions, build_store_problem
from territorial.design.engine import design
from territorial.io import import_paths
from territorial.planning import exports, lifecycle
from territorial.planning.activation import activate
from territorial.sample import write_sample_company
from territorial.scoring import load_config
from territorial.scoring.store_adapter import score_store
from territorial.store import open_store
from territorial.store.plans import save_plan
from territorial.store.tables import plan_assignments

POSTGRES = os.environ.get(
    "TERRITORIAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def fresh_url(backend: str, folder: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", None
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"territorial_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def timed(step: str, rows: list[tuple[str, str, float, str]], backend: str, fn, note=""):
    started = time.perf_counter()
    out = profiled(step, fn)
    rows.append(
        (backend, step, time.perf_counter() - started, note(out) if callable(note) else note)
    )
    return out


PROFILE: set[str] = set()


def profiled(step: str, fn):
    """Run ``fn`` under cProfile when ``--profile STEP`` names it; print the top entries."""
    if step not in PROFILE:
        return fn()
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    out = profiler.runcall(fn)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    return out


def run(backend: str, args: argparse.Namespace, files: Path, rows: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = fresh_url(backend, Path(tmp))
        try:
            engine = open_store(url)
            timed("import", rows, backend, lambda: import_paths([files], engine=engine))
            timed("score", rows, backend, lambda: score_store(engine, config=load_config(None)))

            def make_plan() -> int:
                # 200 reps for 100k accounts is far over the reps' capacity: design the
                # book without capacity limits (the target is about activation, not design)
                built = build_store_problem(
                    engine,
                    StoreDesignOptions.parse(
                        {"balance": {"accounts": 0.1, "workload_hours": 0.1}, "capacity": False}
                    ),
                )
                problem, units = built.problem, built.account_units
                result = design(problem, time_limit=args.design_seconds, seed=1, strict=False)
                return save_plan(
                    engine, name="bench", result=result, parameters={}, account_units=units
                )

            plan = timed("design + save (not timed by the target)", rows, backend, make_plan)
            lifecycle.submit(engine, plan_id=plan)
            lifecycle.approve(engine, plan_id=plan)
            timed(
                "activate",
                rows,
                backend,
                lambda: activate(engine, plan_id=plan),
                lambda r: (
                    f"{r.owners_changed:,} owners changed, {r.held_opportunities:,} held, "
                    f"{r.reps_notified} reps notified"
                ),
            )
            # a realignment: a copy with 2% of the accounts moved to another territory
            draft = lifecycle.new_draft(engine, plan_id=plan)
            with engine.begin() as conn:
                assigned = conn.execute(
                    select(plan_assignments.c.account_id, plan_assignments.c.territory_id).where(
                        plan_assignments.c.plan_id == draft
                    )
                ).all()
                territories = sorted({t for _, t in assigned})
                rng = np.random.default_rng(0)
                picks = rng.choice(len(assigned), size=len(assigned) // 50, replace=False)
                for i in picks:
                    account, territory = assigned[int(i)]
                    other = territories[(territories.index(territory) + 1) % len(territories)]
                    conn.execute(
                        update(plan_assignments)
                        .where(
                            plan_assignments.c.plan_id == draft,
                            plan_assignments.c.account_id == account,
                        )
                        .values(territory_id=other)
                    )
            lifecycle.submit(engine, plan_id=draft)
            lifecycle.approve(engine, plan_id=draft)
            timed(
                "activate (realignment, 2% moved)",
                rows,
                backend,
                lambda: activate(engine, plan_id=draft),
                lambda r: f"{r.owners_changed:,} owners changed, {r.reps_notified} reps notified",
            )
            out = Path(tmp) / "export"
            timed(
                "export salesforce",
                rows,
                backend,
                lambda: exports.salesforce_files(engine, plan_id=draft, out_dir=out / "sf"),
                lambda r: f"{sum(r.rows.values()):,} rows in {len(r.files)} files",
            )
            timed(
                "export csv",
                rows,
                backend,
                lambda: exports.plan_csv(engine, plan_id=draft, out_file=out / "plan.csv"),
            )
            engine.dispose()
        finally:
            if drop is not None:
                drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--design-seconds", type=float, default=60.0)
    parser.add_argument(
        "--profile", action="append", default=[], help="profile a step (its name); repeatable"
    )
    args = parser.parse_args()
    PROFILE.update(args.profile)
    console = Console(width=140)
    console.print(f"machine: {machine()}; load average at start: {os.getloadavg()}")
    rows: list[tuple[str, str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp) / "company"
        write_sample_company(files, accounts=args.accounts, reps=args.reps, seed=0, leads=False)
        for backend in args.backends.split(","):
            run(backend.strip(), args, files, rows)
    table = Table(title=f"territory model: {args.accounts:,} accounts, {args.reps} people")
    for h in ("database", "step", "seconds", "what"):
        table.add_column(h, justify="right" if h == "seconds" else "left")
    for backend, step, seconds, note in rows:
        table.add_row(backend, step, f"{seconds:.2f}", note)
    console.print(table)
    console.print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
