"""Side by side on the same book: b2b-territory-optimization, a GerryChain ReCom chain, ours.

Usage::

    .venv/bin/python benchmarks/design_compare.py [--accounts 3000] [--territories 12]

Same inputs for everyone: a sample-generator book (``territorial.sample``), two
measures (account count and the workload proxy of ``design_sales.py``) at ±5%, and
the same metric functions (``territorial.design.metrics``) for every plan: worst
deviation over both measures, and inertia (accounts x great-circle mi^2, every
territory served from its best account: the medoid).

* ``b2b_territory_optimization.TerritoryAllocator``: greedy LPT on one metric
  (workload); no geography, no second measure.
* GerryChain: accounts joined by their Delaunay triangulation; a
  ``recursive_tree_part`` seed balanced on workload, then a ReCom chain (workload
  within ±5%); we keep the chain state with the lowest inertia. One measure only;
  territories are contiguous in the triangulation.
* Ours: ``territorial.design.design`` (heuristic; both measures hard).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from design_sales import book, machine
from territorial.design import metrics
from territorial.design.adapters import problem_from_frames


def evaluate(problem, assignment, seconds):  # type: ignore[no-untyped-def]
    a = np.asarray(assignment, dtype=np.int64)
    dev = np.abs(metrics.balance_deviation(problem, a)).max(axis=0)
    return {
        "accounts dev": dev[0],
        "workload dev": dev[1],
        "inertia": metrics.objective_value(problem, a),
        "seconds": seconds,
    }


def run_b2b(units: pd.DataFrame, k: int) -> tuple[np.ndarray, float]:
    from b2b_territory_optimization import TerritoryAllocator

    df = units.rename(columns={"id": "Account_ID"})
    t0 = time.monotonic()
    out = TerritoryAllocator(target_metric="workload_hours").allocate_bucket(df, k, "ALL")
    seconds = time.monotonic() - t0
    names = sorted(out["Territory_ID"].unique())
    pos = {n: j for j, n in enumerate(names)}
    terr = out.set_index("Account_ID").loc[units["id"], "Territory_ID"]
    return np.array([pos[t] for t in terr]), seconds


def run_gerrychain(
    units: pd.DataFrame, k: int, steps: int, seed: int
) -> tuple[np.ndarray, float, int]:
    import networkx as nx
    from gerrychain import Graph, MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import within_percent_of_ideal_population
    from gerrychain.partition.initial_partition_generators import recursive_tree_part
    from gerrychain.proposals import recom
    from scipy.spatial import Delaunay

    from territorial.design.distances import to_unit_sphere

    t0 = time.monotonic()
    pts = units[["lon", "lat"]].to_numpy()
    tri = Delaunay(pts + np.random.default_rng(seed).normal(0, 1e-7, pts.shape))
    g = nx.Graph()
    g.add_nodes_from(range(len(units)))
    for s in tri.simplices:
        g.add_edges_from([(s[0], s[1]), (s[1], s[2]), (s[0], s[2])])
    for i, w in enumerate(units["workload_hours"].to_numpy()):
        g.nodes[i]["workload"] = float(w)
    graph = Graph.from_networkx(g)
    target = float(units["workload_hours"].sum()) / k
    rng = random.Random(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = recursive_tree_part(graph, range(k), target, "workload", 0.05, rng=rng)
        from gerrychain.updaters import Tally

        start = Partition(graph, plan, {"workload": Tally("workload", alias="workload")})
        chain = MarkovChain(
            proposal_fn=lambda p: recom(
                p, pop_col="workload", pop_target=target, epsilon=0.05, rng=rng
            ),
            constraints=[within_percent_of_ideal_population(start, 0.05, pop_key="workload")],
            acceptance_fn=always_accept,
            initial_partition=start,
            total_steps=steps,
            rng=rng,
        )
        xyz = to_unit_sphere(units[["lat", "lon"]].to_numpy())
        best, best_score, n_steps = None, np.inf, 0
        for part in chain:
            n_steps += 1
            a = np.array([part.assignment[i] for i in range(len(units))])
            # cheap proxy to rank states (sum of squared chord to the territory mean)
            score = 0.0
            for j in range(k):
                m = xyz[a == j]
                score += ((m - m.mean(axis=0)) ** 2).sum()
            if score < best_score:
                best, best_score = a, score
    return best, time.monotonic() - t0, n_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--territories", type=int, default=12)
    parser.add_argument("--steps", type=int, default=200, help="ReCom steps")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    units = book(args.accounts, args.seed)
    k = args.territories
    problem = problem_from_frames(
        units, balance=["accounts=5%", "workload_hours=5%"], n_territories=k
    )
    print(f"machine: {machine()}")
    print(f"{len(units)} accounts, {k} territories, ±5% on accounts and workload_hours")
    rows = []
    a, s = run_b2b(units, k)
    rows.append(("b2b-territory-optimization (LPT, workload only)", evaluate(problem, a, s)))
    a, s, steps = run_gerrychain(units, k, args.steps, args.seed)
    rows.append((f"GerryChain ReCom ({steps} steps, workload only)", evaluate(problem, a, s)))
    from territorial.design import design

    t0 = time.monotonic()
    result = design(
        problem, method="heuristic", time_limit=args.time_limit, seed=args.seed, strict=False
    )
    rows.append(
        (
            "territorial (both measures hard)",
            evaluate(problem, result.assignment, time.monotonic() - t0),
        )
    )
    print(
        f"{'method':<50} {'accounts dev':>12} {'workload dev':>12} "
        f"{'inertia (mi^2)':>15} {'time s':>7}"
    )
    for name, r in rows:
        print(
            f"{name:<50} {r['accounts dev']:>12.2%} {r['workload dev']:>12.2%} "
            f"{r['inertia']:>15.4g} {r['seconds']:>7.1f}"
        )


if __name__ == "__main__":
    main()
