"""Free centres (capacitated p-median): bound <= optimum <= plan, limits held, auto picks it.

The optimum of each tiny instance is found by brute force: every choice of ``p``
centres, and for each every assignment of the other units (small enough to enumerate).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from territorial.design import Balance, DesignProblem, design
from territorial.design import pmedian_bound as pb
from territorial.design.free_centres import FreeCentreOptions, solve_free_centres
from territorial.design.problem import Limit
from territorial.design.solvers import choose_solver


def brute_force(points, demand, cap, p, power=1, lower=-np.inf):
    """Optimal cost of the capacitated p-median with centres among the units."""
    n = len(points)
    d = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1)) ** power
    best = np.inf
    for centres in itertools.combinations(range(n), p):
        others = [i for i in range(n) if i not in centres]
        for labels in itertools.product(range(p), repeat=len(others)):
            load = np.array([demand[c] for c in centres], dtype=float)
            cost = 0.0
            for i, t in zip(others, labels, strict=True):
                load[t] += demand[i]
                cost += d[i, centres[t]]
            if (load <= cap + 1e-9).all() and (load >= lower - 1e-9).all() and cost < best:
                best = cost
    return best


def tiny(seed, n=9):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100, size=(n, 2))
    demand = rng.integers(1, 10, size=n).astype(float)
    return pts, demand


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("power", [1, 2])
def test_tiny_instances_reach_the_brute_force_optimum(seed, power):
    pts, demand = tiny(seed)
    p = 3
    cap = float(np.ceil(demand.sum() / p * 1.15))
    opt = brute_force(pts, demand, cap, p, power)
    res = solve_free_centres(
        pts, p=p, power=power, loads=demand[:, None], upper=np.array([cap]),
        options=FreeCentreOptions(time_limit=120, iterations=300),
    )  # fmt: skip
    assert res.feasible
    load = np.bincount(res.assignment, weights=demand, minlength=p)
    assert (load <= cap + 1e-9).all()
    # every centre belongs to its own territory
    assert (res.assignment[res.centres] == np.arange(p)).all()
    assert res.lower_bound <= opt + 1e-6 <= res.objective + 2e-6
    assert res.objective == pytest.approx(opt, rel=1e-9)
    assert res.proven_optimal


def test_lower_limits_are_held_too():
    pts, demand = tiny(5)
    p = 3
    mean = demand.sum() / p
    lo, up = np.floor(mean * 0.9), np.ceil(mean * 1.1)
    opt = brute_force(pts, demand, up, p, 1, lower=lo)
    res = solve_free_centres(
        pts, p=p, loads=demand[:, None], lower=np.array([lo]), upper=np.array([up]),
        options=FreeCentreOptions(time_limit=120, iterations=300),
    )  # fmt: skip
    load = np.bincount(res.assignment, weights=demand, minlength=p)
    assert ((load >= lo - 1e-9) & (load <= up + 1e-9)).all()
    assert res.lower_bound <= opt + 1e-6 <= res.objective + 2e-6


@pytest.mark.parametrize("integral", [False, True])
def test_the_dual_value_never_exceeds_the_optimum(integral):
    """Any multipliers give a valid bound (fractional and 0-1 knapsacks)."""
    pts, demand = tiny(7)
    p = 3
    cap = float(np.ceil(demand.sum() / p * 1.1))
    opt = brute_force(pts, demand, cap, p)
    lists = pb.candidate_lists(pts, np.ones(len(pts)), power=1, radius=0.0, k_nearest=4)
    rng = np.random.default_rng(0)
    for _ in range(30):
        u = np.minimum(rng.uniform(0, 80, len(pts)), lists.rest)
        state = pb.evaluate(lists, u, demand[:, None], np.array([cap]), p, integral=integral)
        assert state.value <= opt + 1e-9


def test_a_larger_instance_keeps_capacity_and_a_valid_gap():
    rng = np.random.default_rng(3)
    n, p = 400, 20
    pts = rng.uniform(0, 1000, size=(n, 2))
    demand = rng.integers(1, 50, size=n).astype(float)
    cap = float(np.ceil(demand.sum() / p / 0.85))
    res = solve_free_centres(
        pts, p=p, loads=demand[:, None], upper=np.array([cap]),
        options=FreeCentreOptions(time_limit=15, iterations=400),
    )  # fmt: skip
    load = np.bincount(res.assignment, weights=demand, minlength=p)
    assert res.feasible and (load <= cap + 1e-9).all()
    assert 0 < res.lower_bound <= res.objective
    assert (res.objective - res.lower_bound) / res.objective < 0.05


def _problem(limits=(), balance=(), n=60, k=4, centers=None):
    rng = np.random.default_rng(11)
    pts = rng.uniform(0, 100, size=(n, 2))
    demand = rng.integers(1, 10, size=n).astype(float)
    return DesignProblem(
        unit_ids=np.array([f"u{i}" for i in range(n)]),
        coords=pts,
        measures=np.column_stack([demand, np.ones(n)]),
        measure_names=("demand", "one"),
        n_territories=k,
        objective="median",
        weight="one",
        coord_kind="xy",
        limits=tuple(limits),
        balance=tuple(balance),
        centers=centers,
    )


def test_auto_picks_free_centres_for_free_centre_problems():
    cap = float(np.ceil(_problem().measures[:, 0].sum() / 4 * 1.2))
    prob = _problem(limits=[Limit("demand", upper=cap)])
    name, reason = choose_solver(prob)
    assert name == "free-centres"
    assert "free centres" in reason
    result = design(prob, time_limit=20, seed=0)
    assert result.solver == "free-centres"
    assert result.feasible
    assert result.totals[:, 0].max() <= cap + 1e-9
    assert result.lower_bound is not None and result.lower_bound <= result.objective


def test_auto_leaves_fixed_centres_and_uneven_limits_to_others():
    centers = np.array([[10.0, 10.0], [90.0, 90.0], [10.0, 90.0], [90.0, 10.0]])
    assert choose_solver(_problem(centers=centers))[0] != "free-centres"
    uneven = _problem(limits=[Limit("demand", upper=np.array([200.0, 250.0, 300.0, 350.0]))])
    assert choose_solver(uneven)[0] != "free-centres"


def test_balance_bands_and_limits_combine():
    prob = _problem(balance=[Balance("demand", 0.10)], limits=[Limit("one", upper=17)])
    result = design(prob, solver="free-centres", time_limit=20, seed=0)
    assert result.feasible
    assert result.totals[:, 1].max() <= 17
    assert np.abs(result.deviations).max() <= 0.10 + 1e-9


@pytest.mark.parametrize("seed", [0, 4])
def test_the_final_0_1_knapsack_bound_is_tighter_and_still_valid(seed):
    """A fractional ascent re-evaluated once with 0-1 knapsacks: never lower, never
    above the brute-force optimum; off when its work budget is 0."""
    pts, demand = tiny(seed)
    p = 3
    cap = float(np.ceil(demand.sum() / p * 1.1))
    opt = brute_force(pts, demand, cap, p)
    common = dict(time_limit=20, iterations=200, knapsack_work=0, exact_pairs=0)
    res = solve_free_centres(
        pts, p=p, loads=demand[:, None], upper=np.array([cap]),
        options=FreeCentreOptions(**common, final_knapsack_work=1e9),
    )  # fmt: skip
    assert res.stats["integer_knapsacks"] is False
    final = res.stats["final_knapsack_bound"]
    assert res.stats["ascent_bound"] <= final + 1e-9
    assert final <= opt + 1e-6
    assert res.lower_bound <= opt + 1e-6 <= res.objective + 2e-6
    off = solve_free_centres(
        pts, p=p, loads=demand[:, None], upper=np.array([cap]),
        options=FreeCentreOptions(**common, final_knapsack_work=0),
    )  # fmt: skip
    assert "final_knapsack_bound" not in off.stats


def test_the_0_1_knapsack_beats_the_fractional_one_at_the_same_multipliers():
    pts, demand = tiny(2)
    p = 3
    cap = float(np.ceil(demand.sum() / p * 1.1))
    opt = brute_force(pts, demand, cap, p)
    lists = pb.candidate_lists(pts, np.ones(len(pts)), power=1, radius=0.0, k_nearest=9)
    rng = np.random.default_rng(1)
    strictly = 0
    for _ in range(30):
        u = np.minimum(rng.uniform(0, 120, len(pts)), lists.rest)
        frac = pb.evaluate(lists, u, demand[:, None], np.array([cap]), p).value
        whole = pb.evaluate(lists, u, demand[:, None], np.array([cap]), p, integral=True).value
        assert frac <= whole + 1e-9 <= opt + 2e-9
        strictly += whole > frac + 1e-9
    assert strictly > 0


@pytest.mark.parametrize("seed", [1, 3])
def test_group_mips_reach_the_optimum_when_the_whole_model_is_refused(seed):
    """``exact_pairs=0`` refuses the whole model: the group MIPs (here a group can hold
    every territory) improve the plan, and the bound stays below the optimum."""
    pts, demand = tiny(seed, n=10)
    p = 3
    cap = float(np.ceil(demand.sum() / p * 1.1))
    opt = brute_force(pts, demand, cap, p)
    res = solve_free_centres(
        pts, p=p, loads=demand[:, None], upper=np.array([cap]),
        options=FreeCentreOptions(time_limit=6, iterations=100, exact_pairs=0,
                                  group_time=0.5, group_size=1),
    )  # fmt: skip
    assert res.stats["group_mips"] > 0
    assert "exact_pairs" not in res.stats
    assert not res.proven_optimal
    load = np.bincount(res.assignment, weights=demand, minlength=p)
    assert (load <= cap + 1e-9).all()
    assert res.lower_bound <= opt + 1e-6
    assert res.objective == pytest.approx(opt, rel=1e-9)


def test_a_kick_recentres_a_few_territories_and_keeps_the_limits():
    from territorial.design import pmedian_exact
    from territorial.design.free_centres import Instance, Primal

    rng = np.random.default_rng(0)
    n, p = 80, 8
    pts = rng.uniform(0, 100, size=(n, 2))
    demand = rng.integers(1, 10, size=n).astype(float)
    cap = float(np.ceil(demand.sum() / p * 1.2))
    inst = Instance(pts, 0.0, np.ones(n), 1, demand[:, None], np.array([-np.inf]),
                    np.array([cap]), p)  # fmt: skip
    primal = Primal(inst, FreeCentreOptions())
    plan = primal.from_centres(np.arange(p) * 10)
    assert plan.feasible
    kicked = pmedian_exact._kick(inst, plan, primal, np.random.default_rng(3))
    assert kicked is not None and kicked.feasible
    assert len(np.unique(kicked.centres)) == p
    assert (kicked.load[:, 0] <= cap + 1e-9).all()
    assert (kicked.assign[kicked.centres] == np.arange(p)).all()


@pytest.mark.parametrize("power", [1, 2])
def test_swap_deltas_are_the_uncapacitated_cost_change_of_each_swap(power):
    from territorial.design.free_centres import _swap_deltas

    rng = np.random.default_rng(power)
    n, p = 12, 3
    pts = rng.uniform(0, 100, size=(n, 2))
    weights = rng.uniform(0.5, 2.0, size=n)
    d = weights[:, None] * np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1)) ** power
    centres = np.array([0, 5, 9])
    before = d[:, centres].min(axis=1).sum()
    delta = _swap_deltas(centres, pts, weights, power, 0.0)
    for t in range(p):
        for b in range(n):
            after_centres = centres.copy()
            after_centres[t] = b
            after = d[:, after_centres].min(axis=1).sum()
            assert delta[t, b] == pytest.approx(after - before, abs=1e-9)


def test_the_swap_search_moves_a_centre_to_the_cluster_without_one():
    """Three far-apart clusters (7, 8 and 3 units, capacity 12): the best plan is one
    territory per cluster. Started with two centres in the first cluster and none in the
    third (which then joins the second's territory, whose median stays in the second),
    the local moves and re-centring cannot fix it; one swap (a centre of the first
    cluster closed, a unit of the third opened) does."""
    from territorial.design.free_centres import Instance, Primal

    rng = np.random.default_rng(5)
    corners = np.array([[0.0, 0.0], [1000.0, 0.0], [1000.0, 600.0]])
    sizes = [7, 8, 3]
    pts = np.concatenate(
        [c + rng.uniform(-10, 10, size=(k, 2)) for c, k in zip(corners, sizes, strict=True)]
    )
    n, p = len(pts), 3
    inst = Instance(pts, 0.0, np.ones(n), 1, np.ones((n, 1)), np.array([-np.inf]),
                    np.array([12.0]), p)  # fmt: skip
    d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    clusters = np.split(np.arange(n), np.cumsum(sizes)[:-1])
    optimum = sum(d[np.ix_(k, k)].sum(axis=0).min() for k in clusters)
    primal = Primal(inst, FreeCentreOptions())
    start = primal.from_centres(np.array([0, 1, 7]))
    assert start.feasible and start.cost > optimum * 1.5
    swapped = primal.swap_improve(start)
    assert primal.swaps_taken >= 1
    assert swapped.feasible and (swapped.load[:, 0] <= 12.0 + 1e-9).all()
    assert swapped.cost == pytest.approx(optimum, rel=1e-9)
    off = Primal(inst, FreeCentreOptions(swap_candidates=0)).swap_improve(start)
    assert off.cost == start.cost


def test_the_solver_names_itself_and_takes_its_group_options():
    from territorial.design.free_centres_solver import FreeCentresOptions

    cap = float(np.ceil(_problem().measures[:, 0].sum() / 4 * 1.2))
    prob = _problem(limits=[Limit("demand", upper=cap)])
    opts = FreeCentresOptions(group_size=2, group_time=0.2, final_knapsack_work=0)
    result = design(prob, solver="free-centres", options=opts, time_limit=20, seed=0)
    assert result.solver == "free-centres"
    assert result.solver_reason == "asked for by name"
    assert result.feasible and result.totals[:, 0].max() <= cap + 1e-9
    assert result.lower_bound is not None and result.lower_bound <= result.objective


@pytest.mark.parametrize(
    ("field", "value"),
    [("group_size", 0), ("group_time", 0.0), ("group_nearest", 0), ("group_compact", 1.5),
     ("final_knapsack_work", -1.0), ("group_kicks", -1), ("swap_share", 1.5),
     ("swap_candidates", -1)],
)  # fmt: skip
def test_bad_group_options_are_refused_with_their_name(field, value):
    from territorial.design.free_centres_solver import FreeCentresOptions

    with pytest.raises(ValueError, match=field):
        FreeCentresOptions(**{field: value})
