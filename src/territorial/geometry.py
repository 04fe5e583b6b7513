"""Geometry shared by design, routing, scoring, the sample and the workspace.

One place for each geometric job, so every part of Territorial measures the same way:

* :func:`great_circle_miles` / :func:`great_circle_km`: the great-circle (haversine)
  distance on a sphere of radius :data:`EARTH_RADIUS_KM` (the IUGG mean radius,
  6,371.0088 km = 3,958.7613 mi), vectorised over numpy arrays (scalars work too).
* :func:`geodesic_miles`: the distance on the WGS-84 ellipsoid, computed by pyproj
  (Karney's algorithm from GeographicLib), for benchmarks defined on the ellipsoid.
* :func:`to_unit_sphere` / :func:`chord_to_miles`: points as 3-D unit vectors, where a
  KD-tree's Euclidean (chord) order is the great-circle order.
* :func:`us_atlas_topology`, :func:`county_geometries`, :func:`county_shapes`: the
  vendored us-atlas TopoJSON (``territorial/data/us-atlas``), decoded once, for the
  design engine's county units and the workspace's map statistics.

This module depends on numpy only at import (pyproj and shapely are imported where
used) and on nothing else in Territorial, so any module may import it.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Mean Earth radius (IUGG R1) in kilometres: the one sphere every great circle uses.
EARTH_RADIUS_KM = 6371.0088
#: Kilometres in a statute mile (exact, by definition).
KM_PER_MILE = 1.609344
#: The same mean Earth radius in statute miles (3,958.7613 mi).
EARTH_RADIUS_MI = EARTH_RADIUS_KM / KM_PER_MILE
METRES_PER_MILE = 1000.0 * KM_PER_MILE


# --------------------------------------------------------------------------------------
# Great circle on the mean sphere
# --------------------------------------------------------------------------------------
def central_angle(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Angle in radians between points given in degrees (haversine; arrays broadcast).

    The haversine form stays accurate for short distances (a few metres) where the
    spherical law of cosines loses its digits.
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dlon = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    h = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2.0) ** 2
    return 2.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def great_circle_miles(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in statute miles between points in degrees (arrays broadcast)."""
    return EARTH_RADIUS_MI * central_angle(lat1, lon1, lat2, lon2)


def great_circle_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in kilometres between points in degrees (arrays broadcast)."""
    return EARTH_RADIUS_KM * central_angle(lat1, lon1, lat2, lon2)


def to_unit_sphere(latlon: npt.ArrayLike) -> FloatArray:
    """``(n, 2)`` ``(lat, lon)`` degrees to ``(n, 3)`` points on the unit sphere."""
    p = np.asarray(latlon, dtype=np.float64).reshape(-1, 2)
    lat, lon = np.radians(p[:, 0]), np.radians(p[:, 1])
    c = np.cos(lat)
    return np.column_stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)])


def from_unit_sphere(xyz: FloatArray) -> FloatArray:
    """``(n, 3)`` vectors (any length > 0) back to ``(lat, lon)`` degrees."""
    norm = np.linalg.norm(xyz, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    p = xyz / norm
    return np.column_stack(
        [np.degrees(np.arcsin(np.clip(p[:, 2], -1, 1))), np.degrees(np.arctan2(p[:, 1], p[:, 0]))]
    )


def chord_to_miles(chord: npt.ArrayLike) -> FloatArray:
    """Unit-sphere chord length to great-circle miles (exact: ``2 R asin(c / 2)``)."""
    c = np.asarray(chord, dtype=np.float64)
    return 2.0 * EARTH_RADIUS_MI * np.arcsin(np.clip(c / 2.0, 0.0, 1.0))


# --------------------------------------------------------------------------------------
# Geodesic on the WGS-84 ellipsoid
# --------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _wgs84() -> Any:
    from pyproj import Geod

    return Geod(ellps="WGS84")


def geodesic_miles(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Geodesic distance in miles on the WGS-84 ellipsoid (pyproj, arrays broadcast).

    Karney's algorithm: accurate to nanometres and converging for every pair of
    points, antipodal ones included.
    """
    la1, lo1, la2, lo2 = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (lat1, lon1, lat2, lon2))
    )
    shape = la1.shape
    _, _, metres = _wgs84().inv(lo1.ravel(), la1.ravel(), lo2.ravel(), la2.ravel())
    return np.asarray(metres, dtype=np.float64).reshape(shape) / METRES_PER_MILE


def geodesic_matrix(latlon: npt.ArrayLike) -> FloatArray:
    """``(n, n)`` geodesic miles (WGS-84) between ``(lat, lon)`` points in degrees."""
    p = np.asarray(latlon, dtype=np.float64).reshape(-1, 2)
    d = geodesic_miles(p[:, None, 0], p[:, None, 1], p[None, :, 0], p[None, :, 1])
    d = (d + d.T) / 2.0
    np.fill_diagonal(d, 0.0)
    return d


# --------------------------------------------------------------------------------------
# us-atlas TopoJSON
# --------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def us_atlas_topology(name: str = "counties-10m.json") -> dict[str, Any]:
    """The vendored us-atlas topology (``territorial/data/us-atlas``), parsed once."""
    ref = resources.files("territorial.data").joinpath("us-atlas", name)
    with ref.open("r", encoding="utf-8") as fh:
        topology: dict[str, Any] = json.load(fh)
    return topology


@lru_cache(maxsize=1)
def county_geometries() -> dict[str, dict[str, Any]]:
    """TopoJSON geometry of every county by 5-digit FIPS code (arcs, name)."""
    topo = us_atlas_topology()
    return {g["id"]: g for g in topo["objects"]["counties"]["geometries"] if "id" in g}


@lru_cache(maxsize=1)
def decoded_arcs() -> tuple[FloatArray, ...]:
    """Arcs as ``(p, 2)`` lon/lat arrays (TopoJSON quantized, delta-encoded positions)."""
    topo = us_atlas_topology()
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, dtype=np.float64), axis=0)
        out.append(np.column_stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty]))
    return tuple(out)


def polygon_arcs(geometry: dict[str, Any]) -> list[list[list[int]]]:
    """Polygons of a TopoJSON Polygon/MultiPolygon, each a list of rings of arc indices."""
    if geometry["type"] == "Polygon":
        return [geometry["arcs"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["arcs"])
    return []


def ring_coordinates(arc_ids: list[int]) -> FloatArray:
    """``(p, 2)`` lon/lat of a ring given by signed arc indices (``~i`` = arc i reversed)."""
    arcs = decoded_arcs()
    parts = [arcs[a] if a >= 0 else arcs[~a][::-1] for a in arc_ids]
    return np.concatenate([parts[0], *[p[1:] for p in parts[1:]]])


_shapes_lock = threading.Lock()


@lru_cache(maxsize=1)
def _county_shapes() -> tuple[tuple[str, ...], tuple[Any, ...]]:
    import shapely

    def polygon(rings: list[list[int]]) -> Any:
        coords = [ring_coordinates(r) for r in rings]
        if len(coords[0]) < 4:  # a sliver lost to quantisation
            return shapely.Polygon()
        return shapely.Polygon(coords[0], [c for c in coords[1:] if len(c) >= 4])

    fips, shapes = [], []
    for code, g in sorted(county_geometries().items()):
        polygons = polygon_arcs(g)
        if not polygons:
            continue
        shape = (
            polygon(polygons[0])
            if g["type"] == "Polygon"
            else shapely.MultiPolygon([polygon(p) for p in polygons])
        )
        fips.append(code)
        shapes.append(shape if shape.is_valid else shape.buffer(0))
    return tuple(fips), tuple(shapes)


def county_shapes() -> tuple[list[str], list[Any]]:
    """US county FIPS codes (sorted) and their shapely (Multi)Polygons in lon/lat degrees."""
    with _shapes_lock:  # decoded once even when web requests ask at the same time
        fips, shapes = _county_shapes()
    return list(fips), list(shapes)


__all__ = [
    "EARTH_RADIUS_KM",
    "EARTH_RADIUS_MI",
    "KM_PER_MILE",
    "central_angle",
    "chord_to_miles",
    "county_geometries",
    "county_shapes",
    "decoded_arcs",
    "from_unit_sphere",
    "geodesic_matrix",
    "geodesic_miles",
    "great_circle_km",
    "great_circle_miles",
    "polygon_arcs",
    "ring_coordinates",
    "to_unit_sphere",
    "us_atlas_topology",
]
