"""Rep plans benchmark: every rep's plan as XLSX + ICS, then with PDFs.

Builds a SQLite store with the sample company (``--accounts`` accounts, ``--reps``
people; the CRM owners carry the territories, no design run needed), scores it, then
times, for every rep who carries a territory:

* ``read plan data``: one read of the store (:func:`territorial.repplan.load_plan_data`);
* ``read quota and goals``: every rep's quota standing and SMART goals, once for all
  (:func:`territorial.repplan.rep_goals`; the setup stores a quota set for the data's
  fiscal year and the derived goals, as ``territorial quota`` and ``goals derive`` do);
* ``plans + XLSX + ICS``: every plan built and written without PDF;
* ``PDFs``: every plan's PDF (title page with map, targets, collaboration, schedule).

Targets (issue 13): 200 reps / 100k accounts: XLSX+ICS under 60 s, with PDFs under
3 minutes on 2 cores. Prints the machine and the load average. Run::

    .venv/bin/python benchmarks/rep_plans.py                       # 100k accounts, 200 reps
    .venv/bin/python benchmarks/rep_plans.py --accounts 5000 --reps 20
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from territorial.goals.performance import data_as_of, load_extract
from territorial.goals.quotas import plan_quotas, save_quotas
from territorial.goals.smart import apply_derived, derive_targets
from territorial.io import import_paths
from territorial.repplan import load_plan_data, plan_rep_ids, rep_goals
from territorial.repplan.export import write_rep_plans
from territorial.sample import write_sample_company
from territorial.scoring import load_config
from territorial.scoring.store_adapter import score_store
from territorial.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        write_sample_company(
            folder / "sample",
            accounts=args.accounts,
            reps=args.reps,
            seed=args.seed,
            leads=False,
        )
        engine = open_store(f"sqlite:///{folder / 'store.db'}")
        import_paths([folder / "sample"], engine=engine)
        score_store(engine, config=load_config(None))
        year = data_as_of(load_extract(engine)).year
        save_quotas(engine, result=plan_quotas(engine, target=1e6 * args.reps, period=f"FY{year}"))
        apply_derived(engine, targets=derive_targets(engine))
        setup = time.perf_counter() - t

        t = time.perf_counter()
        data = load_plan_data(engine)
        read = time.perf_counter() - t
        out = folder / "plans"
        ids = plan_rep_ids(data, None)
        t = time.perf_counter()
        goals = rep_goals(engine, rep_ids=ids)
        read_goals = time.perf_counter() - t
        t = time.perf_counter()
        numbers = write_rep_plans(data, ids, out, pdf=False, workers=args.workers, goals=goals)
        files = time.perf_counter() - t
        t = time.perf_counter()
        write_rep_plans(data, ids, folder / "with_pdf", pdf=True, workers=args.workers, goals=goals)
        pdfs = time.perf_counter() - t

        targets = sum(n["targets"] for n in numbers)
        table = Table(
            title=f"Rep plans: {args.accounts:,} accounts, {len(ids)} reps, {args.workers} workers"
        )
        table.add_column("step")
        table.add_column("seconds", justify="right")
        table.add_column("target")
        table.add_row("setup (sample, import, score)", f"{setup:.1f}", "")
        table.add_row("read plan data", f"{read:.1f}", "")
        table.add_row("read quota and goals (all reps)", f"{read_goals:.1f}", "")
        table.add_row(
            f"plans + XLSX + ICS ({targets:,} targets)",
            f"{read + read_goals + files:.1f}",
            "< 60 s",
        )
        table.add_row("plans + XLSX + ICS + PDF", f"{read + read_goals + pdfs:.1f}", "< 180 s")
        console.print(table)
        console.print(f"cpus {os.cpu_count()}, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
