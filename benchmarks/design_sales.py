"""Design benchmark on synthetic sales books: time, memory, balance, objective, bound, gap.

Usage::

    .venv/bin/python benchmarks/design_sales.py                 # 10k accounts / 50 territories
    .venv/bin/python benchmarks/design_sales.py --sizes 10000:50 100000:200
    .venv/bin/python benchmarks/design_sales.py --sizes 1000000:1000 --h3 6
    .venv/bin/python benchmarks/design_sales.py --sizes 1000000:1000 --groups 100000

Books come from the sample generator (``territorial.sample.generate_company``:
accounts at real US places, population-weighted). Two measures are balanced at
±5%: the account count and a workload proxy in hours per year,
``4 + 8 log10(max(revenue, 1e5) / 1e5)`` (bigger companies take more time, with
diminishing returns). The raw annual revenue is not balanced: the generator's
largest company alone is several times a territory's mean revenue, which no plan
can balance (the feasibility check says so).

Each size runs in its own subprocess (so peak memory is per case) twice:
* ``free``: centers chosen by the solver (a unit of each territory); the bound is the
  capacitated p-median Lagrangian (valid but weak, see docs/design.md); ``gap@centers``
  compares the plan with the LP bound for the centers it uses (quality of the
  assignment given those centers; not a bound on the design problem);
* ``homes``: fixed centers at ``k`` rep homes (accounts drawn with probability
  proportional to workload, as a stand-in for reps living where the work is); the
  bound is the Lagrangian/LP bound of the balanced assignment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


def book(accounts: int, seed: int):  # type: ignore[no-untyped-def]
    import pandas as pd

    from territorial.sample.generate import generate_company

    company = generate_company(accounts=accounts, reps=10, seed=seed, years=1, leads=False)
    a = company.accounts
    revenue = a["annual_revenue"].fillna(1e5).to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "id": a["id"].astype(str),
            "lat": a["latitude"].to_numpy(dtype=float),
            "lon": a["longitude"].to_numpy(dtype=float),
            "accounts": 1.0,
            "workload_hours": 4.0 + 8.0 * np.log10(np.maximum(revenue, 1e5) / 1e5),
        }
    ).dropna()


def run_case(
    accounts: int,
    k: int,
    mode: str,
    time_limit: float,
    seed: int,
    h3_res: int | None,
    groups: int | None = None,
) -> dict:
    import pandas as pd

    from territorial.design import design
    from territorial.design.adapters import problem_from_frames

    t0 = time.monotonic()
    units = book(accounts, seed)
    if groups is not None:
        from territorial.design.geography import compact_groups

        label = compact_groups(
            units["lat"].to_numpy(), units["lon"].to_numpy(), units["workload_hours"].to_numpy(),
            min(groups, len(units)),
        )  # fmt: skip
        g = units.assign(cell=label).groupby("cell")
        units = pd.DataFrame(
            {
                "id": [f"G{c}" for c in g.size().index],
                "lat": g["lat"].mean().to_numpy(),
                "lon": g["lon"].mean().to_numpy(),
                "accounts": g["accounts"].sum().to_numpy(),
                "workload_hours": g["workload_hours"].sum().to_numpy(),
            }
        )
    elif h3_res is not None:
        import h3

        cell = [
            h3.latlng_to_cell(la, lo, h3_res)
            for la, lo in zip(units["lat"], units["lon"], strict=True)
        ]
        g = units.assign(cell=cell).groupby("cell")
        units = pd.DataFrame(
            {
                "id": g.size().index,
                "lat": g["lat"].mean().to_numpy(),
                "lon": g["lon"].mean().to_numpy(),
                "accounts": g["accounts"].sum().to_numpy(),
                "workload_hours": g["workload_hours"].sum().to_numpy(),
            }
        )
    gen_seconds = time.monotonic() - t0
    centers = None
    if mode == "homes":
        rng = np.random.default_rng(seed)
        w = units["workload_hours"].to_numpy()
        pick = rng.choice(len(units), size=k, replace=False, p=w / w.sum())
        centers = pd.DataFrame(
            {
                "id": [f"R{j:04d}" for j in range(k)],
                "lat": units["lat"].to_numpy()[pick],
                "lon": units["lon"].to_numpy()[pick],
            }
        )
    problem = problem_from_frames(
        units,
        balance=["accounts=5%", "workload_hours=5%"],
        objective="inertia",
        n_territories=None if centers is not None else k,
        centers_df=centers,
    )
    t1 = time.monotonic()
    result = design(problem, method="heuristic", time_limit=time_limit, seed=seed, strict=False)
    return {
        "accounts": accounts,
        "units": problem.n_units,
        "k": k,
        "mode": mode,
        "seconds": time.monotonic() - t1,
        "generate_seconds": gen_seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "feasible": result.feasible,
        "worst_deviation": result.worst_deviation,
        "objective": result.objective,
        "lower_bound": result.lower_bound,
        "gap": result.gap,
        "rounds": result.stats.get("rounds"),
        "bound_at_centers": result.stats.get("bound_at_centers"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="*", default=["10000:50"], help="ACCOUNTS:TERRITORIES")
    parser.add_argument("--modes", nargs="*", default=["free", "homes"])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--h3", type=int, default=None, help="aggregate accounts into H3 cells")
    parser.add_argument(
        "--groups",
        type=int,
        default=None,
        help="aggregate accounts into this many compact groups of equal workload",
    )
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        accounts, k, mode = int(args.case[0]), int(args.case[1]), args.case[2]
        out = run_case(accounts, k, mode, args.time_limit, args.seed, args.h3, args.groups)
        print(json.dumps(out))
        return
    print(f"machine: {machine()}")
    print(
        f"time limit {args.time_limit:.0f} s per run, seed {args.seed}, "
        "balance accounts and workload_hours at ±5%"
    )
    header = (
        f"{'accounts':>9} {'units':>8} {'k':>5} {'centers':>7} {'time s':>7} {'peak MB':>8} "
        f"{'worst dev':>9} {'objective (mi^2)':>22} {'lower bound':>14} {'gap':>7} {'ok':>3} "
        f"{'gap@centers':>11} {'prep s':>7}"
    )
    print(header)
    for size in args.sizes:
        accounts, k = (int(x) for x in size.split(":"))
        for mode in args.modes:
            cmd = [
                sys.executable,
                __file__,
                "--case",
                str(accounts),
                str(k),
                mode,
                "--time-limit",
                str(args.time_limit),
                "--seed",
                str(args.seed),
            ]
            if args.h3 is not None:
                cmd += ["--h3", str(args.h3)]
            if args.groups is not None:
                cmd += ["--groups", str(args.groups)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(
                    f"{accounts:>9} {'':>8} {k:>5} {mode:>7} "
                    f"failed: {out.stderr.strip().splitlines()[-1:]}"
                )
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            lb = "none" if r["lower_bound"] is None else f"{r['lower_bound']:.4g}"
            gap = "n/a" if r["gap"] is None else f"{r['gap']:.1%}"
            bac = r.get("bound_at_centers")
            at_centers = "n/a" if not bac else f"{1 - bac / r['objective']:.1%}"
            print(
                f"{r['accounts']:>9} {r['units']:>8} {r['k']:>5} {mode:>7} {r['seconds']:>7.1f} "
                f"{r['peak_mb']:>8.0f} {r['worst_deviation']:>9.2%} {r['objective']:>22.5g} "
                f"{lb:>14} {gap:>7} {'yes' if r['feasible'] else 'NO':>3} {at_centers:>11} "
                f"{r['generate_seconds']:>7.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
