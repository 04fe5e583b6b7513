"""A plan is a value: moves make children that know their parent and what changed."""

from __future__ import annotations

import numpy as np
import pytest

from territorial.design.plan import Plan, moved_units
from territorial.errors import ConfigError


def test_move_returns_a_child_and_leaves_the_parent_alone() -> None:
    root = Plan(np.array([0, 0, 1, 1]), ("north", "south"))
    child = root.move([1], "south")
    assert root.assignment.tolist() == [0, 0, 1, 1]
    assert child.assignment.tolist() == [0, 1, 1, 1]
    assert child.parent is root
    assert child.changed.tolist() == [1]
    assert child.undo() is root
    assert [p is q for p, q in zip(child.history(), [child, root], strict=True)] == [True, True]


def test_moving_a_unit_to_its_own_territory_changes_nothing() -> None:
    root = Plan(np.array([0, 1]), ("a", "b"))
    assert root.move(0, 0).changed.size == 0


def test_plans_are_read_only() -> None:
    plan = Plan(np.array([0, 1]), ("a", "b"))
    with pytest.raises(ValueError):
        plan.assignment[0] = 1


@pytest.mark.parametrize(
    ("assignment", "current", "moved"),
    [
        ([0, 1, 1], [0, 1, 1], []),
        ([1, 1, 1], [0, 1, 1], [0]),
        ([1, 0, 1], [0, 1, -1], [0, 1]),  # unit 2 had no territory: a placement, not a move
        ([1, 0, 1], None, []),
    ],
)
def test_moved_units(assignment: list[int], current: list[int] | None, moved: list[int]) -> None:
    plan = Plan(np.array(assignment), ("a", "b"))
    assert moved_units(plan, current).tolist() == moved


def test_unknown_territory_is_named() -> None:
    plan = Plan(np.array([0]), ("a",))
    with pytest.raises(ConfigError, match="no territory 'zz'"):
        plan.move(0, "zz")
