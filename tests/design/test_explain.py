"""Assignment reasons: every unit says why it went where it went."""

from __future__ import annotations

import numpy as np

from territorial.design import design
from territorial.design.explain import assignment_reasons
from territorial.design.problem import Balance, DesignProblem


def test_a_contiguous_plan_says_when_the_nearest_territory_does_not_border_the_unit() -> None:
    # a path 0 - 1 - 2 - 3 drawn out of order: unit 2 lies beside A's home but only
    # touches B's units; weights 3,1,1,1 at tolerance 0 leave {0} | {1,2,3}
    problem = DesignProblem(
        unit_ids=np.array(["u0", "u1", "u2", "u3"]),
        coords=np.array([[0.0, 0.0], [4.0, 0.0], [0.5, 0.0], [5.0, 0.0]]),
        measures=np.array([[3.0], [1.0], [1.0], [1.0]]),
        measure_names=("load",),
        n_territories=2,
        balance=(Balance("load", 0.0),),
        coord_kind="xy",
        edges=np.array([[0, 1], [1, 2], [2, 3]]),
        edge_lengths=np.array([4.0, 3.5, 4.5]),
        contiguity=True,
        centers=np.array([[0.0, 0.0], [5.0, 0.0]]),
        territory_ids=("A", "B"),
    )
    result = design(problem, time_limit=10, seed=0)
    assert result.feasible
    assert [result.problem.territory_ids[t] for t in result.assignment] == ["A", "B", "B", "B"]
    reasons = assignment_reasons(result)
    assert reasons[0] == "nearest territory" and reasons[3] == "nearest territory"
    assert reasons[2] == ("2nd nearest; nearest 'A' does not border it (territories in one piece)")
    # without fixed centres the territories' centroids stand in: no unit goes unexplained
    free = problem.with_changes(centers=None, territory_ids=())
    reasons = assignment_reasons(design(free, time_limit=10, seed=0))
    assert all(r and "graph search" not in r for r in reasons)
