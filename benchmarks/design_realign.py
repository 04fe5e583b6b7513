"""Realignment benchmark: after a 10% shift in workload, restore ±5% balance moving few accounts.

Usage::

    .venv/bin/python benchmarks/design_realign.py [--accounts 20000] [--territories 100]

1. Design a plan on a sample-generator book, workload balanced at ±5%.
2. A 10% shift in workload: ten growth regions (accounts within 250 miles of ten
   random accounts) gain workload worth 10% of the book (``--shock book``, the default)
   or 10% of their own workload (``--shock regional``); everyone else loses the same in
   proportion (the total is unchanged), so territories in and around the growth regions
   fall out of balance.
3. Realign with ``max_moves`` = 5% of the accounts (and a fresh design for
   comparison): report moved accounts (% of the book), moved workload, worst
   deviation before and after, and the objective.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from design_sales import book, machine
from territorial.design import design, metrics, realign_lp
from territorial.design.adapters import problem_from_frames


def moves_lower_bound(problem, assignment) -> int:  # type: ignore[no-untyped-def]
    """Moves that any plan within the band needs, ignoring geography (valid bound).

    Per balanced measure: an over-loaded territory must lose at least its excess, which
    takes at least as many of its own accounts as its largest ones needed to cover it;
    an under-loaded territory must receive at least its deficit, which takes at least as
    many accounts as the book's largest ones needed. Every such account is a move, and
    one move serves at most one donor and one receiver: the bound is the larger sum.
    """
    idx = list(problem.balance_index)
    cols = problem.measures[:, idx]
    k = problem.n_territories
    mean = cols.sum(axis=0) / k
    tol = np.array([b.tolerance for b in problem.balance])
    best = 0
    for m in range(cols.shape[1]):
        col = cols[:, m]
        tot = np.bincount(assignment, weights=col, minlength=k)
        up, lo = mean[m] * (1 + tol[m]), mean[m] * (1 - tol[m])
        largest = np.cumsum(np.sort(col)[::-1])
        over = under = 0
        for j in range(k):
            if tot[j] > up:
                own = np.cumsum(np.sort(col[assignment == j])[::-1])
                over += int(np.searchsorted(own, tot[j] - up)) + 1
            elif tot[j] < lo:
                under += int(np.searchsorted(largest, lo - tot[j])) + 1
        best = max(best, over, under)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--territories", type=int, default=100)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-moves", type=float, default=0.05, help="fraction of accounts")
    parser.add_argument(
        "--two-measures", action="store_true", help="balance accounts and workload at ±5%%"
    )
    parser.add_argument("--no-fresh", action="store_true", help="skip the fresh design")
    parser.add_argument(
        "--shock",
        choices=["book", "regional"],
        default="book",
        help="book: the growth regions gain 10%% of the book's workload; regional: their "
        "own workload grows 10%%",
    )
    args = parser.parse_args()
    units = book(args.accounts, args.seed)
    k = args.territories
    balance = ["workload_hours=5%"] + (["accounts=5%"] if args.two_measures else [])
    problem = problem_from_frames(units, balance=balance, n_territories=k)
    print(f"machine: {machine()}")
    t0 = time.monotonic()
    first = design(problem, method="heuristic", time_limit=args.time_limit, seed=args.seed)
    print(
        f"initial plan: {len(units)} accounts, {k} territories, worst deviation "
        f"{first.worst_deviation:.2%}, {time.monotonic() - t0:.1f} s"
    )
    # a 10% shift: growth regions gain 10% of the book's workload, the rest loses it
    from territorial.design.distances import haversine_miles

    shifted = units.copy()
    rng = np.random.default_rng(args.seed)
    pts = shifted[["lat", "lon"]].to_numpy()
    hubs = pts[rng.choice(len(pts), 10, replace=False)]
    grow = (haversine_miles(pts[:, None, :], hubs[None, :, :]) < 250).any(axis=1)
    w = shifted["workload_hours"].to_numpy().copy()
    # book: the regions gain workload worth 10% of the book; regional: their own grows 10%
    shift = 0.10 * (w.sum() if args.shock == "book" else w[grow].sum())
    w[grow] *= 1 + shift / w[grow].sum()
    w[~grow] *= 1 - shift / w[~grow].sum()
    shifted["workload_hours"] = w
    base = problem_from_frames(shifted, balance=balance, n_territories=k)
    before = metrics.worst_deviation(base, first.assignment)
    budget = int(np.ceil(args.max_moves * len(units))) - 1  # under 5%: 999 of 20,000
    realigned_problem = base.with_changes(current=first.assignment, max_moves=budget)
    t0 = time.monotonic()
    realigned = design(
        realigned_problem,
        method="heuristic",
        time_limit=args.time_limit,
        seed=args.seed,
        strict=False,
    )
    t_realign = time.monotonic() - t0
    runs = [(f"realigned (max {args.max_moves:.0%} moves)", realigned, t_realign)]
    if not args.no_fresh:
        t0 = time.monotonic()
        fresh = design(
            base.with_changes(current=first.assignment),
            method="heuristic",
            time_limit=args.time_limit,
            seed=args.seed,
            strict=False,
        )
        runs.append(("fresh design", fresh, time.monotonic() - t0))
    print(
        f"after the shift: worst deviation of the old plan {before:.2%}; move budget {budget}; "
        f"any balanced plan moves >= {moves_lower_bound(base, first.assignment)} accounts"
    )
    head = f"{'plan':<28} {'moved':>8} {'moved %':>8} {'moved wl %':>10} {'worst dev':>9}"
    print(f"{head} {'objective (mi^2)':>17} {'time s':>7} {'ok':>3}")
    total_w = float(w.sum())
    for name, r, s in runs:
        moved = int(r.moved["units"])
        print(
            f"{name:<28} {moved:>8} {moved / len(units):>8.3%} "
            f"{r.moved['workload_hours'] / total_w:>10.2%} {r.worst_deviation:>9.2%} "
            f"{r.objective:>17.5g} {s:>7.1f} {'yes' if r.feasible else 'NO':>3}"
        )
    found = realigned.stats.get("balanced_plan_moves", -1)
    if found and found > budget:
        print(
            f"fewest-moves LP + rounding MIP: a balanced plan needs {int(found)} moves "
            f"({found / len(units):.2%}); over the budget, so the plan above is the best "
            "found within it"
        )
    nearby = realigned.stats.get("lp_moves_nearby")
    print(
        "fewest-moves LP over nearby territories (heaviest accounts movable): "
        + ("no balanced plan" if nearby is None else f"{nearby:.0f} moves")
        + f"; moved accounts whose new territory is not among their "
        f"{realign_lp.CANDIDATES} nearest: {realigned.remote_moves or 0}"
    )
    assert np.all(realigned.assignment >= 0)


if __name__ == "__main__":
    main()
