"""A territory plan as a value.

A :class:`Plan` is an assignment of every unit to a territory. Moving units does not
change a plan: :meth:`Plan.move` returns a new plan that knows its parent and which
units changed (GerryChain's ``Partition.flip`` style), so disruption and undo are a
diff, not extra bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from territorial.errors import ConfigError

IntArray = npt.NDArray[np.int64]


def _frozen(values: npt.ArrayLike) -> IntArray:
    arr = np.array(values, dtype=np.int64, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Plan:
    """Which territory every unit belongs to.

    Attributes
    ----------
    assignment:
        ``(n,)`` read-only territory index per unit (``0..k-1``).
    territory_ids:
        ``(k,)`` names of the territories (index ``j`` is ``territory_ids[j]``).
    parent:
        The plan this one was derived from by :meth:`move`, or ``None``.
    changed:
        Read-only unit indices whose territory differs from ``parent``'s (empty
        for a root plan).
    """

    assignment: IntArray
    territory_ids: tuple[str, ...]
    parent: Plan | None = None
    changed: IntArray = field(default_factory=lambda: _frozen([]))

    def __post_init__(self) -> None:
        a = _frozen(self.assignment)
        k = len(self.territory_ids)
        if a.ndim != 1:
            raise ConfigError(f"a plan's assignment must be one territory per unit, got {a.shape}")
        if a.size and (a.min() < 0 or a.max() >= k):
            raise ConfigError(f"a plan assigns units to territory indices outside 0..{k - 1}")
        object.__setattr__(self, "assignment", a)
        object.__setattr__(self, "territory_ids", tuple(str(t) for t in self.territory_ids))
        object.__setattr__(self, "changed", _frozen(self.changed))

    # --- views ---------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return int(self.assignment.shape[0])

    @property
    def n_territories(self) -> int:
        return len(self.territory_ids)

    def territory_index(self, territory: int | str) -> int:
        """Index of a territory given by index or by id."""
        if isinstance(territory, str):
            try:
                return self.territory_ids.index(territory)
            except ValueError:
                raise ConfigError(f"no territory {territory!r} in this plan") from None
        j = int(territory)
        if not 0 <= j < self.n_territories:
            raise ConfigError(f"territory index {j} outside 0..{self.n_territories - 1}")
        return j

    def members(self, territory: int | str) -> IntArray:
        """Unit indices in one territory."""
        return np.flatnonzero(self.assignment == self.territory_index(territory))

    def sizes(self) -> IntArray:
        """``(k,)`` number of units per territory."""
        return np.bincount(self.assignment, minlength=self.n_territories)

    def territory_of(self, unit_ids: Sequence[str], ids: Sequence[str]) -> list[str]:
        """Territory id of each unit id (``ids`` are the problem's unit ids)."""
        pos = {u: i for i, u in enumerate(ids)}
        return [self.territory_ids[self.assignment[pos[u]]] for u in unit_ids]

    # --- changes -------------------------------------------------------------------
    def move(self, units: Iterable[int] | int, territory: int | str) -> Plan:
        """A new plan with ``units`` (indices) moved to ``territory``; ``self`` is its parent."""
        if isinstance(units, (int, np.integer)):
            idx = np.array([int(units)], dtype=np.int64)
        else:
            idx = np.asarray(list(units), dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_units):
            raise ConfigError(f"unit index outside 0..{self.n_units - 1}")
        j = self.territory_index(territory)
        new = self.assignment.copy()
        new[idx] = j
        changed = np.flatnonzero(new != self.assignment)
        return Plan(new, self.territory_ids, parent=self, changed=changed)

    def with_assignment(self, assignment: npt.ArrayLike) -> Plan:
        """A child plan with a whole new assignment (e.g. a solver's answer)."""
        new = np.asarray(assignment, dtype=np.int64)
        if new.shape != self.assignment.shape:
            raise ConfigError("a new assignment must keep the same units")
        return Plan(
            new, self.territory_ids, parent=self, changed=np.flatnonzero(new != self.assignment)
        )

    def undo(self) -> Plan:
        """The parent plan (``self`` when there is none)."""
        return self.parent if self.parent is not None else self

    def history(self) -> list[Plan]:
        """This plan and its ancestors, newest first."""
        out: list[Plan] = []
        node: Plan | None = self
        while node is not None:
            out.append(node)
            node = node.parent
        return out


def moved_units(plan: Plan | IntArray, current: npt.ArrayLike | None) -> IntArray:
    """Indices of units whose territory differs from ``current``.

    Units without a current territory (``-1``) are new placements, not moves.
    """
    if current is None:
        return np.zeros(0, dtype=np.int64)
    a = plan.assignment if isinstance(plan, Plan) else np.asarray(plan)
    cur = np.asarray(current, dtype=np.int64)
    return np.flatnonzero((cur >= 0) & (a != cur))
