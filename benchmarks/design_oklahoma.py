"""Oklahoma districting benchmark: 77 counties, 5 territories, ±0.5% population, moment of inertia.

Usage::

    .venv/bin/python benchmarks/design_oklahoma.py [--budgets 10 60] [--seed 0]

Objective (Hess model, as published): sum over counties of population x (geodesic miles on the
WGS-84 ellipsoid to the territory's center county)^2, each center one of its territory's counties
chosen to minimise the sum. Published optima (Buchanan's districting examples): 8,402,531,933.751
with contiguity, 8,314,085,404.847 without. Balance: every territory's population in
[746,519, 754,021].

For each variant and budget it runs the heuristic (``solve_contiguous``: construction, local
search, LNS) and the exact model (``solve_exact``: half the budget heuristic, then SCIP with
contiguity cuts), and checks every plan independently (balance with the integer bounds,
contiguity, objective recomputed from the geodesic matrix).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from territorial.design.contiguity import is_contiguous, search_arrays, solve_contiguous
from territorial.design.exact import solve_exact
from territorial.design.geography import geodesic_matrix
from territorial.design.problem import Balance, DesignProblem

DATA = Path(os.environ.get("OKLAHOMA_DATA", "/work/shared/benchmarks/districting-ok"))
PUBLISHED = {True: 8_402_531_933.751, False: 8_314_085_404.847}
POP_LOW, POP_HIGH = 746_519, 754_021


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"cores: {os.cpu_count()} (shared)  CPU: {cpu}  "
        f"Python {platform.python_version()} ({sys.executable})"
    )


def load(contiguity: bool) -> tuple[DesignProblem, np.ndarray]:
    units = pd.read_csv(DATA / "units.csv", dtype={"id": str})
    edges_df = pd.read_csv(DATA / "edges.csv", dtype=str)
    pos = {u: i for i, u in enumerate(units["id"])}
    edges = np.array([[pos[a], pos[b]] for a, b in zip(edges_df["a"], edges_df["b"], strict=True)])
    coords = units[["lat", "lon"]].to_numpy(dtype=float)
    population = units["population"].to_numpy(dtype=float)
    problem = DesignProblem(
        unit_ids=units["id"].to_numpy(),
        coords=coords,
        measures=population[:, None],
        measure_names=("population",),
        n_territories=5,
        balance=(Balance("population", 0.005),),
        objective="inertia",
        weight="population",
        edges=edges,
        contiguity=contiguity,
    )
    return problem, geodesic_matrix(coords)


def check(problem: DesignProblem, dist: np.ndarray, assign: np.ndarray) -> tuple[float, bool]:
    """Objective recomputed from scratch; whether balance (integer bounds) and contiguity hold."""
    pop = problem.measures[:, 0]
    total = 0.0
    ok = True
    for t in range(problem.n_territories):
        members = np.flatnonzero(assign == t)
        p = pop[members].sum()
        ok &= POP_LOW <= p <= POP_HIGH
        cost = (pop[members][:, None] * dist[np.ix_(members, members)] ** 2).sum(axis=0)
        total += float(cost.min())
    if problem.contiguity:
        ok &= is_contiguous(search_arrays(problem), assign)
    return total, bool(ok)


def warm_up(problem: DesignProblem, dist: np.ndarray) -> None:
    """Compile (or load from numba's cache) the search kernels before any clock starts."""
    solve_contiguous(problem, time_limit=5, seed=0, distances=dist, max_rounds=1)


def _mip(stats: dict) -> str:
    if "rounds" not in stats or "cuts" not in stats:
        return ""
    return (
        f"MIP {stats['status']}, {stats['rounds']} round(s), {stats['cuts']} cuts, "
        f"{stats['pruned_variables']} of {stats['pruned_variables'] + stats['variables']} "
        "variables pruned"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", type=float, nargs="*", default=[10.0, 60.0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--heuristic-share",
        type=float,
        default=0.25,
        help="share of the exact run's budget spent on the heuristic incumbent",
    )
    args = ap.parse_args()
    print(machine())
    print(
        f"seed {args.seed}; distances: WGS-84 geodesic (Vincenty), miles; exact = "
        f"{args.heuristic_share:.0%} heuristic + LP pruning + SCIP with contiguity cuts"
    )
    head = (
        f"{'variant':<14}{'budget':>7}{'method':>11}{'objective':>20}{'ratio':>14}"
        f"{'lower bound':>20}{'gap':>9}{'proven':>8}{'ok':>4}{'sec':>7}"
    )
    print(head)
    for contiguity in (True, False):
        problem, dist = load(contiguity)
        warm_up(problem, dist)
        ref = PUBLISHED[contiguity]
        name = "contiguous" if contiguity else "no contiguity"
        for budget in args.budgets:
            runs = []
            t0 = time.perf_counter()
            h = solve_contiguous(problem, time_limit=budget, seed=args.seed, distances=dist)
            runs.append(("heuristic", h, time.perf_counter() - t0))
            t0 = time.perf_counter()
            e = solve_exact(
                problem,
                time_limit=budget,
                distances=dist,
                heuristic_share=args.heuristic_share,
                seed=args.seed,
            )
            runs.append(("exact", e, time.perf_counter() - t0))
            for method, out, sec in runs:
                obj, ok = check(problem, dist, out.assignment)
                lb = out.lower_bound
                gap = f"{(obj - lb) / obj:8.3%}" if lb is not None else f"{'-':>8}"
                lbs = f"{lb:20,.3f}" if lb is not None else f"{'-':>20}"
                print(
                    f"{name:<14}{budget:7.0f}{method:>11}{obj:20,.3f}{obj / ref:14.9f}"
                    f"{lbs}{gap:>9}{'yes' if out.proven_optimal else 'no':>8}"
                    f"{'yes' if ok else 'NO':>4}{sec:7.1f}  {_mip(out.stats)}",
                    flush=True,
                )
    print(
        f"published optima: contiguous {PUBLISHED[True]:,.3f}; "
        f"no contiguity {PUBLISHED[False]:,.3f}"
    )


if __name__ == "__main__":
    main()
