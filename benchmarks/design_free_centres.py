"""Free centres at scale: N accounts into K territories, ±5% on two measures.

Usage::

    .venv/bin/python benchmarks/design_free_centres.py                  # 20,000 / 40
    .venv/bin/python benchmarks/design_free_centres.py --size 100000:200 --time-limit 60
    .venv/bin/python benchmarks/design_free_centres.py --size 20000:40 --work-limit 30

The book (seeded, the same every run): accounts drawn from 60 Gaussian city clusters
plus 15% rural noise on a 1,000 x 1,000 mile plane; ``potential`` lognormal (dollars)
and ``workload`` (hours) correlated with it. Every territory's total of both must lie
within ±5% of the mean; the objective is inertia (squared miles to the territory's
best account, one per account) and the centres are free: ``territorial design`` with
no ``--centers``, the solver ``auto`` picks.

The table gives the run's wall time, which solver ran, the objective, the lower bound
the run proves and the gap between them. The bound is a **valid lower bound on the
same problem** (the full book, K territories, centres among its accounts): the
Lagrangian relaxation of the capacitated p-median whose capacities are the upper
sides of the two balance bands (dropping the lower sides and relaxing the
assignment rows only enlarges the feasible set, so its value can only be lower). It
is not the bound of a smaller problem and not the bound at the plan's own centres
(``bound_at_centers``, printed for comparison: it only bounds the assignment to the
centres the plan uses). Every plan is checked here: each account in one territory,
both bands held, the objective recomputed from the coordinates.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cores: {os.cpu_count()} (shared)  CPU: {cpu}  Python {platform.python_version()}"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def book(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 2)`` locations in miles and ``(n, 2)`` measures (potential, workload)."""
    rng = np.random.default_rng(seed)
    cities = rng.uniform(50, 950, (60, 2))
    sizes = rng.pareto(1.2, 60) + 1
    n_rural = int(0.15 * n)
    which = rng.choice(60, n - n_rural, p=sizes / sizes.sum())
    spread = rng.uniform(5, 40, 60)[which, None]
    xy = np.vstack([cities[which] + rng.normal(0, 1, (n - n_rural, 2)) * spread,
                    rng.uniform(0, 1000, (n_rural, 2))])  # fmt: skip
    potential = rng.lognormal(10.0, 0.6, n)
    workload = 2.0 + 0.00004 * potential * rng.uniform(0.6, 1.4, n)
    return xy, np.column_stack([potential, workload])


def book_problem(n: int, k: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """The benchmark's design problem: ``book(n, seed)`` into ``k`` territories, ±5% on
    both measures, inertia, planar coordinates."""
    from territorial.design.problem import Balance, DesignProblem

    xy, measures = book(n, seed)
    return DesignProblem(
        unit_ids=np.array([f"a{i}" for i in range(n)]),
        coords=xy,
        measures=measures,
        measure_names=("potential", "workload"),
        n_territories=k,
        balance=(Balance("potential", 0.05), Balance("workload", 0.05)),
        objective="inertia",
        coord_kind="xy",
    )


def run(n: int, k: int, time_limit: float, work_limit: float | None, seed: int) -> dict:
    from territorial.design import design

    problem = book_problem(n, k, seed)
    xy, measures = problem.coords, problem.measures
    t0 = time.monotonic()
    result = design(problem, time_limit=time_limit, work_limit=work_limit, seed=seed, strict=False)
    seconds = time.monotonic() - t0
    # independent checks
    a = result.assignment
    assert a.shape == (n,) and a.min() >= 0 and a.max() < k
    totals = np.zeros((k, 2))
    np.add.at(totals, a, measures)
    dev = totals / totals.mean(axis=0) - 1
    centres = result.center_units
    objective = None
    if centres is not None:
        objective = float((((xy - xy[centres[a]]) ** 2).sum(axis=1)).sum())
    return {
        "n": n,
        "k": k,
        "seconds": seconds,
        "solver": result.solver,
        "method": result.method,
        "objective": result.objective,
        "checked_objective": objective,
        "bound": result.lower_bound,
        "gap": result.gap,
        "bound_at_centers": result.bound_at_centers,
        "worst_deviation": float(np.abs(dev).max()),
        "feasible": result.feasible,
        "deterministic": result.deterministic,
        "work": result.work,
        "fallbacks": result.fallbacks,
        "timings": result.timings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", nargs="*", default=["20000:40"], help="N:K pairs")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--work-limit", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(machine())
    print(f"load average before: {load_average()}")
    header = (
        f"{'N':>7} {'K':>4} {'sec':>6} {'solver':>12} {'objective':>13} {'bound':>13} "
        f"{'gap':>7} {'at-centres':>13} {'worst dev':>9} feasible"
    )
    print(header)
    for size in args.size:
        n, k = (int(x) for x in size.split(":"))
        r = run(n, k, args.time_limit, args.work_limit, args.seed)
        gap = "n/a" if r["gap"] is None else f"{r['gap']:.2%}"
        bound = "none" if r["bound"] is None else f"{r['bound']:,.0f}"
        at = "none" if r["bound_at_centers"] is None else f"{r['bound_at_centers']:,.0f}"
        print(
            f"{n:>7} {k:>4} {r['seconds']:>6.1f} {r['solver']:>12} {r['objective']:>13,.0f} "
            f"{bound:>13} {gap:>7} {at:>13} {r['worst_deviation']:>9.2%} {r['feasible']}",
            flush=True,
        )
        if r["checked_objective"] is not None:
            assert abs(r["checked_objective"] - r["objective"]) <= 1e-6 * r["objective"]
        t = r["timings"]
        print(f"    seconds: solver {t.get('solve', 0.0):.1f}, bounds {t.get('bound', 0.0):.1f}")
        for f in r["fallbacks"]:
            print(f"    fallback: {f}")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
