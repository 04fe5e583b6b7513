"""Invariants: the vectorised book evaluation equals the one-record path, record by record."""

from __future__ import annotations

from datetime import date

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territorial.routing.engine import compile_rules
from territorial.routing.rules import parse_rules

RULES = """
version: 1
settings: {tie_breakers: [named, priority, specificity, order]}
regions:
  - id: west
    match: {state: [CA, OR]}
    territories:
      - {id: w-big, priority: 10, match: {employees: {min: 500}}, owner: a}
      - {id: w-941, priority: 20, match: {postal_code: {prefix: ["941"]}}, owner: b}
      - {id: w-all, priority: 30, match: {}, owner: c, exclude: {industry: Retail}}
  - id: east
    match: {state: [NY, MA]}
    territories:
      - {id: e-zip, match: {postal_code: ["10001", "02139"]}, owner: d}
      - {id: e-range, match: {postal_code: {range: ["10000-10099"]}}, owner: e}
      - {id: e-soft, priority: 5, match: {industry: [Software, Retail]}, owner: f}
  - id: any
    territories:
      - {id: named, priority: 99, match: {accounts: [N1, N2]}, owner: g}
      - {id: near, match: {near: {latitude: 40.0, longitude: -100.0, miles: 300}}, owner: h}
      - {id: rich, match: [{annual_revenue: {min: 1e9}}, {tier: A}], owner: i}
exclusions:
  - {name: partner, match: {partner: "yes"}, reason: partner}
overrides:
  - {account: O1, territory: near, reason: test, expires: 2030-01-01}
"""

COMPILED = compile_rules(parse_rules(RULES))

record = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["N1", "N2", "O1", "X", "Y", "Z"]),
        "state": st.sampled_from(["CA", "or", "NY", "MA", "TX", None]),
        "postal_code": st.sampled_from(["94107", "10001", "10050", "02139", "941", "", None]),
        "employees": st.one_of(st.none(), st.integers(0, 2000)),
        "industry": st.sampled_from(["Software", "Retail", "Energy", None]),
        "annual_revenue": st.one_of(st.none(), st.floats(0, 5e9)),
        "latitude": st.one_of(st.none(), st.floats(30, 50)),
        "longitude": st.one_of(st.none(), st.floats(-110, -90)),
        "tier": st.sampled_from(["A", "B", None]),
        "partner": st.sampled_from(["yes", "no", None]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, min_size=1, max_size=25))
def test_book_evaluation_matches_one_record_routing(records: list[dict[str, object]]) -> None:
    today = date(2026, 11, 22)
    frame = COMPILED.route_frame(pd.DataFrame(records), today=today)
    for i, rec in enumerate(records):
        clean = {k: v for k, v in rec.items() if v is not None}
        one = COMPILED.route(clean, today=today)
        expected = None if one.territory is None else one.territory.id
        assert frame.territory[i] == expected, (clean, one.reason)
        if one.territory is not None and one.override is None:
            assert frame.n_matched[i] == len(one.matched)


@settings(max_examples=30, deadline=None)
@given(record)
def test_winner_is_among_matched_and_ranks_first(rec: dict[str, object]) -> None:
    clean = {k: v for k, v in rec.items() if v is not None}
    one = COMPILED.route(clean, today=date(2026, 11, 22))
    if one.territory is None or one.override is not None:
        return
    assert one.matched[0] == one.territory.id
    assert len(set(one.matched)) == len(one.matched)


# Leads routed as a batch (column-wise, shared parts) and one at a time agree.
LEAD_RULES = compile_rules(
    parse_rules(
        """
version: 1
regions:
  - id: west
    match: {state: [CA]}
    territories:
      - {id: w-big, priority: 10, match: {employees: {min: 500}}, owner: a}
      - {id: w-all, priority: 30, match: {}, owner: c}
  - id: south
    match: {state: [TX]}
    territories:
      - id: tx-pool
        match: {}
        pool: {strategy: round_robin, members: [p1, p2, p3]}
  - id: any
    territories:
      - {id: named, priority: 1, match: {accounts: [A3]}, owner: g}
alerts:
  - {name: hot, kinds: [lead], when: {tier: A}, webhook: "https://hooks.example.com/x"}
overrides:
  - {account: L2, owner: zed, reason: test, expires: 2030-01-01}
"""
    )
)
ACCOUNTS = pd.DataFrame(
    [
        {"id": "N1", "name": "Acme Inc", "domain": "acme.com", "state": "CA", "owner_id": "a"},
        {"id": "A2", "name": "Globex", "domain": "globex.io", "state": "TX", "owner_id": "p2"},
        {"id": "A3", "name": "Globex", "domain": None, "state": "NY", "employees": 900},
    ]
)
lead = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["L1", "L2", "O1", " L3 ", ""]),
        "email": st.sampled_from(["x@acme.com", "y@GLOBEX.io", "z@gmail.com", "w@other.org"]),
        "company": st.sampled_from(["Globex", "ACME, Inc.", "Hooli"]),
        "state": st.sampled_from(["CA", "TX", "NY", None]),
        "employees": st.one_of(st.none(), st.integers(0, 2000)),
        "tier": st.sampled_from(["A", "B", None]),
    }
).map(lambda r: {k: v for k, v in r.items() if v is not None})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lead, min_size=1, max_size=20))
def test_batch_decisions_equal_one_at_a_time(leads: list[dict[str, object]]) -> None:
    from datetime import UTC, datetime

    from territorial.routing.decide import PoolBook, decide_batch, decide_one
    from territorial.routing.matching import AccountMatcher

    matcher = AccountMatcher(ACCOUNTS)
    by_id = {r["id"]: r for r in ACCOUNTS.to_dict(orient="records")}

    def lookup(ids: object) -> dict[str, dict[str, object]]:
        return {i: by_id[i] for i in ids if i in by_id}  # type: ignore[attr-defined]

    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    common = {"kind": "lead", "now": now, "matcher": matcher, "lookup": lookup}
    batch = decide_batch(LEAD_RULES, leads, pools=PoolBook(), **common)  # type: ignore[arg-type]
    pools = PoolBook()
    for lead_record, got in zip(leads, batch, strict=True):
        one = decide_one(LEAD_RULES, lead_record, pools=pools, **common)  # type: ignore[arg-type]
        assert (got.record_id, got.account_id, got.territory_id, got.owner_id) == (
            one.record_id,
            one.account_id,
            one.territory_id,
            one.owner_id,
        )
        assert [a.name for a in got.alerts] == [a.name for a in one.alerts]
        assert got.trace["record"] == lead_record
        assert got.trace["owner"]["method"] == one.trace["owner"]["method"]
        match = one.trace["account_match"]
        assert got.trace["account_match"] == {
            "account_id": match["account_id"],
            "confidence": match["confidence"],
            "method": match["method"],
        }
