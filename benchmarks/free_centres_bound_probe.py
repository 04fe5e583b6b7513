"""Why is the free-centres lower bound weak? Step rules and starts of the radius ascent.

Usage::

    .venv/bin/python benchmarks/free_centres_bound_probe.py                 # 20,000 / 40
    .venv/bin/python benchmarks/free_centres_bound_probe.py --size 20000:40 --seconds 30

On the book of ``benchmarks/design_free_centres.py`` (same seed, same ±5% bands on
potential and workload, inertia) it first makes the engine's plan without a bound
(``design(..., bound=False)``, its time limit the engine's share for the solver), then:

1. the dual value ``L(alpha x plan costs)`` at the start of the ascent for a few
   ``alpha`` (the plan's own costs are a poor start: candidates between two of the
   plan's centres take the far members of both territories);
2. :func:`territorial.design.pmedian_bound.ascend_radius` for ``--seconds`` from the
   largest and smallest ``alpha`` with plain Polyak steps towards the plan cost
   (``deflection=0, aim=1``; the old rule also halved the step after 20 stalls instead
   of x0.7 after 10) and with the deflected steps (the defaults): iterations, bound,
   gap to the plan;
3. :func:`territorial.design.pmedian_bound.ascend_coarse_to_fine` (what the engine
   runs) for the same time.

Every value printed is a valid lower bound on the free-centres problem the plan solves
(the Lagrangian of the capacitated p-median whose capacities are the upper sides of the
bands); the gap is ``(plan - bound) / plan``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from design_free_centres import book_problem, load_average, machine


def main(argv: list[str] | None = None) -> int:
    from territorial.design import design
    from territorial.design import pmedian_bound as pb
    from territorial.design.engine import BOUND_SHARE
    from territorial.design.solvers import current_clock

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="20000:40", help="N:K")
    parser.add_argument("--time-limit", type=float, default=60.0, help="the run's budget")
    parser.add_argument("--seconds", type=float, default=25.0, help="each ascent's time")
    parser.add_argument("--alphas", type=float, nargs="*", default=[0.5, 0.2, 0.1, 0.05])
    args = parser.parse_args(argv)
    n, k = (int(x) for x in args.size.split(":"))
    print(machine())
    print(f"load average before: {load_average()}")
    problem = book_problem(n, k, 0)
    xy, measures = problem.coords, problem.measures
    t0 = time.monotonic()
    plan = design(
        problem, time_limit=args.time_limit * (1 - BOUND_SHARE), seed=0, strict=False, bound=False
    )
    print(f"plan: {plan.solver}, {plan.objective:,.0f} in {time.monotonic() - t0:.1f} s")
    assert plan.center_units is not None
    costs = ((xy - xy[plan.center_units[plan.assignment]]) ** 2).sum(axis=1)
    upper = float(costs.sum())
    mean = measures.sum(axis=0) / k
    loads = np.ascontiguousarray(measures / mean)
    cap = np.array([1.05, 1.05])
    ones = np.ones(n)

    print("\nstart: L(alpha x plan costs)")
    lists = pb.radius_lists(xy, ones, costs * 2 * max(args.alphas), power=2, radius=0.0)
    for alpha in args.alphas:
        value = pb.evaluate_smallest(lists, alpha * costs, loads, cap, k).value
        print(f"  alpha {alpha:<5} {value:>14,.0f}")

    print(f"\nascent for {args.seconds:.0f} s (load {os.getloadavg()[0]:.2f})")
    print(f"  {'start':>10} {'rule':>10} {'iters':>6} {'bound':>14} {'gap':>7}")
    default = pb.ascend_radius.__kwdefaults__ or {}
    rules = {
        "polyak": (0.0, 1.0),
        "deflected": (float(default["deflection"]), float(default["aim"])),
    }
    for alpha in (max(args.alphas), min(args.alphas)):
        for name, (deflection, aim) in rules.items():
            res = pb.ascend_radius(
                xy, ones, loads, cap, k, power=2, radius=0.0, u0=alpha * costs, upper=upper,
                iterations=1_000_000, deadline=current_clock().now() + args.seconds,
                deflection=deflection, aim=aim,
            )  # fmt: skip
            value = res.best.value
            print(
                f"  {alpha:>10} {name:>10} {res.iterations:>6} {value:>14,.0f} "
                f"{(upper - value) / upper:>7.1%}",
                flush=True,
            )
    # what the engine runs: groups of 20, then 5 units, then the units (deflected steps)
    alpha = min(args.alphas)
    res = pb.ascend_coarse_to_fine(
        xy, ones, loads, cap, k, power=2, radius=0.0, u0=alpha * costs, upper=upper,
        deadline=current_clock().now() + args.seconds,
    )  # fmt: skip
    if res is None:
        raise SystemExit("the units' pass did not fit in the time given (--seconds)")
    value = res.best.value
    print(
        f"  {alpha:>10} {'coarse':>10} {res.iterations:>6} {value:>14,.0f} "
        f"{(upper - value) / upper:>7.1%}   (iterations on the units; first value "
        f"on the units {res.history[0]:,.0f})"
    )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
