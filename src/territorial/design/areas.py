"""Territories made of areas: counties (split where a county is too heavy) as design units.

Real territory maps are drawn from areas in one piece. :func:`county_units` turns a
book of located accounts into geographic design units:

1. **Counties.** Each account's county comes from its location (point in polygon
   against the vendored us-atlas counties with a shapely STRtree; a point just off a
   coast goes to the nearest county) unless the accounts carry a ``county_fips``
   column. Every county of every state that holds an account becomes a unit, empty
   ones included, so territories cover the map without holes.
2. **Splits.** A county whose total of a balanced measure is more than
   ``split_share`` of a territory's mean (downtown Los Angeles holds several
   territories' work) is cut into parts of about equal load: the accounts' distinct
   locations (postal-code points, addresses) are grouped by recursive bisection of
   their load (:func:`territorial.design.geography.compact_groups`), repaired so that
   every part is in one piece, and each part's area is the union of its points'
   Voronoi cells clipped to the county. Parts are small enough for a territory's
   balance to be reachable.
3. **Adjacency.** Counties are neighbours when they share a border arc in the
   TopoJSON (rook: a shared corner is not a border); parts are neighbours of each
   other and of a neighbouring county (or its parts) when they share at least
   :data:`MIN_BORDER_DEGREES` of border.
   Areas that share no border with the rest (islands: Hawaii, Nantucket, the San
   Juan Islands) are joined to their nearest unit by a *link* edge, flagged in
   ``AreaUnits.links``, so the design engine can still reach them; a territory that
   needs a link is not contiguous on real borders and is reported so.

The result (:class:`AreaUnits`) is a units table and adjacency that the array
:class:`~territorial.design.problem.DesignProblem` takes with ``contiguity=True``;
``AreaUnits.account_unit`` gives each account its unit, so each account gets its
unit's territory. :func:`contiguous_territories` counts territories in one piece on
real borders, for any plan (the dashboard's count).
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from territorial.design.problem import BoolArray, FloatArray, IntArray
from territorial.errors import ConfigError
from territorial.geometry import (
    county_geometries,
    county_shapes,
    great_circle_miles,
    polygon_arcs,
    ring_coordinates,
    to_unit_sphere,
)

log = logging.getLogger(__name__)

#: Shortest shared border (degrees, about 100 m) for a split part to neighbour an area;
#: shorter contacts are corners, not borders.
MIN_BORDER_DEGREES = 1e-3
#: Tolerance (degrees, about 1 m) when comparing a clipped part's border with a county's.
_SNAP_DEGREES = 1e-5
#: A county is split when it holds more than this share of a territory's mean load.
DEFAULT_SPLIT_SHARE = 0.05
#: Links from an island (a land mass without a land border to the mainland) to the
#: mainland. One: a territory connected in the adjacency graph with links is then one
#: piece on every land mass it touches, because a path can cross an island's only link
#: once; with several links, two mainland pieces could join through an island.
ISLAND_LINKS = 1
#: A point farther than this from every county is reported (degrees, about 50 km).
FAR_FROM_COUNTIES_DEGREES = 0.5


# --------------------------------------------------------------------------------------
# Counties: lookup and borders
# --------------------------------------------------------------------------------------
def _tree() -> tuple[list[str], list[Any], Any]:
    import shapely

    fips, shapes = county_shapes()
    return fips, shapes, shapely.STRtree(shapes)


def locate_counties(latitude: Sequence[float], longitude: Sequence[float]) -> np.ndarray:
    """County FIPS code (5 digits) of each point in degrees; ``""`` where unlocated.

    A point inside no county polygon (on a coast the map's generalisation cut off)
    gets the nearest county; one more than :data:`FAR_FROM_COUNTIES_DEGREES` from
    every county (outside the US) gets ``""`` and a warning.
    """
    import shapely

    lat = np.asarray(latitude, dtype=np.float64)
    lon = np.asarray(longitude, dtype=np.float64)
    out = np.full(len(lat), "", dtype=object)
    ok = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    if not ok.size:
        return out
    fips, _, tree = _tree()
    points = shapely.points(lon[ok], lat[ok])
    inside, county = tree.query(points, predicate="within")
    found = np.full(len(ok), -1, dtype=np.int64)
    found[inside] = county  # a point on a shared border keeps one of its counties
    lost = np.flatnonzero(found < 0)
    if lost.size:
        near, dist = tree.query_nearest(points[lost], return_distance=True, all_matches=False)
        got = lost[near[0]]
        close = dist <= FAR_FROM_COUNTIES_DEGREES
        found[got[close]] = near[1][close]
        far = int((~close).sum())
        if far:
            warnings.warn(
                f"{far} locations are more than {FAR_FROM_COUNTIES_DEGREES}° from every US "
                "county and get no county",
                UserWarning,
                stacklevel=2,
            )
    codes = np.asarray(fips, dtype=object)
    out[ok[found >= 0]] = codes[found[found >= 0]]
    return out


def county_border_pairs(fips: Sequence[str]) -> IntArray:
    """``(e, 2)`` index pairs (``a < b``) of the given counties that share a border arc."""
    geoms = county_geometries()
    index = {f: i for i, f in enumerate(fips)}
    owners: dict[int, list[int]] = {}
    for f in fips:
        for polygon in polygon_arcs(geoms[f]):
            for ring in polygon:
                for a in ring:
                    owners.setdefault(a if a >= 0 else ~a, []).append(index[f])
    pairs = {
        (min(u, v), max(u, v))
        for shared in owners.values()
        for u in shared
        for v in shared
        if u != v
    }
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


# --------------------------------------------------------------------------------------
# The units
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class AreaUnits:
    """Geographic design units built from accounts.

    Attributes
    ----------
    units:
        One row per unit: ``id`` (the county FIPS, or ``FIPS-pN`` for part ``N`` of a
        split county), ``county``, ``name``, ``lat``/``lon`` (the accounts' mean
        location, or the area's centroid when it holds none), one column per measure
        (summed over the unit's accounts) and ``accounts`` (how many).
    edges:
        ``(e, 2)`` unit index pairs (``a < b``) that are neighbours.
    edge_lengths:
        ``(e,)`` great-circle miles between the two units' points.
    links:
        ``(e,)`` True where an edge is not a real border but joins an island.
    account_unit:
        Unit id of every located account (index: account id).
    shapes:
        The unit's area as a shapely (Multi)Polygon in lon/lat degrees.
    """

    units: pd.DataFrame
    edges: IntArray
    edge_lengths: FloatArray
    links: BoolArray
    account_unit: pd.Series
    shapes: tuple[Any, ...]

    @property
    def n_units(self) -> int:
        return len(self.units)

    def members(self) -> dict[str, list[str]]:
        """Account ids of each unit (units without accounts are left out)."""
        out: dict[str, list[str]] = {}
        for account, unit in self.account_unit.items():
            out.setdefault(str(unit), []).append(str(account))
        return out

    def edges_frame(self) -> pd.DataFrame:
        """Adjacency as ``a``, ``b`` (unit ids), ``length`` (miles), ``link``."""
        ids = self.units["id"].to_numpy()
        return pd.DataFrame(
            {
                "a": ids[self.edges[:, 0]],
                "b": ids[self.edges[:, 1]],
                "length": self.edge_lengths,
                "link": self.links,
            }
        )

    def contiguous_count(self, assignment: IntArray, *, real_borders: bool = True) -> int:
        """Territories (indices in ``assignment``, one per unit) that are in one piece.

        With ``real_borders`` island links do not count as borders.
        """
        edges = self.edges[~self.links] if real_borders else self.edges
        return _connected_territories(self.n_units, edges, np.asarray(assignment))

    def contiguity(self, assignment: IntArray) -> Contiguity:
        """How the territories of a plan on these units hold together (:class:`Contiguity`)."""
        return contiguity_of(self.n_units, self.edges, self.links, np.asarray(assignment))


@dataclass(frozen=True, slots=True)
class Contiguity:
    """Territories in one piece, on real borders and across island links.

    A *land mass* is a piece of the real-border graph (the mainland, Alaska, each
    island of Hawaii). A territory is ``contiguous_real_borders`` when its areas are
    one piece on shared borders alone. It is ``contiguous_with_island_links`` when it
    is one piece on each land mass it touches and those pieces are joined by island
    links (a territory holding Hawaii and the Californian counties its links reach):
    a land mass lighter than a territory cannot be a territory of its own, so some
    territory must reach it over water. ``broken`` territories are in several pieces
    on one land mass (two mainland pieces joined through an island count there).
    """

    territories: int
    contiguous_real_borders: int
    contiguous_with_island_links: int
    #: Territories that need an island link (in one piece per land mass).
    across_water: tuple[int, ...]
    #: Territories in several pieces on one land mass.
    broken: tuple[int, ...]


def contiguity_of(n: int, edges: IntArray, links: BoolArray, assignment: IntArray) -> Contiguity:
    """:class:`Contiguity` of a plan on ``n`` units with ``edges`` (``links``: island links)."""

    def labels(e: IntArray) -> IntArray:
        graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        return connected_components(graph, directed=False)[1]

    real = edges[~links]
    land = labels(real)
    same = assignment[edges[:, 0]] == assignment[edges[:, 1]]
    piece = labels(edges[same & ~links])  # pieces on real borders
    joined = labels(edges[same])  # pieces joined by island links too
    frame = pd.DataFrame({"t": assignment, "piece": piece, "land": land, "joined": joined})
    frame = frame[frame["t"] >= 0]
    per = frame.groupby("t").agg(
        pieces=("piece", "nunique"), lands=("land", "nunique"), joined=("joined", "nunique")
    )
    real_ok = per["pieces"] == 1
    one_per_land = per["pieces"] == per["lands"]
    across = per.index[~real_ok & one_per_land & (per["joined"] == 1)]
    broken = per.index[~one_per_land | (per["joined"] > 1)]
    return Contiguity(
        territories=len(per),
        contiguous_real_borders=int(real_ok.sum()),
        contiguous_with_island_links=int(real_ok.sum()) + len(across),
        across_water=tuple(int(t) for t in across),
        broken=tuple(int(t) for t in broken),
    )


def _connected_territories(n: int, edges: IntArray, assignment: IntArray) -> int:
    """How many territories (values >= 0 of ``assignment``) are one connected piece."""
    same = assignment[edges[:, 0]] == assignment[edges[:, 1]] if len(edges) else np.zeros(0, bool)
    e = edges[same]
    graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    assigned = assignment >= 0
    pieces = pd.DataFrame({"t": assignment[assigned], "c": label[assigned]}).drop_duplicates()
    return int((pieces.groupby("t").size() == 1).sum())


def county_units(
    accounts: pd.DataFrame,
    *,
    measures: Sequence[str],
    n_territories: int,
    split_share: float = DEFAULT_SPLIT_SHARE,
    balance: Sequence[str] | None = None,
    empty_counties: bool = True,
) -> AreaUnits:
    """Counties (split where heavy) as design units for ``accounts``.

    Parameters
    ----------
    accounts:
        ``id``, ``latitude``, ``longitude`` (degrees), the numeric ``measures`` and
        optionally ``county_fips`` (5 digits); accounts without a location are left
        out (the caller warns).
    measures:
        Columns summed per unit (dollars, hours, counts).
    n_territories:
        Territories the design will make: a territory's mean load is a measure's
        total over this.
    split_share:
        A county holding more than this fraction of a territory's mean of any
        ``balance`` measure is split into parts of at most about this fraction.
    balance:
        The measures the split looks at (default: every measure).
    empty_counties:
        Include the counties without accounts of those states (the map has no
        holes); without them, counties joined only through empty land are linked.
    """
    if n_territories < 1:
        raise ConfigError(f"n_territories must be at least 1, got {n_territories}")
    if not 0.0 < split_share <= 1.0:
        raise ConfigError(f"split_share must be a fraction in (0, 1], got {split_share}")
    for col in ("id", "latitude", "longitude", *measures):
        if col not in accounts.columns:
            raise ConfigError(f"the accounts need a {col!r} column to be placed on counties")
    balance = list(measures if balance is None else balance)
    missing = [b for b in balance if b not in measures]
    if missing:
        raise ConfigError(f"balanced measures {missing} are not among the measures {measures}")
    frame = accounts[["id", "latitude", "longitude", *measures]].copy()
    frame["id"] = frame["id"].astype(str)
    frame["latitude"] = pd.to_numeric(frame["latitude"], errors="coerce")
    frame["longitude"] = pd.to_numeric(frame["longitude"], errors="coerce")
    frame = frame.dropna(subset=["latitude", "longitude"])
    if "county_fips" in accounts.columns:
        given = accounts.loc[frame.index, "county_fips"].astype("string").fillna("").str.strip()
        frame["county"] = given.str.zfill(5).where(given != "", "").to_numpy(dtype=object)
    else:
        frame["county"] = ""
    unknown = frame["county"] == ""
    if unknown.any():
        frame.loc[unknown, "county"] = locate_counties(
            frame.loc[unknown, "latitude"].to_numpy(), frame.loc[unknown, "longitude"].to_numpy()
        )
    geoms = county_geometries()
    bad = sorted(set(frame["county"]) - set(geoms) - {""})
    if bad:
        raise ConfigError(
            f"county_fips values not in us-atlas: {', '.join(map(repr, bad[:5]))} "
            "(5 digits, state + county)"
        )
    frame = frame[frame["county"] != ""]
    if frame.empty:
        raise ConfigError("no account lies in a US county; design on accounts instead")
    for m in measures:
        frame[m] = pd.to_numeric(frame[m], errors="coerce").fillna(0.0).astype(np.float64)

    # every county of every state with accounts: territories cover the map, no holes
    all_fips, all_shapes = county_shapes()
    states = {f[:2] for f in frame["county"]}
    held = set(frame["county"])
    chosen = [
        i for i, f in enumerate(all_fips) if f[:2] in states and (empty_counties or f in held)
    ]
    fips = [all_fips[i] for i in chosen]
    shapes = [all_shapes[i] for i in chosen]
    pos = {f: i for i, f in enumerate(fips)}
    frame["county_index"] = frame["county"].map(pos).to_numpy(dtype=np.int64)

    # which counties are too heavy for one unit
    totals = frame.groupby("county_index")[list(measures)].sum()
    mean = frame[balance].sum().to_numpy() / n_territories
    share = np.zeros(len(fips))
    if balance:
        per = totals[balance].to_numpy() / np.where(mean > 0, mean, np.inf)
        share[totals.index.to_numpy()] = per.max(axis=1)
    parts_of = np.ones(len(fips), dtype=np.int64)
    heavy = np.flatnonzero(share > split_share)
    counts = frame.groupby("county_index").size()
    for h in heavy.tolist():
        parts_of[h] = max(1, min(math.ceil(share[h] / split_share), int(counts.get(h, 1))))
    heavy = heavy[parts_of[heavy] > 1]
    weights = 1.0 / np.where(mean > 0, mean, 1.0)
    # each account's balanced measures as fractions of a territory's mean
    normalised = frame[balance].to_numpy() * weights if balance else np.ones((len(frame), 1))

    # units: whole counties, then the parts of split ones
    unit_ids: list[str] = []
    unit_county: list[int] = []
    unit_shapes: list[Any] = []
    part_sites: list[tuple[IntArray, IntArray]] = []  # (site edges, site unit) per split
    account_unit = np.empty(len(frame), dtype=np.int64)
    county_unit: dict[int, list[int]] = {}
    is_heavy = np.zeros(len(fips), dtype=bool)
    is_heavy[heavy] = True
    for c in range(len(fips)):
        if not is_heavy[c]:
            county_unit[c] = [len(unit_ids)]
            unit_ids.append(fips[c])
            unit_county.append(c)
            unit_shapes.append(shapes[c])
    whole_unit = {c: u[0] for c, u in county_unit.items()}
    rows_of = frame.groupby("county_index").indices
    for county, rows in rows_of.items():
        if not is_heavy[county]:
            account_unit[rows] = whole_unit[int(county)]
    for c in heavy.tolist():
        rows = rows_of[c]
        split = _split_county(
            shapes[c],
            frame["latitude"].to_numpy()[rows],
            frame["longitude"].to_numpy()[rows],
            normalised[rows],
            int(parts_of[c]),
            split_share,
        )
        first = len(unit_ids)
        county_unit[c] = []
        for p, piece in enumerate(split.shapes):
            county_unit[c].append(first + p)
            unit_ids.append(f"{fips[c]}-p{p + 1}")
            unit_county.append(c)
            unit_shapes.append(piece)
        account_unit[rows] = first + split.account_part
        part_sites.append((split.site_edges, first + split.site_part))
    n = len(unit_ids)
    log.info(
        "areas: %d counties in %d states, %d split into %d parts; %d units",
        len(fips),
        len(states),
        len(heavy),
        n - (len(fips) - len(heavy)),
        n,
    )

    # measures and points per unit
    sums = np.zeros((n, len(measures)))
    np.add.at(sums, account_unit, frame[list(measures)].to_numpy())
    n_accounts = np.bincount(account_unit, minlength=n)
    lat_sum = np.bincount(account_unit, frame["latitude"].to_numpy(), minlength=n)
    lon_sum = np.bincount(account_unit, frame["longitude"].to_numpy(), minlength=n)
    lat = np.empty(n)
    lon = np.empty(n)
    has = n_accounts > 0
    lat[has] = lat_sum[has] / n_accounts[has]
    lon[has] = lon_sum[has] / n_accounts[has]
    for u in np.flatnonzero(~has):
        lat[u], lon[u] = _inner_point(unit_shapes[u], shapes[unit_county[u]], fips[unit_county[u]])

    edges = _adjacency(fips, shapes, county_unit, unit_shapes, part_sites, is_heavy)
    edges, links = _join_islands(n, edges, lat, lon)
    lengths = (
        great_circle_miles(lat[edges[:, 0]], lon[edges[:, 0]], lat[edges[:, 1]], lon[edges[:, 1]])
        if len(edges)
        else np.zeros(0)
    )
    names = [geoms[fips[c]].get("properties", {}).get("name", "") for c in unit_county]
    units = pd.DataFrame(
        {
            "id": unit_ids,
            "county": [fips[c] for c in unit_county],
            "name": names,
            "lat": lat,
            "lon": lon,
            **{m: sums[:, i] for i, m in enumerate(measures)},
        }
    )
    if "accounts" not in measures:
        units["accounts"] = n_accounts.astype(np.float64)
    ids = np.asarray(unit_ids, dtype=object)
    return AreaUnits(
        units=units,
        edges=edges,
        edge_lengths=np.asarray(lengths, dtype=np.float64),
        links=links,
        account_unit=pd.Series(ids[account_unit], index=frame["id"].to_numpy(), name="unit"),
        shapes=tuple(unit_shapes),
    )


def _inner_point(shape: Any, county: Any, code: str) -> tuple[float, float]:
    """``(lat, lon)`` of a point inside an area (its border's mean for a sliver)."""
    for area in (shape, county):
        if not area.is_empty:
            point = area.representative_point()
            return float(point.y), float(point.x)
    rings = [r for polygon in polygon_arcs(county_geometries()[code]) for r in polygon]
    coords = np.concatenate([ring_coordinates(r) for r in rings])
    return float(coords[:, 1].mean()), float(coords[:, 0].mean())


# --------------------------------------------------------------------------------------
# Splitting a heavy county into parts
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Split:
    shapes: list[Any]  # one (Multi)Polygon per part
    account_part: IntArray  # part of each account
    site_edges: IntArray  # Voronoi neighbours among the county's sites
    site_part: IntArray  # part of each site


def _site_edges(xy: FloatArray) -> IntArray:
    """Delaunay neighbours (= Voronoi neighbours) among distinct planar points."""
    from scipy.spatial import Delaunay, QhullError

    m = len(xy)
    if m < 2:
        return np.zeros((0, 2), dtype=np.int64)
    pairs: set[tuple[int, int]] = set()
    try:
        for t in Delaunay(xy).simplices:
            for u, v in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])):
                pairs.add((min(u, v), max(u, v)))
    except QhullError:  # fewer than 3 points or all on a line: neighbours along it
        order = np.lexsort((xy[:, 1], xy[:, 0]))
        pairs.update((min(u, v), max(u, v)) for u, v in itertools.pairwise(order))
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _split_county(
    shape: Any,
    lat: FloatArray,
    lon: FloatArray,
    normalised: FloatArray,
    parts: int,
    split_share: float,
) -> _Split:
    """Cut one county into ``parts`` connected parts of about equal ``load``.

    The accounts' distinct locations (*sites*: postal-code centroids or addresses) are
    grouped by recursive bisection of their load; each site's area is its Voronoi
    cell clipped to the county, so the parts tile the county exactly and meet the
    neighbouring counties along the county's own border.
    """
    import shapely

    from territorial.design.geography import compact_groups

    sites, account_site = np.unique(np.column_stack([lon, lat]), axis=0, return_inverse=True)
    account_site = account_site.reshape(-1)
    site_measures = np.zeros((len(sites), normalised.shape[1]))
    np.add.at(site_measures, account_site, normalised)
    site_load = site_measures.sum(axis=1)
    tiny = max(site_load.sum(), 1.0) * 1e-9  # sites without load still need a part
    squash = math.cos(math.radians(float(sites[:, 1].mean())))
    edges = _site_edges(np.column_stack([sites[:, 0] * squash, sites[:, 1]]))
    # bisection balances the measures' sum; one measure can still pile up in a part,
    # so cut finer until no part holds more than about split_share of any measure
    for _ in range(4):
        parts = min(parts, len(sites))
        site_part = compact_groups(sites[:, 1], sites[:, 0], site_load + tiny, parts)
        site_part = _mend_parts(len(sites), edges, site_part, site_load + tiny)
        heaviest = max(
            float(np.bincount(site_part, site_measures[:, i]).max())
            for i in range(site_measures.shape[1])
        )
        if heaviest <= 1.25 * split_share or parts >= len(sites):
            break
        parts = math.ceil(parts * heaviest / split_share)
    _, site_part = np.unique(site_part, return_inverse=True)
    site_part = site_part.astype(np.int64).reshape(-1)
    n_parts = int(site_part.max()) + 1
    if n_parts == 1:
        shapes = [shape]
    else:
        cells = shapely.voronoi_polygons(
            shapely.multipoints(sites), extend_to=shape.envelope.buffer(1.0), ordered=True
        )
        cells = np.asarray(shapely.get_parts(cells), dtype=object)
        shapely.prepare(shape)
        inside = shapely.contains_properly(shape, cells)
        clipped = cells.copy()
        clipped[~inside] = shapely.intersection(cells[~inside], shape)
        shapes = [shapely.union_all(clipped[site_part == p]) for p in range(n_parts)]
    return _Split(
        shapes=shapes,
        account_part=site_part[account_site],
        site_edges=edges,
        site_part=site_part,
    )


def _mend_parts(n: int, edges: IntArray, part: IntArray, load: FloatArray) -> IntArray:
    """Give every detached piece of a part to the neighbouring part it touches most.

    Each part keeps its heaviest connected piece; loose pieces (a bisection cut through
    a bay or a bend of the border) join a neighbour, so every part is in one piece.
    """
    part = part.copy()
    for _ in range(20):
        same = part[edges[:, 0]] == part[edges[:, 1]] if len(edges) else np.zeros(0, bool)
        e = edges[same]
        graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        _, piece = connected_components(graph, directed=False)
        piece_load = np.bincount(piece, load)
        main = {}
        for p in np.unique(part):
            members = np.unique(piece[part == p])
            main[int(p)] = int(members[np.argmax(piece_load[members])])
        loose = np.array([piece[i] != main[int(part[i])] for i in range(n)])
        if not loose.any():
            return part
        changed = False
        for q in np.unique(piece[loose]):
            cells_q = np.flatnonzero(piece == q)
            inside = np.zeros(n, dtype=bool)
            inside[cells_q] = True
            border = edges[inside[edges[:, 0]] ^ inside[edges[:, 1]]]
            outer = np.where(inside[border[:, 0]], border[:, 1], border[:, 0])
            if outer.size == 0:
                continue  # an island of cells: it stays its part's detached piece
            votes = np.bincount(part[outer])
            part[cells_q] = int(np.argmax(votes))
            changed = True
        if not changed:
            break
    return part


# --------------------------------------------------------------------------------------
# Adjacency
# --------------------------------------------------------------------------------------
def _borders(a: Any, b: Any) -> bool:
    """Whether ``a`` (buffered) runs along ``b``'s border for :data:`MIN_BORDER_DEGREES`."""
    import shapely

    if a.is_empty or b.is_empty:
        return False
    shared = shapely.intersection(shapely.boundary(b), shapely.buffer(a, _SNAP_DEGREES))
    return bool(shapely.length(shared) > MIN_BORDER_DEGREES)


def _touching(units: list[int], unit_shapes: list[Any], other: Any) -> list[int]:
    """The units (parts of one county) whose area comes within snapping distance of ``other``."""
    import shapely

    grown = shapely.buffer(other, _SNAP_DEGREES)
    hit = shapely.intersects(np.array([unit_shapes[u] for u in units], dtype=object), grown)
    return [u for u, h in zip(units, hit, strict=True) if h]


def _adjacency(
    fips: list[str],
    shapes: list[Any],
    county_unit: dict[int, list[int]],
    unit_shapes: list[Any],
    part_sites: list[tuple[IntArray, IntArray]],
    is_heavy: BoolArray,
) -> IntArray:
    pairs: set[tuple[int, int]] = set()
    # parts of one county: Voronoi neighbours across parts, kept when they share a border
    for site_edges, site_unit in part_sites:
        candidates = {
            (min(u, v), max(u, v))
            for u, v in zip(
                site_unit[site_edges[:, 0]].tolist(),
                site_unit[site_edges[:, 1]].tolist(),
                strict=True,
            )
            if u != v
        }
        pairs.update((u, v) for u, v in candidates if _borders(unit_shapes[u], unit_shapes[v]))
    # across counties: whole counties share an arc; parts must reach the shared border
    for a, b in county_border_pairs(fips).tolist():
        ua, ub = county_unit[a], county_unit[b]
        if not is_heavy[a] and not is_heavy[b]:
            pairs.add((min(ua[0], ub[0]), max(ua[0], ub[0])))
            continue
        # only parts that reach the other county can share its border
        near_a = _touching(ua, unit_shapes, shapes[b]) if is_heavy[a] else ua
        near_b = _touching(ub, unit_shapes, shapes[a]) if is_heavy[b] else ub
        for u in near_a:
            for v in near_b:
                # buffer a part, measure along the other side's exact county border
                if not is_heavy[b]:
                    shared = _borders(unit_shapes[u], shapes[b])
                elif not is_heavy[a]:
                    shared = _borders(unit_shapes[v], shapes[a])
                else:
                    shared = _borders(unit_shapes[u], unit_shapes[v])
                if shared:
                    pairs.add((min(u, v), max(u, v)))
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _join_islands(
    n: int, edges: IntArray, lat: FloatArray, lon: FloatArray
) -> tuple[IntArray, BoolArray]:
    """Add link edges until the graph is connected: each remote piece to the mainland."""
    links: list[tuple[int, int]] = []
    current = edges
    points = to_unit_sphere(np.column_stack([lat, lon]))
    while True:
        graph = coo_matrix((np.ones(len(current)), (current[:, 0], current[:, 1])), shape=(n, n))
        count, label = connected_components(graph, directed=False)
        if count <= 1:
            break
        sizes = np.bincount(label)
        # every piece but the largest (the mainland) links to its nearest mainland unit:
        # a remote piece smaller than a territory must join one there, and links
        # between remote pieces (Hawaii to the Aleutians) would trap it; one link per
        # piece (ISLAND_LINKS) so that no territory bridges two pieces of one land mass
        added = set()
        mainland = np.flatnonzero(label == int(np.argmax(sizes)))
        tree = cKDTree(points[mainland])
        reach = min(ISLAND_LINKS, len(mainland))
        for piece in np.flatnonzero(np.arange(count) != int(np.argmax(sizes))):
            inside = np.flatnonzero(label == piece)
            dist, near = tree.query(points[inside], k=reach)
            dist = np.asarray(dist).reshape(len(inside), reach)
            near = np.asarray(near).reshape(len(inside), reach)
            for flat in np.argsort(dist, axis=None)[:ISLAND_LINKS]:
                i, r = divmod(int(flat), reach)
                u, v = int(inside[i]), int(mainland[near[i, r]])
                added.add((min(u, v), max(u, v)))
        links.extend(sorted(added))
        current = np.vstack([edges, np.array(links, dtype=np.int64).reshape(-1, 2)])
    if links:
        log.info("areas: %d islands joined by links", len(links))
    all_edges = np.vstack([edges, np.array(links, dtype=np.int64).reshape(-1, 2)])
    flags = np.r_[np.zeros(len(edges), bool), np.ones(len(links), bool)]
    order = np.lexsort((all_edges[:, 1], all_edges[:, 0]))
    return all_edges[order], flags[order]


# --------------------------------------------------------------------------------------
# The dashboard's count
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PieceCount:
    """How many territories are in one piece (:func:`territory_pieces`).

    ``on_land``: on shared county borders alone. ``joined``: in one piece on each land
    mass it touches, so only water separates its pieces (a territory must reach an
    island, Hawaii or Alaska across the water when the island alone is too small for a
    territory; the design links each land mass to the mainland once).
    """

    territories: int
    on_land: int
    joined: int


def territory_pieces(assignments: pd.DataFrame) -> PieceCount:
    """How many territories are in one piece on real county borders (the dashboard's count).

    ``assignments`` has one row per account: ``territory`` and ``latitude``,
    ``longitude`` (degrees) or ``county_fips``. A territory's footprint is the set of
    counties holding its accounts; it counts when those counties are connected by
    shared borders, passing through counties that hold no account at all (empty land
    belongs to no one). A county shared by territories (a split county) is in each
    one's footprint. Accounts without a location or territory are ignored.
    """
    if "territory" not in assignments.columns:
        raise ConfigError("assignments need a 'territory' column")
    rows = assignments[assignments["territory"].notna()]
    if "county_fips" in rows.columns:
        county = rows["county_fips"].astype("string").fillna("").str.zfill(5).to_numpy(object)
        county = np.where(county == "00000", "", county)
    else:
        if not {"latitude", "longitude"} <= set(rows.columns):
            raise ConfigError("assignments need latitude/longitude or county_fips columns")
        county = locate_counties(
            pd.to_numeric(rows["latitude"], errors="coerce").to_numpy(),
            pd.to_numeric(rows["longitude"], errors="coerce").to_numpy(),
        )
    foot = pd.DataFrame({"t": rows["territory"].astype(str).to_numpy(), "c": county})
    foot = foot[foot["c"] != ""].drop_duplicates()
    if foot.empty:
        return PieceCount(0, 0, 0)
    states = {c[:2] for c in foot["c"]}
    fips = [f for f in sorted(county_geometries()) if f[:2] in states]
    pos = {f: i for i, f in enumerate(fips)}
    n = len(fips)
    borders = county_border_pairs(fips)

    def labels(e: IntArray) -> IntArray:
        graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        return connected_components(graph, directed=False)[1]

    land_mass = labels(borders)
    occupied = np.zeros(n, dtype=bool)
    occupied[[pos[c] for c in foot["c"].unique()]] = True
    on_land = joined = 0
    groups = foot.groupby("t")
    for _, group in groups:
        mine = np.zeros(n, dtype=bool)
        mine[[pos[c] for c in group["c"]]] = True
        usable = mine | ~occupied
        piece = labels(borders[usable[borders[:, 0]] & usable[borders[:, 1]]])[mine]
        pieces = len(np.unique(piece))
        on_land += int(pieces == 1)
        # one piece on each land mass it touches: only water separates its pieces
        joined += int(pieces == len(np.unique(land_mass[mine])))
    return PieceCount(territories=groups.ngroups, on_land=on_land, joined=joined)


def contiguous_territories(assignments: pd.DataFrame) -> int:
    """How many territories are in one piece on shared land borders alone (see
    :func:`territory_pieces`; an island and the mainland are two pieces here)."""
    return territory_pieces(assignments).on_land


__all__ = [
    "DEFAULT_SPLIT_SHARE",
    "AreaUnits",
    "Contiguity",
    "PieceCount",
    "contiguity_of",
    "contiguous_territories",
    "county_border_pairs",
    "county_units",
    "locate_counties",
    "territory_pieces",
]
