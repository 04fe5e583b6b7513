"""Distances between units and territory centers.

Three kinds, chosen by ``DesignProblem.distance``:

* ``"greatcircle"``: great-circle distance in **miles** between ``(lat, lon)`` points
  in degrees (:func:`territorial.geometry.great_circle_miles`, one Earth radius).
* ``"euclidean"``: straight-line distance between planar ``(x, y)`` points, in the
  coordinates' own unit.
* ``"graph"``: shortest path over the adjacency edges' lengths
  (``scipy.sparse.csgraph.dijkstra``, run only from the sources that are needed).

Nearest-center searches use a KD-tree. For great-circle distances the tree holds
points on the unit sphere in 3-D: the chord length is a monotone function of the
great-circle angle, so the nearest centers by chord are exactly the nearest by
great-circle distance, and ``2 R asin(chord / 2)`` converts back without error.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from territorial.design.problem import DesignProblem, FloatArray, IntArray
from territorial.geometry import (
    EARTH_RADIUS_MI,
    chord_to_miles,
    from_unit_sphere,
    great_circle_miles,
    to_unit_sphere,
)

#: Rows per chunk when a full distance block would be too large for memory.
CHUNK_ELEMENTS = 4_000_000


def haversine_miles(a: FloatArray, b: FloatArray) -> FloatArray:
    """Great-circle miles between ``(..., 2)`` arrays of ``(lat, lon)`` degrees (broadcast)."""
    return great_circle_miles(a[..., 0], a[..., 1], b[..., 0], b[..., 1])


def embed(problem: DesignProblem, coords: FloatArray | None = None) -> FloatArray:
    """Points in the space the KD-tree searches: 3-D unit vectors for lat/lon, else ``x, y``."""
    pts = problem.coords if coords is None else np.asarray(coords, dtype=np.float64)
    if problem.coord_kind == "latlon":
        return to_unit_sphere(pts)
    return pts


def embedded_to_distance(problem: DesignProblem, d: npt.NDArray[np.float64]) -> FloatArray:
    """Convert distances measured in the embedding to the problem's distance unit."""
    if problem.coord_kind == "latlon":
        return chord_to_miles(d)
    return d


def point_distance(problem: DesignProblem, a: FloatArray, b: FloatArray) -> FloatArray:
    """Geometric distance (great-circle miles or Euclidean) between broadcastable points."""
    if problem.coord_kind == "latlon":
        return haversine_miles(a, b)
    return np.sqrt(((a - b) ** 2).sum(axis=-1))


def graph_matrix(problem: DesignProblem) -> csr_matrix:
    """Symmetric sparse matrix of edge lengths (graph distances)."""
    assert problem.edges is not None and problem.edge_lengths is not None
    n = problem.n_units
    e = problem.edges
    # a zero-length edge would vanish from a sparse matrix; keep it as a tiny length
    lengths = np.maximum(problem.edge_lengths, 1e-12)
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    vals = np.concatenate([lengths, lengths])
    return csr_matrix((vals, (rows, cols)), shape=(n, n))


def graph_distances_from(
    problem: DesignProblem, sources: IntArray, graph: csr_matrix | None = None
) -> FloatArray:
    """``(len(sources), n)`` shortest-path lengths from the given unit indices (inf if cut off)."""
    g = graph if graph is not None else graph_matrix(problem)
    return np.atleast_2d(dijkstra(g, directed=False, indices=np.asarray(sources)))


def snap_to_units(problem: DesignProblem, points: FloatArray) -> IntArray:
    """Index of the unit nearest to each point (used to place fixed centers on the graph)."""
    tree = cKDTree(embed(problem))
    _, idx = tree.query(embed(problem, points), k=1)
    return np.asarray(idx, dtype=np.int64)


def distances_to_points(
    problem: DesignProblem, units: IntArray, points: FloatArray
) -> Iterator[tuple[slice, FloatArray]]:
    """Yield ``(row slice, block)`` of distances from ``units`` to geometric ``points``.

    Chunked so no block holds more than :data:`CHUNK_ELEMENTS` numbers.
    """
    rows = max(1, CHUNK_ELEMENTS // max(1, len(points)))
    for start in range(0, len(units), rows):
        sl = slice(start, min(start + rows, len(units)))
        block = point_distance(problem, problem.coords[units[sl]][:, None, :], points[None, :, :])
        yield sl, block


def unit_to_center_distance(
    problem: DesignProblem,
    assignment: IntArray,
    *,
    center_units: IntArray | None = None,
    graph: csr_matrix | None = None,
) -> FloatArray:
    """``(n,)`` distance from every unit to the center of its territory.

    The center of territory ``j`` is the fixed center ``problem.centers[j]`` when the
    problem has fixed centers, else the unit ``center_units[j]``.
    """
    n = problem.n_units
    k = problem.n_territories
    if problem.distance == "graph":
        if center_units is None:
            assert problem.centers is not None
            center_units = snap_to_units(problem, problem.centers)
        out = np.empty(n)
        used = np.unique(assignment)
        dist = graph_distances_from(problem, center_units[used], graph)
        for row, j in enumerate(used):
            members = assignment == j
            out[members] = dist[row, members]
        return out
    if problem.centers is not None and center_units is None:
        points = problem.centers
    else:
        assert center_units is not None and len(center_units) == k
        points = problem.coords[center_units]
    return point_distance(problem, problem.coords, points[assignment])


__all__ = [
    "CHUNK_ELEMENTS",
    "EARTH_RADIUS_MI",
    "chord_to_miles",
    "distances_to_points",
    "embed",
    "embedded_to_distance",
    "from_unit_sphere",
    "graph_distances_from",
    "graph_matrix",
    "haversine_miles",
    "point_distance",
    "snap_to_units",
    "to_unit_sphere",
    "unit_to_center_distance",
]
