"""Adjacency and distances for geographic units.

* :func:`county_adjacency`: US counties that share a border, read from the
  us-atlas TopoJSON vendored in ``territorial/data/us-atlas`` (counties are
  adjacent when their polygons share an arc; the arcs are decoded here, no GIS
  stack needed).
* :func:`h3_adjacency`: H3 cells that are grid neighbours.
* :func:`delaunay_adjacency`: postal-code centroids joined by a Delaunay
  triangulation, overly long edges pruned.
* :func:`geodesic_miles`: distances on the WGS-84 ellipsoid (Vincenty's inverse
  formula), for benchmarks defined with ellipsoidal distances.

Every adjacency function returns ``(edges, lengths)``: an ``(e, 2)`` int array of
unit indices with ``edges[:, 0] < edges[:, 1]`` and ``(e,)`` great-circle lengths in
miles between the units' points.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from territorial.design.distances import haversine_miles
from territorial.design.problem import FloatArray, IntArray
from territorial.errors import ConfigError

#: WGS-84 ellipsoid: semi-major axis (metres) and flattening.
WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563
METRES_PER_MILE = 1609.344


# --------------------------------------------------------------------------------------
# Ellipsoidal distance
# --------------------------------------------------------------------------------------
def geodesic_miles(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Geodesic distance in miles on the WGS-84 ellipsoid (Vincenty inverse, broadcast).

    Accurate to well under a millimetre for the distances of a country; nearly
    antipodal points (where Vincenty's iteration may not converge) fall back to
    the last iterate, which is then off by up to a few miles: not a case territory
    design meets.
    """
    a, f = WGS84_A, WGS84_F
    b = a * (1 - f)
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        *(np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2))
    )
    L = lon2 - lon1
    U1 = np.arctan((1 - f) * np.tan(lat1))
    U2 = np.arctan((1 - f) * np.tan(lat2))
    sinU1, cosU1, sinU2, cosU2 = np.sin(U1), np.cos(U1), np.sin(U2), np.cos(U2)
    lam = L.copy()
    sin_sigma = cos_sigma = sigma = cos2_alpha = cos_2sm = np.zeros_like(L)
    for _ in range(200):
        sin_lam, cos_lam = np.sin(lam), np.cos(lam)
        sin_sigma = np.sqrt((cosU2 * sin_lam) ** 2 + (cosU1 * sinU2 - sinU1 * cosU2 * cos_lam) ** 2)
        cos_sigma = sinU1 * sinU2 + cosU1 * cosU2 * cos_lam
        sigma = np.arctan2(sin_sigma, cos_sigma)
        safe = np.where(sin_sigma == 0, 1.0, sin_sigma)
        sin_alpha = cosU1 * cosU2 * sin_lam / safe
        cos2_alpha = 1 - sin_alpha**2
        cos_2sm = np.where(
            cos2_alpha == 0,
            0.0,
            cos_sigma - 2 * sinU1 * sinU2 / np.where(cos2_alpha == 0, 1.0, cos2_alpha),
        )
        C = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
        lam_new = L + (1 - C) * f * sin_alpha * (
            sigma + C * sin_sigma * (cos_2sm + C * cos_sigma * (-1 + 2 * cos_2sm**2))
        )
        done = np.abs(lam_new - lam) < 1e-13
        lam = lam_new
        if done.all():
            break
    u2 = cos2_alpha * (a**2 - b**2) / b**2
    A = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
    B = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
    d_sigma = (
        B
        * sin_sigma
        * (
            cos_2sm
            + B
            / 4
            * (
                cos_sigma * (-1 + 2 * cos_2sm**2)
                - B / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
            )
        )
    )
    s = b * A * (sigma - d_sigma)
    return np.where(sin_sigma == 0, 0.0, s) / METRES_PER_MILE


def geodesic_matrix(latlon: FloatArray) -> FloatArray:
    """``(n, n)`` geodesic miles (WGS-84) between ``(lat, lon)`` points in degrees."""
    p = np.asarray(latlon, dtype=np.float64)
    d = geodesic_miles(p[:, None, 0], p[:, None, 1], p[None, :, 0], p[None, :, 1])
    d = (d + d.T) / 2.0
    np.fill_diagonal(d, 0.0)
    return d


# --------------------------------------------------------------------------------------
# US counties from the us-atlas TopoJSON
# --------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def _topology(name: str = "counties-10m.json") -> dict:
    """The vendored us-atlas topology (``territorial/data/us-atlas``), parsed once."""
    ref = resources.files("territorial.data").joinpath("us-atlas", name)
    with ref.open("r", encoding="utf-8") as fh:
        return json.load(fh)


def _arc_rings(geometry: dict) -> list[list[int]]:
    """Every ring of a Polygon/MultiPolygon as its list of (signed) arc indices."""
    if geometry["type"] == "Polygon":
        return list(geometry["arcs"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["arcs"] for ring in polygon]
    return []


@lru_cache(maxsize=1)
def _county_geometries() -> dict[str, dict]:
    topo = _topology()
    return {g["id"]: g for g in topo["objects"]["counties"]["geometries"] if "id" in g}


@lru_cache(maxsize=1)
def _decoded_arcs() -> list[np.ndarray]:
    """Arcs as ``(p, 2)`` lon/lat arrays: TopoJSON quantized, delta-encoded positions."""
    topo = _topology()
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, dtype=np.float64), axis=0)
        out.append(np.column_stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty]))
    return out


def county_fips() -> list[str]:
    """Every county FIPS code (5 digits) in the vendored us-atlas counties file."""
    return sorted(_county_geometries())


def county_names(fips: Sequence[str]) -> list[str]:
    """County names for FIPS codes (as in us-atlas, e.g. ``"Oklahoma"``)."""
    geoms = _county_geometries()
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
    shapes; population-weighted centroids are not part of us-atlas.
    """
    from shapely.geometry import MultiPolygon, Polygon

    geoms = _county_geometries()
    _require_known(fips, geoms)
    arcs = _decoded_arcs()

    def ring_coords(ring: list[int]) -> np.ndarray:
        parts = []
        for k, a in enumerate(ring):
            pts = arcs[a] if a >= 0 else arcs[~a][::-1]
            parts.append(pts if k == 0 else pts[1:])
        return np.concatenate(parts)

    out = np.zeros((len(fips), 2))
    for row, f in enumerate(fips):
        g = geoms[f]
        polys = (
            [g["arcs"]]
            if g["type"] == "Polygon"
            else list(g["arcs"])
            if g["type"] == "MultiPolygon"
            else []
        )
        shapes = [Polygon(ring_coords(p[0]), [ring_coords(h) for h in p[1:]]) for p in polys if p]
        c = MultiPolygon(shapes).centroid if len(shapes) > 1 else shapes[0].centroid
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
    geoms = _county_geometries()
    _require_known(fips, geoms)
    index = {f: i for i, f in enumerate(fips)}
    owners: dict[int, list[int]] = {}
    for f in fips:
        for ring in _arc_rings(geoms[f]):
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

    lat_r, lon_r = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    pts = np.column_stack(
        [np.cos(lat_r) * np.cos(lon_r), np.cos(lat_r) * np.sin(lon_r), np.sin(lat_r)]
    )
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
