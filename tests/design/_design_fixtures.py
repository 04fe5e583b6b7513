"""Shared data of the design tests: a 4x4 grid you can see, and small random books."""

from __future__ import annotations

import numpy as np

from territorial.design.problem import Balance, DesignProblem

# The 4x4 grid (x = column, y = row), one account each; revenue per cell:
#
#   y=3 |  10  10  10  10
#   y=2 |  10  10  10  10
#   y=1 |  10  10  10  10
#   y=0 |  10  10  10  10
#         x=0 x=1 x=2 x=3
GRID_IDS = [f"r{y}c{x}" for y in range(4) for x in range(4)]
GRID_XY = np.array([(x, y) for y in range(4) for x in range(4)], dtype=float)


def grid_edges() -> np.ndarray:
    """Rook adjacency of the 4x4 grid (unit index = 4*y + x)."""
    edges = []
    for y in range(4):
        for x in range(4):
            i = 4 * y + x
            if x < 3:
                edges.append((i, i + 1))
            if y < 3:
                edges.append((i, i + 4))
    return np.array(edges)


def grid_problem_4() -> DesignProblem:
    """16 equal accounts on a 4x4 grid, 4 territories, exact balance on accounts."""
    return DesignProblem(
        unit_ids=np.array(GRID_IDS),
        coords=GRID_XY,
        measures=np.column_stack([np.ones(16), np.full(16, 10.0)]),
        measure_names=("accounts", "revenue"),
        n_territories=4,
        balance=(Balance("accounts", 0.0), Balance("revenue", 0.0)),
        objective="inertia",
        coord_kind="xy",
    )


#: The four 2x2 quadrants of the grid, the optimal plan for 4 territories.
QUADRANTS = np.array([(y // 2) * 2 + (x // 2) for y in range(4) for x in range(4)])


def random_book(
    n: int, k: int, *, seed: int = 0, tol: float = 0.1, centers: bool = False
) -> DesignProblem:
    """``n`` accounts on the plane with lognormal revenue, ``k`` territories."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    revenue = rng.lognormal(3.0, 0.5, n)
    return DesignProblem(
        unit_ids=np.array([f"a{i}" for i in range(n)]),
        coords=xy,
        measures=np.column_stack([np.ones(n), revenue]),
        measure_names=("accounts", "revenue"),
        n_territories=k,
        balance=(Balance("accounts", tol), Balance("revenue", tol)),
        objective="inertia",
        coord_kind="xy",
        centers=xy[rng.choice(n, k, replace=False)] if centers else None,
    )
