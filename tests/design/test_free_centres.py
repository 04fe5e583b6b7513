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
