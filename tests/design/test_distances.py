"""Distances: great-circle miles, Euclidean, and graph shortest paths."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from territorial.design import distances as dist
from territorial.design.problem import DesignProblem


@pytest.mark.parametrize(
    ("a", "b", "miles"),
    [
        ((40.7128, -74.0060), (34.0522, -118.2437), 2445.6),  # New York - Los Angeles
        ((51.5074, -0.1278), (48.8566, 2.3522), 213.5),  # London - Paris
        ((0.0, 0.0), (0.0, 180.0), np.pi * dist.EARTH_RADIUS_MI),  # half the equator
        ((10.0, 10.0), (10.0, 10.0), 0.0),
    ],
)
def test_haversine_miles(a: tuple[float, float], b: tuple[float, float], miles: float) -> None:
    assert dist.haversine_miles(np.array(a), np.array(b)) == pytest.approx(miles, abs=0.5)


def test_chord_on_the_unit_sphere_converts_back_to_great_circle_miles() -> None:
    rng = np.random.default_rng(1)
    a = np.column_stack([rng.uniform(-80, 80, 50), rng.uniform(-180, 180, 50)])
    b = np.column_stack([rng.uniform(-80, 80, 50), rng.uniform(-180, 180, 50)])
    chord = np.linalg.norm(dist.to_unit_sphere(a) - dist.to_unit_sphere(b), axis=1)
    np.testing.assert_allclose(dist.chord_to_miles(chord), dist.haversine_miles(a, b), rtol=1e-9)
    np.testing.assert_allclose(dist.from_unit_sphere(dist.to_unit_sphere(a)), a, atol=1e-9)


def test_chunked_blocks_match_a_full_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 10, (30, 2))
    problem = DesignProblem(
        unit_ids=np.arange(30).astype(str), coords=xy, measures=np.ones((30, 1)),
        measure_names=("accounts",), n_territories=3, coord_kind="xy",
    )  # fmt: skip
    monkeypatch.setattr(dist, "CHUNK_ELEMENTS", 7)
    full = np.zeros((30, 4))
    for sl, block in dist.distances_to_points(problem, np.arange(30), xy[:4]):
        full[sl] = block
    np.testing.assert_allclose(full, cdist(xy, xy[:4]))


def test_graph_distances_follow_edge_lengths() -> None:
    # a path 0 - 1 - 2 with lengths 1 and 2, and a long shortcut 0 - 2 of length 5
    problem = DesignProblem(
        unit_ids=np.array(["a", "b", "c"]), coords=np.zeros((3, 2)), measures=np.ones((3, 1)),
        measure_names=("accounts",), n_territories=1, coord_kind="xy",
        edges=np.array([[0, 1], [1, 2], [0, 2]]), edge_lengths=np.array([1.0, 2.0, 5.0]),
    )  # fmt: skip
    assert problem.distance == "graph"
    assert dist.graph_distances_from(problem, np.array([0]))[0].tolist() == [0.0, 1.0, 3.0]
