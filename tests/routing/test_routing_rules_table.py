"""Rule semantics, one row per case: record, rules, expected territory, owner and reason.

Every row is checked twice: the one-record path (with its why-trace) and the
vectorised whole-book path must agree.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from territorial.routing.engine import compile_rules
from territorial.routing.rules import parse_rules

TODAY = date(2026, 11, 22)

BOOK = """
version: 1
name: table
regions:
  - id: west
    name: West
    match: {state: [CA, OR, WA]}
    segments:
      - id: west-ent-seg
        name: Enterprise
        priority: 10
        match: {employees: {min: 1000}}
        territories:
          - id: west-ent
            name: All
            match: {}
            owner: rep-ent
      - id: west-mm-seg
        name: Mid-Market
        priority: 20
        match: {employees: {min: 100, max: 999}}
        territories:
          - id: west-mm
            name: All
            match: {}
            owner: rep-mm
  - id: geo
    name: Geo
    territories:
      - id: zip-list
        match: {postal_code: ["10001", "10002"]}
        owner: rep-ziplist
      - id: zip-prefix
        match: {postal_code: {prefix: ["606"]}}
        owner: rep-zipprefix
      - id: zip-range
        match: {postal_code: {range: ["02100-02199"]}}
        owner: rep-ziprange
      - id: near-denver
        match: {near: {latitude: 39.7392, longitude: -104.9903, miles: 25}}
        owner: rep-denver
      - id: austin-box
        match:
          polygon:
            name: Austin box
            points: [[-97.95, 30.10], [-97.55, 30.10], [-97.55, 30.50], [-97.95, 30.50]]
        owner: rep-austin
  - id: firmo
    name: Firmographic
    territories:
      - id: fin-big
        match: {industry: [Financial Services], annual_revenue: {min: 50000000}}
        owner: rep-fin
      - id: tier-a
        match: {tier: A, country: {not_in: [CA]}}
        owner: rep-tier
      - id: either
        match:
          - {state: [TX], employees: {max: 9}}
          - {industry: Agriculture}
        owner: rep-either
"""


def route(rules_text: str, record: dict[str, Any]) -> tuple[str | None, str | None, str]:
    compiled = compile_rules(parse_rules(rules_text))
    outcome = compiled.route(record, today=TODAY)
    frame = compiled.route_frame(pd.DataFrame([record]), today=TODAY)
    vector = frame.territory[0]
    assert vector == (None if outcome.territory is None else outcome.territory.id), (
        "vectorised and one-record routing disagree"
    )
    owner = None if outcome.territory is None else outcome.territory.owner
    territory = None if outcome.territory is None else outcome.territory.id
    return territory, owner, outcome.reason


CASES = [
    # (case, record, expected territory, expected owner, reason contains)
    (
        "state and band",
        {"id": "a", "state": "CA", "employees": 1200},
        "west-ent",
        "rep-ent",
        "because state=CA and employees=1,200",
    ),
    (
        "case-insensitive state",
        {"id": "a", "state": " ca ", "employees": 150},
        "west-mm",
        "rep-mm",
        "state=CA",
    ),
    (
        "band lower edge inclusive",
        {"id": "a", "state": "OR", "employees": 100},
        "west-mm",
        "rep-mm",
        "employees=100",
    ),
    (
        "band upper edge inclusive",
        {"id": "a", "state": "OR", "employees": 999},
        "west-mm",
        "rep-mm",
        "employees=999",
    ),
    (
        "below every band",
        {"id": "a", "state": "WA", "employees": 99},
        None,
        None,
        "no territory rule matched",
    ),
    ("missing band field", {"id": "a", "state": "WA"}, None, None, "no territory rule matched"),
    (
        "postal list",
        {"id": "a", "postal_code": "10002"},
        "zip-list",
        "rep-ziplist",
        "postal_code=10002",
    ),
    (
        "postal prefix",
        {"id": "a", "postal_code": "60614"},
        "zip-prefix",
        "rep-zipprefix",
        "starts with 606",
    ),
    (
        "postal range",
        {"id": "a", "postal_code": "02139"},
        "zip-range",
        "rep-ziprange",
        "02100-02199",
    ),
    (
        "postal range needs same length",
        {"id": "a", "postal_code": "0213"},
        None,
        None,
        "no territory",
    ),
    (
        "distance from a point",
        {"id": "a", "latitude": 39.68, "longitude": -105.05},
        "near-denver",
        "rep-denver",
        "mi from",
    ),
    (
        "too far from the point",
        {"id": "a", "latitude": 40.5, "longitude": -105.05},
        None,
        None,
        "no territory",
    ),
    (
        "inside a polygon",
        {"id": "a", "latitude": 30.27, "longitude": -97.74},
        "austin-box",
        "rep-austin",
        "inside Austin box",
    ),
    (
        "industry and revenue band",
        {"id": "a", "industry": "financial services", "annual_revenue": 7.5e7},
        "fin-big",
        "rep-fin",
        "annual_revenue=75,000,000",
    ),
    (
        "revenue below band",
        {"id": "a", "industry": "Financial Services", "annual_revenue": 1e6},
        None,
        None,
        "no territory",
    ),
    (
        "extra attribute",
        {"id": "a", "attributes": {"tier": "a"}, "country": "US"},
        "tier-a",
        "rep-tier",
        "tier=A",
    ),
    (
        "not_in excludes",
        {"id": "a", "attributes": {"tier": "A"}, "country": "CA"},
        None,
        None,
        "no territory",
    ),
    (
        "first OR alternative",
        {"id": "a", "state": "TX", "employees": 5},
        "either",
        "rep-either",
        "state=TX and employees=5",
    ),
    (
        "second OR alternative",
        {"id": "a", "industry": "Agriculture"},
        "either",
        "rep-either",
        "industry=AGRICULTURE",
    ),
]


@pytest.mark.parametrize(
    ("case", "record", "territory", "owner", "reason"), CASES, ids=[c[0] for c in CASES]
)
def test_rule_semantics(
    case: str, record: dict[str, Any], territory: str | None, owner: str | None, reason: str
) -> None:
    got_territory, got_owner, got_reason = route(BOOK, record)
    assert (got_territory, got_owner) == (territory, owner), got_reason
    assert reason in got_reason


ENGAGEMENT = """
version: 1
settings: {{tie_breakers: {tie_breakers}}}
regions:
  - id: r
    territories:
      - id: broad-first
        priority: 20
        match: {{state: CA}}
        owner: rep-broad-first
      - id: narrow
        priority: 20
        match: {{state: CA, postal_code: {{prefix: ["941"]}}}}
        owner: rep-narrow
      - id: urgent
        priority: 10
        match: {{state: CA, industry: Software}}
        owner: rep-urgent
      - id: named
        priority: 90
        match: {{accounts: [ACME-1]}}
        owner: rep-named
      - id: broad-second
        priority: 20
        match: {{state: CA}}
        owner: rep-broad-second
        exclude: {{industry: Retail}}
exclusions:
  - name: Partner
    match: {{partner: "yes"}}
    reason: partner-managed
overrides:
  - account: OVR-1
    territory: broad-second
    reason: CFO relationship
    expires: 2027-01-31
  - account: OVR-OLD
    territory: named
    reason: old deal
    expires: 2026-01-31
"""

DEFAULT_TB = "[named, priority, specificity, order]"

ENGAGEMENT_CASES = [
    # (case, tie_breakers, record, expected territory, expected owner, reason contains)
    (
        "named account first",
        DEFAULT_TB,
        {"id": "ACME-1", "state": "CA", "industry": "Software"},
        "named",
        "rep-named",
        "on named-account rule comes first",
    ),
    (
        "priority beats specificity",
        DEFAULT_TB,
        {"id": "x", "state": "CA", "industry": "Software", "postal_code": "94107"},
        "urgent",
        "rep-urgent",
        "on priority 10 beats 20 (lower wins)",
    ),
    (
        "specificity on equal priority",
        DEFAULT_TB,
        {"id": "x", "state": "CA", "postal_code": "94107"},
        "narrow",
        "rep-narrow",
        "more specific rule (45 > 20 points)",
    ),
    (
        "file order last",
        DEFAULT_TB,
        {"id": "x", "state": "CA", "postal_code": "90001"},
        "broad-first",
        "rep-broad-first",
        "beat r/broad-second on listed earlier",
    ),
    (
        "configurable: specificity before priority",
        "[specificity, priority]",
        {"id": "x", "state": "CA", "industry": "Software", "postal_code": "94107"},
        "narrow",
        "rep-narrow",
        "more specific rule",
    ),
    (
        "configurable: priority before named",
        "[priority, named]",
        {"id": "ACME-1", "state": "CA", "industry": "Software"},
        "urgent",
        "rep-urgent",
        "priority 10 beats 90",
    ),
    (
        "global exclusion",
        DEFAULT_TB,
        {"id": "x", "state": "CA", "partner": "yes"},
        None,
        None,
        "excluded by 'Partner' (partner-managed)",
    ),
    (
        "active override",
        DEFAULT_TB,
        {"id": "OVR-1", "state": "CA", "industry": "Software"},
        "broad-second",
        "rep-broad-second",
        "manual override to r/broad-second: CFO relationship",
    ),
    (
        "expired override ignored",
        DEFAULT_TB,
        {"id": "OVR-OLD", "state": "CA"},
        "broad-first",
        "rep-broad-first",
        "matched r/broad-first",
    ),
]


@pytest.mark.parametrize(
    ("case", "tie_breakers", "record", "territory", "owner", "reason"),
    ENGAGEMENT_CASES,
    ids=[c[0] for c in ENGAGEMENT_CASES],
)
def test_rules_of_engagement(
    case: str,
    tie_breakers: str,
    record: dict[str, Any],
    territory: str | None,
    owner: str | None,
    reason: str,
) -> None:
    got_territory, got_owner, got_reason = route(
        ENGAGEMENT.format(tie_breakers=tie_breakers), record
    )
    assert (got_territory, got_owner) == (territory, owner), got_reason
    assert reason in got_reason


def test_territory_exclusion_passes_the_record_on() -> None:
    rules = ENGAGEMENT.format(tie_breakers="[order]")
    compiled = compile_rules(parse_rules(rules))
    retail = compiled.route({"id": "x", "state": "CA", "industry": "Retail"}, today=TODAY)
    assert retail.territory is not None and retail.territory.id == "broad-first"
    tried = {t["territory"]: t for t in retail.trace["tried"]}
    assert tried["broad-second"]["excluded_by"] == "industry=RETAIL"


def test_trace_lists_tried_matched_winner_and_what_would_change() -> None:
    compiled = compile_rules(parse_rules(BOOK))
    outcome = compiled.route({"id": "a", "state": "CA", "employees": 1200}, today=TODAY)
    trace = outcome.trace
    assert trace["winner"] == "west-ent"
    assert trace["matched"] == ["west-ent"]
    tried = {t["territory"]: t for t in trace["tried"]}
    assert tried["west-mm"]["matched"] is False
    failed = [c for c in tried["west-mm"]["checks"] if not c["passed"]]
    assert failed[0]["detail"] == "employees=1,200 not <= 999"
    assert "to route to West/Mid-Market/All: employees 100-999" in trace["to_route_elsewhere"]
    assert trace["skipped_by_index"] > 0  # the state index kept geo rules out


def test_a_gap_still_suggests_the_nearest_rules() -> None:
    compiled = compile_rules(parse_rules(BOOK))
    outcome = compiled.route({"id": "a", "state": "NV", "employees": 1200}, today=TODAY)
    assert outcome.territory is None
    assert any("state" in hint for hint in outcome.trace["to_route_elsewhere"])
