"""DTDP benchmark: min-max diameter on the 30 planar instances of Pereira & Vilà / Aly et al.

Usage::

    .venv/bin/python benchmarks/design_dtdp.py --time-limit 60
    .venv/bin/python benchmarks/design_dtdp.py --time-limit 10 --instances planar500_G0 planar600_G3

Each instance: 10 territories, workload / n_customers / demand within ±5% of the mean,
contiguity, objective the largest territory diameter (shortest paths over edge
``distance``). Prints our objective next to the published LNS (t = 60 s) and VNS results.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from territorial.design.contiguity import is_balanced, is_contiguous, search_arrays
from territorial.design.diameter import plan_diameters, solve_diameter
from territorial.design.problem import Balance, DesignProblem

DATA = Path(os.environ.get("DTDP_DATA", "/work/shared/benchmarks/dtdp-planar"))
MEASURES = ("workload", "n_customers", "demand")


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


def load(name: str) -> tuple[DesignProblem, np.ndarray]:
    g = nx.read_graphml(DATA / "instances" / f"{name}.graphml")
    nodes = list(g.nodes())
    pos = {v: i for i, v in enumerate(nodes)}
    coords = np.array([[g.nodes[v]["x"], g.nodes[v]["y"]] for v in nodes], dtype=float)
    measures = np.array([[g.nodes[v][m] for m in MEASURES] for v in nodes], dtype=float)
    edges = np.array([[pos[u], pos[v]] for u, v in g.edges()], dtype=np.int64)
    lengths = np.array([float(d["distance"]) for _, _, d in g.edges(data=True)])
    problem = DesignProblem(
        unit_ids=np.array(nodes),
        coords=coords,
        coord_kind="xy",
        measures=measures,
        measure_names=MEASURES,
        n_territories=10,
        balance=tuple(Balance(m, 0.05) for m in MEASURES),
        objective="diameter",
        edges=edges,
        edge_lengths=lengths,
        contiguity=True,
        distance="graph",
    )
    n = len(nodes)
    w = csr_matrix(
        (
            np.r_[lengths, lengths],
            (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]),
        ),
        shape=(n, n),
    )
    return problem, shortest_path(w, directed=False)


def published() -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    lns: dict[str, float] = {}
    for line in (DATA / "published-lns.txt").read_text().splitlines():
        m = re.search(r"(planar\d+_G\d+)\.txt .* t (\d+) obj: ([\d.]+) penalty: (\d+)", line)
        if m and m.group(2) == "60" and m.group(4) == "0":
            lns[m.group(1)] = float(m.group(3))
    vns: dict[str, dict[str, float]] = {}
    for level in ("low", "medium", "high"):
        vns[level] = {}
        for line in (DATA / f"published-vns-{level}.txt").read_text().splitlines():
            m = re.search(
                r"(planar\d+_G\d+)\.graphml Best objective: ([\d.]+) Infeasibility: ([\d.e-]+)",
                line,
            )
            if m:
                vns[level][m.group(1)] = float(m.group(2))
    return lns, vns


def warm_up() -> None:
    """Compile (or load from numba's cache) the search kernels before any clock starts."""
    n = 9
    edges = np.array(
        [
            [0, 1],
            [1, 2],
            [3, 4],
            [4, 5],
            [6, 7],
            [7, 8],
            [0, 3],
            [3, 6],
            [1, 4],
            [4, 7],
            [2, 5],
            [5, 8],
        ]
    )
    problem = DesignProblem(
        unit_ids=np.array([str(i) for i in range(n)]),
        coords=np.array([[i % 3, i // 3] for i in range(n)], dtype=float),
        coord_kind="xy",
        measures=np.ones((n, 1)),
        measure_names=("units",),
        n_territories=3,
        balance=(Balance("units", 0.0),),
        objective="diameter",
        edges=edges,
        edge_lengths=np.ones(len(edges)),
        contiguity=True,
        distance="graph",
    )
    solve_diameter(problem, time_limit=30, seed=0, max_rounds=3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--instances", nargs="*", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    names = args.instances or [f"planar{n}_G{i}" for n in (500, 600, 700) for i in range(10)]
    lns, vns = published()
    print(machine())
    warm_up()
    print(f"time limit per instance: {args.time_limit:g} s, seed {args.seed}, single process")
    head = (
        f"{'instance':<14}{'feas':>5}{'ours':>9}{'LNS60':>9}{'VNSlow':>9}{'VNSmed':>9}"
        f"{'VNShigh':>9}{'ours/LNS':>10}{'ours/VNSl':>10}{'sec':>7}"
    )
    print(head)
    ratios: list[float] = []
    ratios_v: list[float] = []
    feas_all = True
    for name in names:
        problem, dist = load(name)
        t0 = time.perf_counter()
        out = solve_diameter(problem, time_limit=args.time_limit, seed=args.seed, distances=dist)
        sec = time.perf_counter() - t0
        arrays = search_arrays(problem)
        feas = is_balanced(arrays, out.assignment) and is_contiguous(arrays, out.assignment)
        feas_all &= feas
        obj = float(plan_diameters(dist, out.assignment, 10).max())
        ref = lns.get(name, float("nan"))
        vl, vm, vh = (vns[x].get(name, float("nan")) for x in ("low", "medium", "high"))
        ratios.append(obj / ref)
        ratios_v.append(obj / vl)
        print(
            f"{name:<14}{'yes' if feas else 'NO':>5}{obj:9.3f}{ref:9.3f}{vl:9.3f}{vm:9.3f}{vh:9.3f}"
            f"{obj / ref:10.4f}{obj / vl:10.4f}{sec:7.1f}",
            flush=True,
        )
    print(
        f"all feasible: {feas_all}; average ours/LNS60 = {np.nanmean(ratios):.4f}; "
        f"average ours/VNS-low = {np.nanmean(ratios_v):.4f} over {len(names)} instances"
    )


if __name__ == "__main__":
    main()
