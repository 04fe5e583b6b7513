"""Who inside a territory gets the record: one owner or a team pool.

Pools use *smooth weighted round robin* (the nginx scheme): every eligible member's
credit grows by its weight, the member with the most credit gets the record and
pays back the total eligible weight. With equal weights this is plain round robin;
over any window the shares converge to the weights, and the order is deterministic.
Members who are out of office or at their capacity cap for the period are skipped
and earn no credit meanwhile (no burst on return). The state is a plain value
(:class:`MemberState`) so the store can persist it and the trace can show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from territorial.routing.rules import Pool, TerritoryRule


@dataclass(frozen=True, slots=True)
class MemberState:
    """Persisted round-robin state of one rep in one territory's pool."""

    credit: float = 0.0
    assigned_total: int = 0
    period_start: date | None = None
    assigned_in_period: int = 0
    last_assigned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Absence:
    """A rep is out of office from ``start`` to ``end`` inclusive (dates)."""

    start: date
    end: date
    note: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(slots=True)
class OwnerChoice:
    """The owner picked for one record, and how."""

    owner: str | None
    method: str
    detail: str
    skipped: list[dict[str, str]] = field(default_factory=list)
    updates: dict[str, MemberState] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "method": self.method,
            "detail": self.detail,
            "skipped": self.skipped,
        }


def period_start(period: str, day: date) -> date | None:
    """First day of the capacity period containing ``day`` (``None`` for "total")."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return None


def choose_from_pool(
    pool: Pool,
    *,
    states: Mapping[str, MemberState],
    absences: Mapping[str, Absence],
    now: datetime,
) -> OwnerChoice:
    """Pick the next pool member; returns the choice and the members' new states."""
    today = now.date()
    start = period_start(pool.capacity_period, today)
    eligible = []
    skipped: list[dict[str, str]] = []
    current: dict[str, MemberState] = {}
    for member in pool.members:
        state = states.get(member.rep, MemberState())
        if state.period_start != start:
            state = replace(state, period_start=start, assigned_in_period=0)
        current[member.rep] = state
        absence = absences.get(member.rep)
        if absence is not None and absence.covers(today):
            skipped.append(
                {"rep": member.rep, "why": f"out of office until {absence.end.isoformat()}"}
            )
            continue
        if member.capacity is not None and state.assigned_in_period >= member.capacity:
            skipped.append(
                {
                    "rep": member.rep,
                    "why": f"at capacity {state.assigned_in_period}/{member.capacity} "
                    f"this {pool.capacity_period}",
                }
            )
            continue
        eligible.append(member)
    method = "weighted round robin" if pool.strategy == "weighted_round_robin" else "round robin"
    if not eligible:
        return OwnerChoice(None, method, "no pool member is available", skipped, {})
    weights = {
        m.rep: (m.weight if pool.strategy == "weighted_round_robin" else 1.0) for m in eligible
    }
    total = sum(weights.values())
    credits = {m.rep: current[m.rep].credit + weights[m.rep] for m in eligible}
    chosen = max(eligible, key=lambda m: credits[m.rep])  # first listed wins ties
    updates: dict[str, MemberState] = {}
    for m in eligible:
        state = replace(current[m.rep], credit=credits[m.rep])
        if m.rep == chosen.rep:
            state = replace(
                state,
                credit=state.credit - total,
                assigned_total=state.assigned_total + 1,
                assigned_in_period=state.assigned_in_period + 1,
                last_assigned_at=now,
            )
        updates[m.rep] = state
    chosen_state = updates[chosen.rep]
    detail = (
        f"{method} turn in a pool of {len(pool.members)}: {chosen.rep} had the most credit "
        f"({credits[chosen.rep]:.2f}); assignment #{chosen_state.assigned_total} overall"
    )
    if chosen.capacity is not None:
        detail += (
            f", {chosen_state.assigned_in_period}/{chosen.capacity} this {pool.capacity_period}"
        )
    return OwnerChoice(chosen.rep, method, detail, skipped, updates)


def choose_owner(
    territory: TerritoryRule,
    *,
    states: Mapping[str, MemberState],
    absences: Mapping[str, Absence],
    now: datetime,
) -> OwnerChoice:
    """The owner for a record landing in ``territory`` (single owner or pool turn)."""
    if territory.pool is not None:
        return choose_from_pool(territory.pool, states=states, absences=absences, now=now)
    if territory.owner is None:
        return OwnerChoice(None, "unowned", f"{territory.label} has no owner (queue)")
    absence = absences.get(territory.owner)
    note = ""
    if absence is not None and absence.covers(now.date()):
        note = f" (out of office until {absence.end.isoformat()}; still the owner)"
    return OwnerChoice(
        territory.owner, "territory owner", f"{territory.owner} owns {territory.label}{note}"
    )


class MemoryPoolLedger:
    """Pool state kept in memory (offline routing, simulations, tests)."""

    def __init__(self, absences: Mapping[str, Absence] | None = None) -> None:
        self.states: dict[tuple[str, str], MemberState] = {}
        self.absences = dict(absences or {})

    def choose(self, territory: TerritoryRule, now: datetime) -> OwnerChoice:
        states = {rep: s for (tid, rep), s in self.states.items() if tid == territory.id}
        choice = choose_owner(territory, states=states, absences=self.absences, now=now)
        for rep, state in choice.updates.items():
            self.states[(territory.id, rep)] = state
        return choice
