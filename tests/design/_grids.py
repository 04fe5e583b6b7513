"""Hand-drawn grid fixtures and a brute-force partition enumerator for the design tests."""

from __future__ import annotations

import itertools

import numpy as np

from territorial.design.problem import Balance, DesignProblem


def grid_edges(rows: int, cols: int) -> np.ndarray:
    """Rook adjacency of a ``rows x cols`` grid, unit ``r * cols + c``."""
    edges = []
    for r in range(rows):
        for c in range(cols):
            u = r * cols + c
            if c + 1 < cols:
                edges.append((u, u + 1))
            if r + 1 < rows:
                edges.append((u, u + cols))
    return np.array(edges, dtype=np.int64)


def grid_problem(
    rows: int,
    cols: int,
    k: int,
    *,
    objective: str = "inertia",
    weights: np.ndarray | None = None,
    size_tolerance: float | None = 0.0,
    contiguity: bool = True,
    **extra: object,
) -> DesignProblem:
    """A grid of unit squares (planar coordinates), balanced on unit count."""
    n = rows * cols
    coords = np.array([[c, r] for r in range(rows) for c in range(cols)], dtype=float)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    measures = np.column_stack([np.ones(n), w])
    edges = grid_edges(rows, cols)
    balance = () if size_tolerance is None else (Balance("units", size_tolerance),)
    lengths = np.ones(len(edges)) if objective == "diameter" else None
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(n)]),
        coords=coords,
        coord_kind="xy",
        measures=measures,
        measure_names=("units", "weight"),
        n_territories=k,
        balance=balance,
        objective=objective,  # type: ignore[arg-type]
        weight="weight",
        edges=edges,
        edge_lengths=lengths,
        contiguity=contiguity,
        distance="graph" if objective == "diameter" else "euclidean",
        **extra,  # type: ignore[arg-type]
    )


def connected(members: list[int], edges: np.ndarray) -> bool:
    if not members:
        return False
    ms = set(members)
    adj: dict[int, list[int]] = {u: [] for u in ms}
    for a, b in edges.tolist():
        if a in ms and b in ms:
            adj[a].append(b)
            adj[b].append(a)
    seen = {members[0]}
    stack = [members[0]]
    while stack:
        for v in adj[stack.pop()]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    return len(seen) == len(ms)


def partitions(n: int, k: int, edges: np.ndarray, sizes: tuple[int, int] | None = None):
    """Every partition of ``0..n-1`` into ``k`` contiguous non-empty parts (canonical labels)."""
    for labels in itertools.product(range(k), repeat=n - 1):
        assign = (0, *labels)
        # canonical: first appearance order 0, 1, 2...
        seen: list[int] = []
        ok = True
        for t in assign:
            if t not in seen:
                if t != len(seen):
                    ok = False
                    break
                seen.append(t)
        if not ok or len(seen) != k:
            continue
        groups = [[i for i in range(n) if assign[i] == t] for t in range(k)]
        if sizes and not all(sizes[0] <= len(g) <= sizes[1] for g in groups):
            continue
        if all(connected(g, edges) for g in groups):
            yield np.array(assign, dtype=np.int64), groups


def inertia(problem: DesignProblem, groups: list[list[int]], power: float = 2.0) -> float:
    """Optimal-center inertia (or median with power 1) of a partition."""
    pts = problem.coords
    w = problem.weights
    total = 0.0
    for g in groups:
        d = np.sqrt(((pts[g][:, None, :] - pts[g][None, :, :]) ** 2).sum(-1))
        total += float((w[g][:, None] * d**power).sum(axis=0).min())
    return total


def graph_diameter(dist: np.ndarray, groups: list[list[int]]) -> float:
    return max(float(dist[np.ix_(g, g)].max()) for g in groups)
