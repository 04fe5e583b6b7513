"""Owners inside a territory: round robin, weights, capacity caps, absences."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from territorial.routing.pools import Absence, MemoryPoolLedger, choose_owner
from territorial.routing.rules import parse_rules

RULES = """
version: 1
regions:
  - id: r
    territories:
      - id: rr
        match: {}
        pool: {strategy: round_robin, members: [a, b, c]}
      - id: wrr
        match: {}
        pool:
          strategy: weighted_round_robin
          members: [{rep: a, weight: 2}, {rep: b, weight: 1}]
      - id: capped
        match: {}
        pool:
          strategy: round_robin
          capacity_period: day
          members: [{rep: a, capacity: 2}, {rep: b, capacity: 1}]
      - id: single
        match: {}
        owner: solo
"""
RULES_SET = parse_rules(RULES)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def territory(tid: str):
    return RULES_SET.territory(tid)


def picks(tid: str, n: int, ledger: MemoryPoolLedger, now: datetime = NOW) -> list[str | None]:
    return [ledger.choose(territory(tid), now).owner for _ in range(n)]


def test_round_robin_rotates_in_member_order() -> None:
    assert picks("rr", 7, MemoryPoolLedger()) == ["a", "b", "c", "a", "b", "c", "a"]


def test_weighted_round_robin_is_smooth_and_proportional() -> None:
    got = picks("wrr", 9, MemoryPoolLedger())
    assert got == ["a", "b", "a", "a", "b", "a", "a", "b", "a"]
    assert Counter(got) == {"a": 6, "b": 3}


def test_out_of_office_rep_is_skipped_and_earns_no_credit() -> None:
    ledger = MemoryPoolLedger({"b": Absence(date(2026, 11, 20), date(2026, 11, 30))})
    assert picks("rr", 4, ledger) == ["a", "c", "a", "c"]
    choice = ledger.choose(territory("rr"), NOW)
    assert {"rep": "b", "why": "out of office until 2026-11-30"} in choice.skipped
    # Back in December: b rejoins without a burst of catch-up records.
    later = NOW + timedelta(days=10)
    assert Counter(picks("rr", 6, ledger, later)) == {"a": 2, "b": 2, "c": 2}


def test_capacity_caps_per_day_then_reset_next_day() -> None:
    ledger = MemoryPoolLedger()
    assert picks("capped", 4, ledger) == ["a", "b", "a", None]
    none = ledger.choose(territory("capped"), NOW)
    assert none.owner is None and none.detail == "no pool member is available"
    assert [s["rep"] for s in none.skipped] == ["a", "b"]
    assert picks("capped", 2, ledger, NOW + timedelta(days=1)) == ["a", "b"]


def test_single_owner_keeps_the_territory_even_when_away() -> None:
    choice = choose_owner(
        territory("single"),
        states={},
        absences={"solo": Absence(date(2026, 11, 1), date(2026, 12, 1))},
        now=NOW,
    )
    assert choice.owner == "solo"
    assert "out of office until 2026-12-01" in choice.detail


@pytest.mark.parametrize("n", [1, 10, 101])
def test_round_robin_is_fair_over_time(n: int) -> None:
    counts = Counter(picks("rr", n, MemoryPoolLedger()))
    assert max(counts.values()) - min(counts.get(r, 0) for r in "abc") <= 1
