"""Radius lists for the capacitated p-median Lagrangian (``pmedian_bound.radius_lists``).

A unit ``i`` can only enter centre ``j``'s knapsack when ``c_ij < u_i``. Listing, for
each unit, every ``j`` with ``c_ij < cap_i`` keeps ``L(u)`` equal to the all-pairs dual
function for every ``u <= cap``, without a cap tied to a fixed list length.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.design.test_free_centres import brute_force, tiny

from territorial.design import pmedian_bound as pb
from territorial.design.solvers import current_clock

EARTH = 3958.8


def _points(rng, n, sphere):
    if not sphere:
        return rng.uniform(0, 100, (n, 2)), 0.0
    lat = np.radians(rng.uniform(30, 45, n))
    lon = np.radians(rng.uniform(-100, -80, n))
    pts = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    return pts, EARTH


def _dense_cost(pts, w, power, radius):
    n = len(pts)
    return np.array(
        [[w[i] * pb.point_distance(pts, i, j, radius) ** power for j in range(n)] for i in range(n)]
    )


@pytest.mark.parametrize("sphere", [False, True])
@pytest.mark.parametrize("power", [1, 2])
def test_radius_lists_hold_exactly_the_pairs_below_each_cap(sphere, power):
    rng = np.random.default_rng(11 + power)
    n = 250
    pts, radius = _points(rng, n, sphere)
    w = rng.uniform(0.5, 2.0, n)
    w[:4] = 0.0  # weightless units cost nothing anywhere
    cost = _dense_cost(pts, w, power, radius)
    cap = rng.uniform(0, np.median(cost) * 0.6, n)
    cap[4:8] = 0.0
    lists = pb.radius_lists(pts, w, cap, power=power, radius=radius)
    owner = np.repeat(np.arange(n), np.diff(lists.ptr))  # the candidate centre j
    got = set(zip(lists.who.tolist(), owner.tolist(), strict=True))
    want = {(i, j) for i in range(n) for j in range(n) if cost[i, j] < cap[i]}
    assert got == want
    assert len(got) == lists.entries  # no pair twice
    np.testing.assert_allclose(lists.cost, cost[lists.who, owner], rtol=1e-12)
    np.testing.assert_array_equal(lists.rest, cap)


@pytest.mark.parametrize("sphere", [False, True])
@pytest.mark.parametrize("power", [1, 2])
def test_the_dual_on_radius_lists_equals_the_all_pairs_dual(sphere, power):
    rng = np.random.default_rng(5 * power + sphere)
    n, p = 200, 8
    pts, radius = _points(rng, n, sphere)
    w = rng.uniform(0.5, 2.0, n)
    loads = rng.uniform(1, 3, (n, 2))
    cap_rows = loads.sum(axis=0) / p * 1.05
    dense = pb.candidate_lists(pts, w, power=power, radius=radius, k_nearest=n)
    caps = rng.uniform(0, np.median(dense.cost) * 0.5, n)
    lists = pb.radius_lists(pts, w, caps, power=power, radius=radius)
    assert lists.entries < dense.entries
    for _ in range(5):
        u = caps * rng.uniform(-0.2, 1.0, n)  # any u <= cap
        a = pb.evaluate(dense, u, loads, cap_rows, p)
        b = pb.evaluate(lists, u, loads, cap_rows, p)
        np.testing.assert_allclose(b.rho, a.rho, rtol=1e-9, atol=1e-9)
        assert b.value == pytest.approx(a.value, rel=1e-9, abs=1e-9)


def test_radius_lists_lift_the_nearest_list_cap_and_agree_below_it():
    """At the same ``u`` (below the nearest-list caps) both lists give the same value;
    the radius lists also evaluate ``u`` above those caps, exactly."""
    pts, demand = tiny(7, n=40)
    n, p = len(pts), 4
    cap = np.array([np.ceil(demand.sum() / p * 1.1)])
    near = pb.candidate_lists(pts, np.ones(n), power=1, radius=0.0, k_nearest=5)
    dense = pb.candidate_lists(pts, np.ones(n), power=1, radius=0.0, k_nearest=n)
    rng = np.random.default_rng(2)
    u = np.minimum(rng.uniform(0, 60, n), near.rest)
    by_radius = pb.radius_lists(pts, np.ones(n), near.rest, power=1, radius=0.0)
    a = pb.evaluate(near, u, demand[:, None], cap, p)
    b = pb.evaluate(by_radius, u, demand[:, None], cap, p)
    assert b.value == pytest.approx(a.value, rel=1e-12)
    high = near.rest * 3.0  # beyond the nearest lists' caps
    wide = pb.radius_lists(pts, np.ones(n), high, power=1, radius=0.0)
    v = pb.evaluate(wide, high, demand[:, None], cap, p).value
    assert v == pytest.approx(pb.evaluate(dense, high, demand[:, None], cap, p).value, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("power", [1, 2])
def test_the_radius_ascent_never_exceeds_the_brute_force_optimum(seed, power):
    pts, demand = tiny(seed)
    n, p = len(pts), 3
    cap = float(np.ceil(demand.sum() / p * 1.15))
    opt = brute_force(pts, demand, cap, p, power)
    u0 = np.full(n, 10.0**power)
    res = pb.ascend_radius(
        pts, np.ones(n), demand[:, None], np.array([cap]), p, power=power, radius=0.0,
        u0=u0, upper=opt * 1.02, iterations=300, rebuild_every=5,
        deadline=current_clock().now() + 60,
    )  # fmt: skip
    assert res.best.value <= opt + 1e-6 * max(1.0, opt)
    assert res.best.value >= res.history[0]
    # the bound is tight enough to say something on these tiny instances
    assert res.best.value > 0.5 * opt


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solving_only_the_smallest_knapsacks_gives_the_same_dual(seed):
    rng = np.random.default_rng(seed)
    n, p = 300, 6
    pts = rng.uniform(0, 100, (n, 2))
    loads = rng.uniform(1, 3, (n, 2))
    cap_rows = loads.sum(axis=0) / p * 1.05
    dense = pb.candidate_lists(pts, np.ones(n), power=2, radius=0.0, k_nearest=n)
    for _ in range(4):
        u = rng.uniform(-50, 600, n)
        a = pb.evaluate(dense, u, loads, cap_rows, p)
        b = pb.evaluate_smallest(dense, u, loads, cap_rows, p)
        assert b.value == pytest.approx(a.value, rel=1e-12, abs=1e-9)
        assert set(b.chosen.tolist()) == set(a.chosen.tolist())
        np.testing.assert_allclose(b.rho[b.chosen], a.rho[b.chosen])
        np.testing.assert_allclose(b.cover, a.cover, atol=1e-12)
        # every knapsack left unsolved is at least the p-th smallest value
        kth = np.sort(a.rho)[p - 1]
        assert (a.rho[~np.isfinite(b.rho)] >= kth - 1e-9).all()


@pytest.mark.parametrize("objective", ["inertia", "median"])
def test_the_engine_bound_by_radius_stays_below_a_proven_optimum(objective):
    """``bounds.free_center_bound`` lists by radius once nearest lists would not hold
    every pair (here 60 units > 33); with or without the plan's costs as a start it stays
    below the optimum the exact free-centres model proves."""
    from territorial.design import Balance, DesignProblem
    from territorial.design.bounds import free_center_bound
    from territorial.design.free_centres import FreeCentreOptions, solve_free_centres

    rng = np.random.default_rng(4)
    n, k = 60, 3
    xy = rng.uniform(0, 100, (n, 2))
    demand = rng.integers(1, 10, n).astype(float)
    problem = DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(n)]), coords=xy, measures=demand[:, None],
        measure_names=("demand",), n_territories=k, balance=(Balance("demand", 0.1),),
        objective=objective, coord_kind="xy",
    )  # fmt: skip
    power = 2 if objective == "inertia" else 1
    mean = demand.sum() / k
    exact = solve_free_centres(
        xy, p=k, power=power, loads=demand[:, None], lower=np.array([mean * 0.9]),
        upper=np.array([mean * 1.1]), options=FreeCentreOptions(time_limit=120),
    )  # fmt: skip
    assert exact.proven_optimal
    opt = exact.objective
    plan = exact.centres[exact.assignment]
    costs = np.sqrt(((xy - xy[plan]) ** 2).sum(axis=1)) ** power
    for start in (None, costs):
        b = free_center_bound(problem, upper=opt, time_limit=20, plan_costs=start)
        assert b is not None and 0.9 * opt < b <= opt * (1 + 1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pruning_at_any_prices_gives_the_same_dual(seed):
    """The weak-duality floor holds for every price >= 0: exact, stale, random or wild
    prices change how many knapsacks are solved, never the value."""
    rng = np.random.default_rng(seed)
    n, p = 300, 6
    pts = rng.uniform(0, 100, (n, 2))
    loads = rng.uniform(1, 3, (n, 2))
    cap_rows = loads.sum(axis=0) / p * 1.05
    dense = pb.candidate_lists(pts, np.ones(n), power=2, radius=0.0, k_nearest=n)
    for _ in range(3):
        u = rng.uniform(-50, 900, n)
        a = pb.evaluate(dense, u, loads, cap_rows, p)
        for price in (a.pi, rng.uniform(0, 2 * a.pi.max() + 1, n), np.full(n, 1e6)):
            b = pb.evaluate_smallest(dense, u, loads, cap_rows, p, price=price)
            assert b.value == pytest.approx(a.value, rel=1e-12, abs=1e-9)
            np.testing.assert_allclose(b.cover, a.cover, atol=1e-12)
        # at the exact critical ratios hardly more than the p smallest are solved
        exact = pb.evaluate_smallest(dense, u, loads, cap_rows, p, price=a.pi)
        blind = pb.evaluate_smallest(dense, u, loads, cap_rows, p)
        assert np.isfinite(exact.rho).sum() <= np.isfinite(blind.rho).sum()


def test_groups_keep_the_totals_and_share_multipliers_by_weight():
    rng = np.random.default_rng(5)
    n = 200
    pts = rng.uniform(0, 100, (n, 2))
    w = rng.uniform(0.5, 2.0, n)
    loads = rng.uniform(1, 3, (n, 2))
    agg = pb.aggregate(pts, w, loads, 30, radius=0.0, seed=1)
    assert agg.points.shape == (30, 2) and agg.label.min() == 0 and agg.label.max() == 29
    np.testing.assert_allclose(agg.weights.sum(), w.sum())
    np.testing.assert_allclose(agg.loads.sum(axis=0), loads.sum(axis=0))
    # every unit joined its nearest seed: its centroid lies within the group's units' hull
    for g in range(30):
        members = pts[agg.label == g]
        assert (agg.points[g] >= members.min(axis=0) - 1e-9).all()
        assert (agg.points[g] <= members.max(axis=0) + 1e-9).all()
    group_u = rng.uniform(0, 50, 30)
    u = agg.scatter(group_u, w)
    np.testing.assert_allclose(agg.gather(u), group_u)
    # on a sphere the centroids are unit vectors again
    sphere, _ = _points(rng, n, True)
    on_sphere = pb.aggregate(sphere, w, loads, 20, radius=EARTH)
    np.testing.assert_allclose(np.linalg.norm(on_sphere.points, axis=1), 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("power", [1, 2])
@pytest.mark.parametrize("rows", [1, 2])
def test_coarse_to_fine_never_exceeds_the_brute_force_optimum(seed, power, rows):
    """Groups of 2 units first (the coarse value is no bound), then the units: the value
    returned is the units' dual and stays below the enumerated optimum, from any start,
    with one or two limited measures."""
    pts, demand = tiny(seed)
    n, p = len(pts), 2
    rng = np.random.default_rng(seed)
    loads = demand[:, None] if rows == 1 else np.column_stack([demand, rng.integers(1, 10, n)])
    cap = np.ceil(loads.sum(axis=0) / p * 1.15)
    opt = brute_force(pts, loads, cap, p, power)
    for start in (np.full(n, 10.0**power), np.zeros(n)):
        res = pb.ascend_coarse_to_fine(
            pts, np.ones(n), loads.astype(float), cap, p, power=power, radius=0.0, u0=start,
            upper=opt, deadline=current_clock().now() + 5, group_sizes=(2.0,),
            level_shares=(0.5,),
        )  # fmt: skip
        assert res is not None  # tiny: the units' pass fits
        assert res.best.value <= opt + 1e-6 * max(1.0, opt)
        dense = pb.candidate_lists(pts, np.ones(n), power=power, radius=0.0, k_nearest=n)
        again = pb.evaluate(dense, res.best.u, loads.astype(float), cap, p).value
        assert res.best.value == pytest.approx(again, rel=1e-9, abs=1e-9)
        assert res.best.value > 0.5 * opt


def test_coarse_to_fine_gives_no_bound_rather_than_overrun_its_deadline():
    pts, demand = tiny(0)
    n = len(pts)
    cap = np.array([np.ceil(demand.sum() / 2 * 1.15)])
    # no time left: the units' pass (the only valid value) cannot fit, so no value
    res = pb.ascend_coarse_to_fine(
        pts, np.ones(n), demand[:, None].astype(float), cap, 2, power=1, radius=0.0,
        u0=np.ones(n), deadline=current_clock().now() - 1.0, group_sizes=(2.0,),
        level_shares=(0.5,),
    )  # fmt: skip
    assert res is None


def test_coarse_to_fine_needs_one_share_per_level():
    pts, demand = tiny(0)
    with pytest.raises(ValueError, match="one time share per level"):
        pb.ascend_coarse_to_fine(
            pts, np.ones(len(pts)), demand[:, None], np.array([20.0]), 2, power=1,
            radius=0.0, u0=np.zeros(len(pts)), deadline=current_clock().now() + 1,
            group_sizes=(4.0, 2.0), level_shares=(0.5,),
        )  # fmt: skip
