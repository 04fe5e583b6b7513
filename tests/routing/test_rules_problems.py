"""Every problem of a rules file is named with its line and key path (pydantic models).

One row per kind of mistake: a valid base file with one edit, and the problems expected
(line, key path, message). The rows were first taken from the hand-written validator
the models replaced, so each message keeps its information; where the two differ the
new message is more precise (an empty condition `{}` was silently accepted, a missing
`regions` key hung the parser, a duplicate key now names its first line).
"""

from __future__ import annotations

import pytest

from territorial.errors import ValidationError
from territorial.routing.rules import parse_rules

BASE = """version: 1
name: corpus
settings: {tie_breakers: [named, priority], holdover_days: 30}
regions:
  - id: west
    name: West
    match: {state: [CA, OR]}
    segments:
      - id: west-ent
        priority: 10
        match: {employees: {min: 1000}}
        territories:
          - id: t1
            match: {postal_code: {prefix: ["94"]}}
            owner: ann
          - id: t2
            match: {}
            pool: {strategy: round_robin, members: [p1, p2]}
  - id: east
    territories:
      - id: t3
        match: [{state: NY}, {industry: Software}]
        owner: bob
exclusions:
  - {name: Partner, match: {partner: "yes"}, reason: partner-managed}
overrides:
  - {account: A1, territory: t1, reason: CFO, expires: 2027-01-31}
alerts:
  - {name: hot, kinds: [lead], when: {tier: A}, territories: [t1], webhook: "https://hooks.example.com/x"}
"""

CASES = [
    (
        "unknown top key",
        "name: corpus",
        "name: corpus\nregoins: []",
        [
            (
                3,
                "regoins",
                "unknown key 'regoins'; allowed here: version, name, settings, regions, exclusions, overrides, alerts",  # noqa: E501
            )
        ],
    ),
    (
        "bad version",
        "version: 1",
        "version: 2",
        [(1, "version", "unsupported format version; this release reads 1")],
    ),
    (
        "tie breaker unknown",
        "[named, priority]",
        "[named, luck]",
        [
            (
                3,
                "settings.tie_breakers",
                "tie_breakers must be a list drawn from named, priority, specificity, order",
            )
        ],
    ),
    (
        "tie breaker twice",
        "[named, priority]",
        "[named, named]",
        [(3, "settings.tie_breakers", "tie_breakers lists a name twice")],
    ),
    (
        "holdover negative",
        "holdover_days: 30",
        "holdover_days: -1",
        [(3, "settings.holdover_days", "must be a whole number >= 0")],
    ),
    (
        "holdover text",
        "holdover_days: 30",
        "holdover_days: soon",
        [(3, "settings.holdover_days", "must be a whole number >= 0")],
    ),
    (
        "match threshold",
        "holdover_days: 30}",
        "holdover_days: 30, match_threshold: 2}",
        [(3, "settings.match_threshold", "must be in (0, 1]")],
    ),
    (
        "free mail not list",
        "holdover_days: 30}",
        "holdover_days: 30, free_mail_domains: x.com}",
        [(3, "settings.free_mail_domains", "must be a list of domains")],
    ),
    (
        "unknown settings key",
        "holdover_days: 30}",
        "holdover_day: 30}",
        [
            (
                3,
                "settings.holdover_day",
                "unknown key 'holdover_day'; allowed here: tie_breakers, holdover_days, default_priority, free_mail_domains, match_threshold",  # noqa: E501
            )
        ],
    ),
    (
        "unknown node key",
        "            owner: ann",
        "            owner: ann\n            mach: {}",
        [
            (
                16,
                "regions[0].segments[0].territories[0].mach",
                "unknown key 'mach'; allowed here: id, name, match, exclude, priority, owner, pool",
            )
        ],
    ),
    (
        "duplicate id",
        "- id: t2",
        "- id: t1",
        [
            (
                16,
                "regions[0].segments[0].territories[1].id",
                "id 't1' is used twice (first at line 13)",
            )
        ],
    ),
    (
        "missing id",
        "      - id: t3\n",
        "      - name: t3\n",
        [(21, "regions[1].territories[0]", "every node needs an id")],
    ),
    (
        "min greater than max",
        "{min: 1000}",
        "{min: 1000, max: 10}",
        [(11, "regions[0].segments[0].match.employees", "minimum 1000 is greater than maximum 10")],
    ),
    (
        "min not a number",
        "{min: 1000}",
        "{min: lots}",
        [(11, "regions[0].segments[0].match.employees", "minimum 'lots' is not a number")],
    ),
    (
        "empty list",
        "{state: NY}",
        "{state: []}",
        [
            (
                22,
                "regions[1].territories[0].match[0].state",
                "empty list for 'state' matches nothing",
            )
        ],
    ),
    (
        "empty condition",
        "{state: NY}",
        "{state: {}}",
        [
            (
                22,
                "regions[1].territories[0].match[0].state",
                "empty condition; use one of in, not_in, prefix, range, min, max, equals, band",
            )
        ],
    ),
    (
        "unknown operator",
        "{state: NY}",
        "{state: {like: N}}",
        [
            (
                22,
                "regions[1].territories[0].match[0].state.like",
                "unknown key 'like'; allowed here: in, not_in, prefix, range, min, max, equals, band",  # noqa: E501
            )
        ],
    ),
    (
        "null condition",
        "{state: NY}",
        "{state: null}",
        [(22, "regions[1].territories[0].match[0].state", "condition on 'state' has no value")],
    ),
    (
        "nested value in list",
        "{state: NY}",
        "{state: [[NY]]}",
        [(22, "regions[1].territories[0].match[0].state[0]", "expected a single value")],
    ),
    (
        "band shape",
        "{state: NY}",
        "{employees: {band: [1]}}",
        [
            (
                22,
                "regions[1].territories[0].match[0].employees",
                "band wants [minimum, maximum] (either may be null)",
            )
        ],
    ),
    (
        "range bad",
        '{prefix: ["94"]}',
        '{range: ["941-94"]}',
        [
            (
                14,
                "regions[0].segments[0].territories[0].match.postal_code",
                "range bounds '941' and '94' must have the same length",
            )
        ],
    ),
    (
        "range empty",
        '{prefix: ["94"]}',
        '{range: ["95-94"]}',
        [
            (
                14,
                "regions[0].segments[0].territories[0].match.postal_code",
                "range 95-94 is empty (low > high)",
            )
        ],
    ),
    (
        "near no radius",
        "{state: NY}",
        "{near: {latitude: 40, longitude: -74}}",
        [
            (
                22,
                "regions[1].territories[0].match[0].near",
                "near needs a positive radius: miles or km",
            )
        ],
    ),
    (
        "near out of range",
        "{state: NY}",
        "{near: {latitude: 100, longitude: -74, miles: 5}}",
        [
            (
                22,
                "regions[1].territories[0].match[0].near",
                "near needs latitude in [-90, 90] and longitude in [-180, 180]",
            )
        ],
    ),
    (
        "polygon few points",
        "{state: NY}",
        "{polygon: [[0, 0], [1, 1]]}",
        [
            (
                22,
                "regions[1].territories[0].match[0].polygon",
                "polygon needs at least 3 [longitude, latitude] points",
            )
        ],
    ),
    (
        "polygon bad wkt",
        "{state: NY}",
        "{polygon: {name: x, wkt: 'POLYGON((0 0'}}",
        [
            (
                22,
                "regions[1].territories[0].match[0].polygon",
                "polygon WKT cannot be read: ParseException: Expected word but encountered end of stream",  # noqa: E501
            )
        ],
    ),
    (
        "match not mapping",
        "match: [{state: NY}, {industry: Software}]",
        "match: NY",
        [
            (
                22,
                "regions[1].territories[0].match",
                "expected a mapping of field conditions or a list of them",
            )
        ],
    ),
    (
        "empty match list",
        "match: [{state: NY}, {industry: Software}]",
        "match: []",
        [
            (
                22,
                "regions[1].territories[0].match",
                "an empty list matches nothing; use {} to match everything",
            )
        ],
    ),
    (
        "owner and pool",
        "            owner: ann",
        "            owner: ann\n            pool: {members: [x]}",
        [(16, "regions[0].segments[0].territories[0].pool", "give either owner or pool, not both")],
    ),
    (
        "pool strategy",
        "strategy: round_robin",
        "strategy: lottery",
        [
            (
                18,
                "regions[0].segments[0].territories[1].pool.strategy",
                "strategy must be one of round_robin, weighted_round_robin",
            )
        ],
    ),
    (
        "pool no members",
        "members: [p1, p2]",
        "members: []",
        [
            (
                18,
                "regions[0].segments[0].territories[1].pool.members",
                "a pool needs a non-empty list of members",
            )
        ],
    ),
    (
        "pool member twice",
        "members: [p1, p2]",
        "members: [p1, p1]",
        [
            (
                18,
                "regions[0].segments[0].territories[1].pool.members",
                "a rep is listed twice in the pool",
            )
        ],
    ),
    (
        "pool weight",
        "members: [p1, p2]",
        "members: [{rep: p1, weight: 0}]",
        [
            (
                18,
                "regions[0].segments[0].territories[1].pool.members[0].weight",
                "weight must be a positive number",
            )
        ],
    ),
    (
        "pool capacity",
        "members: [p1, p2]",
        "members: [{rep: p1, capacity: -3}]",
        [
            (
                18,
                "regions[0].segments[0].territories[1].pool.members[0].capacity",
                "capacity must be a whole number >= 0",
            )
        ],
    ),
    (
        "pool period",
        "strategy: round_robin",
        "strategy: round_robin, capacity_period: year",
        [
            (
                18,
                "regions[0].segments[0].territories[1].pool.capacity_period",
                "capacity_period must be one of day, week, month, total",
            )
        ],
    ),
    (
        "priority text",
        "priority: 10",
        "priority: high",
        [(10, "regions[0].segments[0].priority", "priority must be a whole number (lower wins)")],
    ),
    (
        "segment without territories",
        "        territories:\n          - id: t1",
        "        territoriez:\n          - id: t1",
        [
            (
                12,
                "regions[0].segments[0].territoriez",
                "unknown key 'territoriez'; allowed here: id, name, match, exclude, priority, owner, pool, territories",  # noqa: E501
            )
        ],
    ),
    (
        "region both",
        "  - id: east\n",
        "  - id: east\n    segments: [{id: s, territories: [{id: sx, match: {}}]}]\n",
        [(19, "regions[1]", "a region has either segments or territories, not both")],
    ),
    (
        "territory without match",
        "      - id: t3\n        match: [{state: NY}, {industry: Software}]\n",
        "      - id: t3\n",
        [(21, "regions[1].territories[0]", "territory 't3' needs a match block ({} matches all)")],
    ),
    (
        "regions missing",
        "regions:\n  - id: west",
        "regionz:\n  - id: west",
        [
            (
                4,
                "regionz",
                "unknown key 'regionz'; allowed here: version, name, settings, regions, exclusions, overrides, alerts",  # noqa: E501
            )
        ],
    ),
    (
        "exclusion no reason",
        "reason: partner-managed}",
        "reason: ''}",
        [(25, "exclusions[0]", "an exclusion needs a reason")],
    ),
    (
        "exclusion no match",
        'match: {partner: "yes"}, ',
        "",
        [(25, "exclusions[0]", "an exclusion needs a match block")],
    ),
    (
        "override unknown territory",
        "territory: t1, reason: CFO",
        "territory: t9, reason: CFO",
        [(27, "overrides[0].territory", "unknown territory 't9'")],
    ),
    (
        "override bad date",
        "expires: 2027-01-31",
        "expires: soon",
        [(27, "overrides[0].expires", "expected a date YYYY-MM-DD")],
    ),
    (
        "override no expiry",
        ", expires: 2027-01-31",
        "",
        [(27, "overrides[0]", "an override needs an expiry date (expires: YYYY-MM-DD)")],
    ),
    (
        "alert two channels",
        'webhook: "https://hooks.example.com/x"',
        'webhook: "https://hooks.example.com/x", email: a@b.co',
        [(29, "alerts[0]", "an alert has exactly one of webhook: URL or email: ADDRESS")],
    ),
    (
        "alert bad url",
        '"https://hooks.example.com/x"',
        '"ftp://x"',
        [(29, "alerts[0].webhook", "webhook must be an http(s) URL")],
    ),
    (
        "alert bad email",
        'webhook: "https://hooks.example.com/x"',
        "email: nobody",
        [(29, "alerts[0].email", "email must be an address")],
    ),
    (
        "alert unknown kind",
        "kinds: [lead]",
        "kinds: [robot]",
        [
            (
                29,
                "alerts[0].kinds",
                "unknown record kinds ['robot']; use lead, account, opportunity, contact",
            )
        ],
    ),
    (
        "alert unknown territory",
        "territories: [t1]",
        "territories: [t9]",
        [(29, "alerts[0].territories", "unknown territories ['t9']")],
    ),
    (
        "exclusions not list",
        "exclusions:\n  - {name: Partner",
        "exclusions:\n  x: {name: Partner",
        [(24, "exclusions", "exclusions must be a list")],
    ),
    (
        "duplicate key",
        "    name: West\n",
        "    name: West\n    name: Again\n",
        [(7, "regions[0].name", "duplicate key 'name' (first at line 6)")],
    ),
    (
        "yaml syntax",
        "match: {state: [CA, OR]}",
        "match: {state: [CA, OR}",
        [
            (
                7,
                None,
                "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence) at line 7, column 27",  # noqa: E501
            )
        ],
    ),
    (
        "top not mapping",
        None,
        "- a\n- b\n",
        [(1, "", "expected a mapping, got list")],
    ),
    (
        "empty file",
        None,
        "",
        [(None, None, "the rules file is empty")],
    ),
]


def test_the_base_file_is_valid() -> None:
    rules = parse_rules(BASE)
    assert [t.id for t in rules.territories] == ["t1", "t2", "t3"]


@pytest.mark.parametrize(("case", "old", "new", "expected"), CASES, ids=[c[0] for c in CASES])
def test_problem_names_line_key_and_reason(
    case: str, old: str | None, new: str, expected: list[tuple[int | None, str | None, str]]
) -> None:
    text = new if old is None else BASE.replace(old, new, 1)
    assert old is None or old in BASE, case
    with pytest.raises(ValidationError) as caught:
        parse_rules(text, source="rules.yaml")
    got = [(p.row, p.column, p.reason) for p in caught.value.problems]
    assert got == expected
