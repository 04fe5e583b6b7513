"""Fixtures of the design tests (data in ``_design_fixtures.py``)."""

from __future__ import annotations

import pytest
from _design_fixtures import grid_problem_4

from territorial.design.problem import DesignProblem


@pytest.fixture
def grid() -> DesignProblem:
    """16 equal accounts on a 4x4 grid, 4 territories, exact balance (see _design_fixtures)."""
    return grid_problem_4()
