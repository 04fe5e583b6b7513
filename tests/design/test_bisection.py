"""Spanning-tree bisection and ReCom recuts: hand-drawn graphs and real county maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territorial.design.areas import contiguity_of, county_units
from territorial.design.bisection import (
    BisectionOptions,
    Target,
    bisection_plan,
    recut_unbalanced,
)
from territorial.design.contiguity import (
    ContiguousOptions,
    adjacency_csr,
    is_contiguous,
    search_arrays,
    solve_contiguous,
    two_way_refiner,
)
from territorial.design.geography import county_adjacency, county_centroids, county_fips
from territorial.design.problem import Balance, DesignProblem
from territorial.design.solvers import choose_solver
from territorial.errors import ConfigError

#: The solver's bisection start on maps of any size (``auto`` keeps it for large maps).
BISECT = ContiguousOptions(construction="bisection")


def _connected_territories(n: int, edges: np.ndarray, assign: np.ndarray) -> bool:
    problem = DesignProblem(
        unit_ids=np.array([str(i) for i in range(n)]),
        coords=np.zeros((n, 2)),
        measures=np.ones((n, 1)),
        measure_names=("one",),
        n_territories=int(assign.max()) + 1,
        edges=edges,
        contiguity=True,
    )
    return is_contiguous(search_arrays(problem), assign)


def _totals(assign: np.ndarray, loads: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, loads.shape[1]))
    np.add.at(out, assign, loads)
    return out


# --------------------------------------------------------------------------------------
# Hand-drawn graphs
# --------------------------------------------------------------------------------------
def test_a_path_of_six_equal_units_cuts_into_its_three_pairs() -> None:
    # 0 - 1 - 2 - 3 - 4 - 5, one unit of load each, three territories of two:
    # the path is its own only spanning tree, and only {01}{23}{45} is balanced
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    loads = np.ones((6, 1))
    plan = bisection_plan(
        6, edges, loads, 3, Target(np.array([2.0]), np.array([0.0])),
        rng=np.random.default_rng(0),
    )  # fmt: skip
    groups = {frozenset(np.flatnonzero(plan.assignment == t).tolist()) for t in range(3)}
    assert groups == {frozenset({0, 1}), frozenset({2, 3}), frozenset({4, 5})}
    assert plan.splits == 2 and plan.splits_out_of_band == 0


def test_a_heavy_unit_makes_an_uneven_split_and_the_band_is_reported() -> None:
    #   0 - 1 - 2 - 3        loads 3, 1, 1, 1: two territories of 3 are {0}{123};
    #                        with loads 4, 1, 1, 0 no cut is within 10% (the best is {0}{123})
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    ok = bisection_plan(
        4, edges, np.array([[3.0], [1], [1], [1]]), 2, Target(np.array([3.0]), np.array([0.1])),
        rng=np.random.default_rng(1),
    )  # fmt: skip
    assert ok.assignment[0] != ok.assignment[1] and len(set(ok.assignment[1:].tolist())) == 1
    assert ok.splits_out_of_band == 0
    bad = bisection_plan(
        4, edges, np.array([[4.0], [1], [1], [0]]), 2, Target(np.array([3.0]), np.array([0.1])),
        rng=np.random.default_rng(1),
    )  # fmt: skip
    assert bad.splits_out_of_band == 1
    assert bad.assignment[0] != bad.assignment[1]


def test_disconnected_graph_is_refused() -> None:
    with pytest.raises(ValueError, match="connected"):
        bisection_plan(
            4, np.array([[0, 1], [2, 3]]), np.ones((4, 1)), 2,
            Target(np.array([2.0]), np.array([0.1])), rng=np.random.default_rng(0),
        )  # fmt: skip


def test_contiguity_counts_islands_across_their_links_and_catches_bridges() -> None:
    #   mainland 0 - 1 - 2 - 3     island 4, linked (over water) to 1 and to 3
    edges = np.array([[0, 1], [1, 2], [2, 3], [1, 4], [3, 4]])
    links = np.array([False, False, False, True, True])
    # {0,1,4} {2,3}: territory 0 reaches its island through a link
    c = contiguity_of(5, edges, links, np.array([0, 0, 1, 1, 0]))
    assert (c.contiguous_real_borders, c.contiguous_with_island_links) == (1, 2)
    assert c.across_water == (0,) and c.broken == ()
    # {1,3,4} {0,2}: two mainland pieces joined through the island are not contiguous
    c = contiguity_of(5, edges, links, np.array([1, 0, 1, 0, 0]))
    assert c.contiguous_with_island_links == 0
    assert set(c.broken) == {0, 1}


# --------------------------------------------------------------------------------------
# Real county maps of several states
# --------------------------------------------------------------------------------------
STATES = {"19": "Iowa", "13": "Georgia", "08": "Colorado", "40": "Oklahoma"}


def _state(prefix: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fips = [f for f in county_fips() if f.startswith(prefix)]
    edges, _ = county_adjacency(fips)
    rng = np.random.default_rng(seed)
    # two measures that do not move together: potential (dollars) and workload (hours)
    potential = rng.gamma(2.0, 50_000.0, len(fips))
    workload = rng.uniform(20.0, 200.0, len(fips))
    return np.array(fips), edges, np.column_stack([potential, workload])


@pytest.mark.parametrize("prefix", sorted(STATES))
def test_bisection_and_recuts_balance_a_state_in_connected_territories(prefix: str) -> None:
    fips, edges, loads = _state(prefix, seed=int(prefix))
    k, band = 6, 0.10
    target = Target(loads.sum(axis=0) / k, np.array([band, band]))
    n = len(fips)
    rng = np.random.default_rng(3)
    scale = loads.sum(axis=0) / k
    refine = two_way_refiner(loads, scale, rng)
    plan = bisection_plan(n, edges, loads, k, target, rng=rng, refine=refine)
    assign = plan.assignment
    assert sorted(set(assign.tolist())) == list(range(k))
    assert _connected_territories(n, edges, assign)
    recut_unbalanced(edges, loads, assign, target, rng=rng, refine=refine)
    assert _connected_territories(n, edges, assign)
    deviation = np.abs(_totals(assign, loads, k) / target.mean - 1.0)
    assert deviation.max() <= band + 1e-9, f"{STATES[prefix]}: {deviation.max():.3f}"


def test_same_seed_same_bisection() -> None:
    fips, edges, loads = _state("13", seed=5)
    target = Target(loads.sum(axis=0) / 8, np.array([0.1, 0.1]))
    runs = [
        bisection_plan(len(fips), edges, loads, 8, target, rng=np.random.default_rng(9))
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].assignment, runs[1].assignment)
    other = bisection_plan(len(fips), edges, loads, 8, target, rng=np.random.default_rng(10))
    assert not np.array_equal(runs[0].assignment, other.assignment)


def _state_problem(prefix: str, k: int, tol: float, **extra) -> DesignProblem:
    fips, edges, loads = _state(prefix, seed=int(prefix))
    return DesignProblem(
        unit_ids=fips,
        coords=county_centroids(list(fips)),
        measures=loads,
        measure_names=("potential", "workload"),
        n_territories=k,
        balance=(Balance("potential", tol), Balance("workload", tol)),
        objective="inertia",
        weight="workload",
        coord_kind="latlon",
        edges=edges,
        contiguity=True,
        **extra,
    )


@pytest.mark.parametrize("prefix", ["19", "08"])
def test_contiguous_solver_starts_from_the_bisection_on_county_problems(prefix: str) -> None:
    problem = _state_problem(prefix, 5, 0.05)
    assert choose_solver(problem)[0] == "contiguous"
    out = solve_contiguous(problem, time_limit=60, seed=2, max_rounds=3, options=BISECT)
    arrays = search_arrays(problem)
    assert out.stats["construction"] == "bisection"
    assert out.stats["feasible"] and is_contiguous(arrays, out.assignment)
    assert out.stats["hit_time_limit"] is False  # the round cap stopped it
    deviation = np.abs(_totals(out.assignment, problem.measures, 5) / arrays.scale - 1.0)
    assert deviation.max() <= 0.05 + 1e-9


def test_bisection_builds_plans_within_each_reps_capacity_limits() -> None:
    # reps' capacities differ: two territories may hold at most the band's middle of
    # workload, one at least it; the pieces are cut to the ±5% band, matched to the
    # territories whose limits they meet, and the repair moves the rest
    from territorial.design.problem import Limit

    base = _state_problem("19", 5, 0.05)
    mean = base.measures[:, 1].sum() / 5
    upper = np.array([mean, mean, np.nan, np.nan, np.nan])
    lower = np.array([np.nan, np.nan, mean, np.nan, np.nan])
    problem = _state_problem("19", 5, 0.05, limits=(Limit("workload", lower, upper),))
    out = solve_contiguous(problem, time_limit=60, seed=3, max_rounds=3, options=BISECT)
    arrays = search_arrays(problem)
    assert out.stats["construction"] == "bisection"
    assert out.stats["feasible"] and is_contiguous(arrays, out.assignment)
    totals = _totals(out.assignment, problem.measures, 5)
    assert (totals[:2, 1] <= mean * (1 + 1e-9)).all()
    assert totals[2, 1] >= mean * (1 - 1e-9)
    assert (np.abs(totals / arrays.scale[:2] - 1.0) <= 0.05 + 1e-9).all()


def test_bisection_names_the_territory_whose_limits_leave_no_room() -> None:
    from territorial.design.problem import Limit

    base = _state_problem("19", 5, 0.05)
    mean = base.measures[:, 1].sum() / 5
    upper = np.array([0.5 * mean, np.nan, np.nan, np.nan, np.nan])
    problem = _state_problem("19", 5, 0.05, limits=(Limit("workload", None, upper),))
    message = "bisection cannot build this plan: territory 'T001' has no room on 'workload'"
    with pytest.raises(ConfigError, match=message):
        solve_contiguous(problem, time_limit=30, seed=0, options=BISECT)


def test_bisection_is_refused_with_the_reason_and_growing_runs_instead() -> None:
    locked = np.full(99, -1)
    locked[0] = 2
    problem = _state_problem("19", 4, 0.1, locked=locked)
    out = solve_contiguous(problem, time_limit=30, seed=0, max_rounds=2)
    assert out.stats["construction"] == "growing"
    free = _state_problem("19", 4, 0.1)
    small = solve_contiguous(free, time_limit=30, seed=0, max_rounds=2)
    assert small.stats["construction"] == "growing"  # auto: 99 counties grow their plan
    assert "locked" in out.stats["bisection_refused"]
    with pytest.raises(ConfigError, match="bisection cannot build this plan: locked"):
        solve_contiguous(
            problem, time_limit=30, seed=0, options=ContiguousOptions(construction="bisection")
        )
    with pytest.raises(ConfigError, match="construction must be"):
        ContiguousOptions(construction="tree")  # type: ignore[arg-type]


def test_time_limit_is_recorded_when_it_stops_the_search() -> None:
    problem = _state_problem("13", 8, 0.05)
    out = solve_contiguous(problem, time_limit=0.01, seed=0, options=BISECT)
    assert out.stats["hit_time_limit"] is True
    assert sorted(set(out.assignment.tolist())) == list(range(8))  # still a whole plan


def test_fixed_centres_are_matched_to_the_pieces() -> None:
    # rep homes in four corners of Iowa: each territory should hold its rep's county
    corners = ["19119", "19005", "19155", "19111"]  # Lyon, Allamakee, Pottawattamie, Lee
    centres = county_centroids(corners)
    problem = _state_problem("19", 4, 0.1, centers=centres)
    out = solve_contiguous(problem, time_limit=60, seed=1, max_rounds=3, options=BISECT)
    assert out.stats["construction"] == "bisection"
    ids = list(problem.unit_ids)
    held = [int(out.assignment[ids.index(f)]) for f in corners]
    assert held == [0, 1, 2, 3]


# --------------------------------------------------------------------------------------
# Islands: Nantucket and Martha's Vineyard reach the mainland through links
# --------------------------------------------------------------------------------------
def test_massachusetts_islands_join_a_territory_through_their_links() -> None:
    rng = np.random.default_rng(4)
    places = [
        (42.36, -71.06, 120),  # Boston
        (42.26, -71.80, 60),  # Worcester
        (42.10, -72.59, 60),  # Springfield
        (41.65, -70.29, 30),  # Hyannis (Barnstable)
        (41.28, -70.10, 15),  # Nantucket
        (41.39, -70.51, 15),  # Edgartown (Dukes)
        (42.45, -73.25, 20),  # Pittsfield
    ]
    rows = [
        pd.DataFrame(
            {"latitude": lat + rng.normal(0, 0.01, n), "longitude": lon + rng.normal(0, 0.01, n)}
        )
        for lat, lon, n in places
    ]
    book = pd.concat(rows, ignore_index=True)
    book["id"] = [f"M{i}" for i in range(len(book))]
    book["workload"] = 1.0
    areas = county_units(book, measures=["workload"], n_territories=4, split_share=0.2)
    assert areas.links.any()  # the islands have no land border
    u = areas.units
    problem = DesignProblem(
        unit_ids=u["id"].to_numpy(),
        coords=u[["lat", "lon"]].to_numpy(),
        measures=u[["workload"]].to_numpy(),
        measure_names=("workload",),
        n_territories=4,
        balance=(Balance("workload", 0.15),),
        coord_kind="latlon",
        edges=areas.edges,
        edge_lengths=areas.edge_lengths,
        contiguity=True,
    )
    out = solve_contiguous(problem, time_limit=60, seed=0, max_rounds=5, options=BISECT)
    assert out.stats["feasible"]
    # the solver's adjacency counts the links: every territory is one piece with them
    assert is_contiguous(search_arrays(problem), out.assignment)
    c = areas.contiguity(out.assignment)
    assert c.broken == ()
    assert c.contiguous_with_island_links == 4
    assert c.across_water  # some territory holds an island it reaches over water
    assert c.contiguous_real_borders == 4 - len(c.across_water)


def test_refiner_moves_a_bad_cut_into_its_windows() -> None:
    # 0 - 1 - 2 - 3 - 4 - 5 with one unit each; a cut {0} | {1..5} into two windows of 3
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    loads = np.ones((6, 1))
    refine = two_way_refiner(loads, np.array([3.0]), np.random.default_rng(0))
    win = np.array([[[2.9, 3.1]], [[2.9, 3.1]]])
    side = refine(np.arange(6), edges, np.array([True, False, False, False, False, False]), win)
    assert side.tolist() == [True, True, True, False, False, False]
    assert adjacency_csr(6, edges)[0][-1] == 10  # the CSR the refiner builds: 5 edges both ways


def test_options_are_typed() -> None:
    opts = ContiguousOptions(bisection=BisectionOptions(trees_per_split=5))
    assert opts.bisection.trees_per_split == 5 and opts.construction == "auto"
