"""Adjacency and distances for geographic units.

* :func:`county_adjacency`: US counties that share a border, read from the
  us-atlas TopoJSON vendored in ``territorial/data/us-atlas`` (counties are
  adjacent when their polygons share an arc; the topology is read by
  :mod:`territorial.geometry`).
* :func:`h3_adjacency`: H3 cells that are grid neighbours.
* :func:`delaunay_adjacency`: postal-code centroids joined by a Delaunay
  triangulation, overly long edges pruned.
* :func:`geodesic_miles`, :func:`geodesic_matrix`: distances on the WGS-84 ellipsoid
  (pyproj), re-exported from :mod:`territorial.geometry` for benchmarks defined with
  ellipsoidal distances.

Every adjacency function returns ``(edges, lengths)``: an ``(e, 2)`` int array of
unit indices with ``edges[:, 0] < edges[:, 1]`` and ``(e,)`` great-circle lengths in
miles between the units' points.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from territorial.design.distances import haversine_miles
from territorial.design.problem import FloatArray, IntArray
from territorial.errors import ConfigError
from territorial.geometry import (
    county_geometries,
    county_shapes,
    geodesic_matrix,
    geodesic_miles,
    polygon_arcs,
    to_unit_sphere,
)


def county_fips() -> list[str]:
    """Every county FIPS code (5 digits) in the vendored us-atlas counties file."""
    return sorted(county_geometries())


def county_names(fips: Sequence[str]) -> list[str]:
    """County names for FIPS codes (as in us-atlas, e.g. ``"Oklahoma"``)."""
    geoms = county_geometries()
    _require_known(fips, geoms)
    return [geoms[f].get("properties", {}).get("name", "") for f in fips]


def _require_known(fips: Sequence[str], geoms: dict[str, dict]) -> None:
    missing = [f for f in fips if f not in geoms]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise ConfigError(
            f"{len(missing)} county FIPS codes are not in us-atlas counties-10m: {shown} "
            "(codes are 5 digits, state + county, e.g. '40109')"
        )


def county_centroids(fips: Sequence[str]) -> FloatArray:
    """``(n, 2)`` ``(lat, lon)`` of each county polygon's area centroid (shapely).

    Computed in longitude/latitude degrees, which is close enough for county-sized
    shapes; population-weighted centroids are not part of us-atlas. ``NaN`` for a
    county without a polygon.
    """
    _require_known(fips, county_geometries())
    codes, shapes = county_shapes()
    index = {f: i for i, f in enumerate(codes)}
    out = np.zeros((len(fips), 2))
    for row, f in enumerate(fips):
        shape = shapes[index[f]]
        if shape.is_empty:  # a county without a polygon at this scale
            out[row] = np.nan
            continue
        c = shape.centroid
        out[row] = (c.y, c.x)
    return out


def county_adjacency(
    fips: Sequence[str], coords: FloatArray | None = None
) -> tuple[IntArray, FloatArray]:
    """Counties (given by FIPS) whose polygons share a border arc in us-atlas.

    Two counties touching only at a corner are not adjacent (they share no arc).
    ``coords`` (``(n, 2)`` lat/lon, e.g. population centroids) give the edge
    lengths; by default the polygon centroids are used. Returns ``(edges,
    lengths)`` with edges as indices into ``fips``.
    """
    geoms = county_geometries()
    _require_known(fips, geoms)
    index = {f: i for i, f in enumerate(fips)}
    owners: dict[int, list[int]] = {}
    for f in fips:
        for ring in (r for polygon in polygon_arcs(geoms[f]) for r in polygon):
            for a in ring:
                owners.setdefault(a if a >= 0 else ~a, []).append(index[f])
    pairs = {
        (min(u, v), max(u, v))
        for shared in owners.values()
        for u in shared
        for v in shared
        if u != v
    }
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    pts = county_centroids(fips) if coords is None else np.asarray(coords, dtype=np.float64)
    return edges, _lengths(pts, edges)


def _lengths(latlon: FloatArray, edges: IntArray) -> FloatArray:
    if len(edges) == 0:
        return np.zeros(0)
    return haversine_miles(latlon[edges[:, 0]], latlon[edges[:, 1]])


# --------------------------------------------------------------------------------------
# H3 cells
# --------------------------------------------------------------------------------------
def h3_adjacency(cells: Sequence[str]) -> tuple[IntArray, FloatArray]:
    """H3 cells of the list that are grid neighbours (``h3.grid_disk(cell, 1)``).

    Cells of different resolutions are never adjacent. Lengths are great-circle
    miles between cell centers.
    """
    import h3

    index = {c: i for i, c in enumerate(cells)}
    if len(index) != len(cells):
        raise ConfigError("H3 cell ids must be distinct")
    pairs: set[tuple[int, int]] = set()
    for c, i in index.items():
        if not h3.is_valid_cell(c):
            raise ConfigError(f"{c!r} is not a valid H3 cell id")
        for nb in h3.grid_disk(c, 1):
            j = index.get(nb)
            if j is not None and j != i:
                pairs.add((min(i, j), max(i, j)))
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    centers = np.array([h3.cell_to_latlng(c) for c in cells], dtype=np.float64).reshape(-1, 2)
    return edges, _lengths(centers, edges)


# --------------------------------------------------------------------------------------
# Delaunay triangulation of points (postal-code centroids)
# --------------------------------------------------------------------------------------
def delaunay_adjacency(
    latlon: FloatArray, *, prune_factor: float = 3.0
) -> tuple[IntArray, FloatArray]:
    """Neighbours of points from a Delaunay triangulation, overly long edges pruned.

    The points (``(n, 2)`` lat/lon degrees) are projected equirectangularly around
    their mean latitude and triangulated (``scipy.spatial.Delaunay``). An edge is
    dropped when it is longer than ``prune_factor`` times the *local median*: the
    median length of the triangulation edges at one of its ends (the smaller of the
    two medians, so an edge far longer than what is usual at either end goes),
    except that every point keeps its shortest edge. Points at
    identical locations are joined with zero length. Lengths are great-circle miles.
    """
    from scipy.spatial import Delaunay, QhullError

    pts = np.asarray(latlon, dtype=np.float64)
    n = len(pts)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    uniq, first, inverse = np.unique(pts, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    pairs: set[tuple[int, int]] = set()
    # duplicates join their representative
    for i in range(n):
        rep = int(first[inverse[i]])
        if rep != i:
            pairs.add((min(rep, i), max(rep, i)))
    reps = first
    m = len(uniq)
    tri_pairs: set[tuple[int, int]] = set()
    if m == 2:
        tri_pairs.add((0, 1))
    elif m > 2:
        lat0 = np.radians(uniq[:, 0].mean())
        xy = np.column_stack([uniq[:, 1] * np.cos(lat0), uniq[:, 0]])
        try:
            simplices = Delaunay(xy).simplices
            for s in simplices:
                for a, b in ((s[0], s[1]), (s[1], s[2]), (s[0], s[2])):
                    tri_pairs.add((min(a, b), max(a, b)))
        except QhullError:
            # all points on a line: join them in order along it
            order = np.lexsort((xy[:, 1], xy[:, 0]))
            tri_pairs.update((min(a, b), max(a, b)) for a, b in itertools.pairwise(order))
    if tri_pairs:
        te = np.array(sorted(tri_pairs), dtype=np.int64)
        tl = haversine_miles(uniq[te[:, 0]], uniq[te[:, 1]])
        incident: list[list[float]] = [[] for _ in range(m)]
        for (a, b), length in zip(te.tolist(), tl.tolist(), strict=True):
            incident[a].append(length)
            incident[b].append(length)
        med = np.array([np.median(x) if x else 0.0 for x in incident])
        shortest = np.array([min(x) if x else 0.0 for x in incident])
        local = np.minimum(med[te[:, 0]], med[te[:, 1]])
        keep = (
            (tl <= prune_factor * local) | (tl <= shortest[te[:, 0]]) | (tl <= shortest[te[:, 1]])
        )
        for a, b in te[keep].tolist():
            u, v = int(reps[a]), int(reps[b])
            pairs.add((min(u, v), max(u, v)))
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    return edges, _lengths(pts, edges)


__all__ = [
    "county_adjacency",
    "county_centroids",
    "county_fips",
    "county_names",
    "delaunay_adjacency",
    "geodesic_matrix",
    "geodesic_miles",
    "h3_adjacency",
]


def compact_groups(lat: FloatArray, lon: FloatArray, load: FloatArray, n_groups: int) -> IntArray:
    """Group of every point: ``n_groups`` compact parts of (nearly) equal ``load``.

    Recursive coordinate bisection on the unit sphere (each cut across the widest axis
    at the load's median), the aggregation to use when postal codes or H3 cells are too
    uneven (a downtown H3 cell can hold most of a territory): every group carries about
    ``load.sum() / n_groups``. Deterministic.
    """
    from territorial.design.balanced import _bisect

    pts = to_unit_sphere(np.column_stack([np.asarray(lat, float), np.asarray(lon, float)]))
    load = np.asarray(load, dtype=np.float64)
    n = len(pts)
    if not 1 <= n_groups <= n:
        raise ConfigError(f"n_groups must be between 1 and the number of points ({n})")
    parts: list[IntArray] = []
    _bisect(pts, load if load.sum() > 0 else np.ones(n), np.arange(n), int(n_groups), parts)
    out = np.empty(n, dtype=np.int64)
    for g, members in enumerate(parts):
        out[members] = g
    return out
