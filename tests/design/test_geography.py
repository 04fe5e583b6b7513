"""Adjacency of counties (us-atlas), H3 cells and Delaunay points; ellipsoidal distance."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from territorial.design.geography import (
    county_adjacency,
    county_centroids,
    county_fips,
    county_names,
    delaunay_adjacency,
    geodesic_miles,
    h3_adjacency,
)
from territorial.errors import ConfigError

OKLAHOMA = [f for f in county_fips() if f.startswith("40")]


def _pairs(fips, edges):
    return {frozenset((fips[a], fips[b])) for a, b in edges.tolist()}


@pytest.mark.parametrize(
    ("a", "b", "adjacent"),
    [
        ("40109", "40027", True),  # Oklahoma County - Cleveland County
        ("40109", "40017", True),  # Oklahoma County - Canadian County
        ("40143", "40131", True),  # Tulsa - Rogers
        ("40109", "40143", False),  # Oklahoma County - Tulsa County
        ("40027", "40001", False),  # Cleveland - Adair (far east)
    ],
)
def test_oklahoma_county_borders(a, b, adjacent):
    edges, lengths = county_adjacency(OKLAHOMA)
    assert (frozenset((a, b)) in _pairs(OKLAHOMA, edges)) is adjacent
    assert (lengths > 0).all()


def test_oklahoma_has_77_counties_and_borders_cross_state_lines():
    assert len(OKLAHOMA) == 77
    edges, _ = county_adjacency(["40109", "40027", "48485"])  # Wichita County, TX is not next
    assert _pairs(["40109", "40027", "48485"], edges) == {frozenset(("40109", "40027"))}
    edges, _ = county_adjacency(["40035", "20021"])  # Ottawa OK - Cherokee KS share the line
    assert len(edges) == 1


def test_county_names_and_centroids():
    assert county_names(["40109"]) == ["Oklahoma"]
    lat, lon = county_centroids(["40109"])[0]
    assert 35.3 < lat < 35.8 and -97.8 < lon < -97.1
    with pytest.raises(ConfigError, match="not in us-atlas"):
        county_adjacency(["99999"])


def test_h3_neighbours_of_a_disk():
    center = h3.latlng_to_cell(35.47, -97.52, 7)
    cells = sorted(h3.grid_disk(center, 1))
    edges, lengths = h3_adjacency(cells)
    # a hexagon and its ring: 6 spokes + 6 ring edges
    assert len(edges) == 12
    assert all(h3.are_neighbor_cells(cells[a], cells[b]) for a, b in edges.tolist())
    assert np.allclose(lengths, lengths.mean(), rtol=0.05)


def test_delaunay_edges_are_unique_ordered_and_prune_a_far_outlier():
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.uniform([35, -98], [36, -97], (60, 2)), [[45.0, -80.0]]])
    edges, lengths = delaunay_adjacency(pts, prune_factor=3.0)
    assert (edges[:, 0] < edges[:, 1]).all()
    assert len({tuple(e) for e in edges.tolist()}) == len(edges)
    as_set = {frozenset(e) for e in edges.tolist()}
    assert all(frozenset((b, a)) in as_set for a, b in edges.tolist())  # symmetric as a graph
    outlier = edges[(edges == 60).any(axis=1)]
    assert len(outlier) == 1  # only its shortest edge survives the pruning
    assert (lengths > 0).all()


def test_delaunay_joins_duplicate_points_with_zero_length():
    pts = np.array([[35.0, -97.0], [35.0, -97.0], [35.1, -97.0], [35.0, -97.1]])
    edges, lengths = delaunay_adjacency(pts)
    zero = edges[lengths == 0].tolist()
    assert zero == [[0, 1]]


@pytest.mark.parametrize(
    ("p", "q", "miles"),
    [
        ((0.0, 0.0), (0.0, 1.0), 111319.491 / 1609.344),  # one degree of longitude at the equator
        ((0.0, 0.0), (1.0, 0.0), 110574.389 / 1609.344),  # one degree of latitude from the equator
        ((35.47, -97.52), (35.47, -97.52), 0.0),
    ],
)
def test_geodesic_miles_known_values(p, q, miles):
    assert float(geodesic_miles(p[0], p[1], q[0], q[1])) == pytest.approx(miles, abs=1e-4)


def test_compact_groups_have_equal_load_and_are_compact() -> None:
    from territorial.design.geography import compact_groups

    rng = np.random.default_rng(0)
    lat = np.concatenate([rng.normal(40.7, 0.05, 3000), rng.uniform(30, 48, 1000)])
    lon = np.concatenate([rng.normal(-74.0, 0.05, 3000), rng.uniform(-120, -75, 1000)])
    load = rng.lognormal(0, 0.3, len(lat))
    groups = compact_groups(lat, lon, load, 40)
    assert set(groups.tolist()) == set(range(40))
    per = np.bincount(groups, weights=load)
    # equal load up to one point's load (the cut falls between two points)
    assert per.max() - per.min() <= 2 * load.max() + 1e-9
    # the dense city is cut into several groups, not lumped into one (unlike a grid cell)
    assert len(set(groups[:3000].tolist())) >= 25
    assert np.array_equal(groups, compact_groups(lat, lon, load, 40))


def test_compact_groups_rejects_a_bad_count() -> None:
    from territorial.design.geography import compact_groups

    with pytest.raises(ConfigError, match="n_groups"):
        compact_groups(np.zeros(3), np.zeros(3), np.ones(3), 4)
