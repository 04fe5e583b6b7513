"""Simulating a rule change: accounts and potential gained and lost per rep."""

from __future__ import annotations

import pandas as pd

from territorial.routing.engine import compile_rules
from territorial.routing.rules import parse_rules
from territorial.routing.simulate import simulate_change

CURRENT = """
regions:
  - id: r
    territories:
      - {id: west, match: {state: [CA, OR]}, owner: ann}
      - {id: east, match: {state: [NY]}, owner: bob}
"""
PROPOSED = """
regions:
  - id: r
    territories:
      - {id: west, match: {state: [CA]}, owner: ann}
      - {id: east, match: {state: [NY, OR]}, owner: bob}
      - {id: texas, match: {state: [TX]}, owner: cy}
"""


def test_per_rep_difference() -> None:
    accounts = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "5"],
            "state": ["CA", "OR", "OR", "NY", "TX"],
            "annual_revenue": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )
    report = simulate_change(
        compile_rules(parse_rules(CURRENT)), compile_rules(parse_rules(PROPOSED)), accounts
    )
    per = report.per_rep.set_index("rep")
    assert per.loc["ann", ["accounts_before", "accounts_after", "gained", "lost"]].tolist() == [
        3,
        1,
        0,
        2,
    ]
    assert per.loc["ann", "potential_lost"] == 50.0
    assert per.loc["bob", ["gained", "potential_gained"]].tolist() == [2, 50.0]
    assert per.loc["cy", ["gained", "potential_gained"]].tolist() == [1, 50.0]
    assert per.loc["(unassigned)", ["accounts_before", "lost"]].tolist() == [1, 1]
    assert sorted(report.moves["account_id"]) == ["2", "3", "5"]
    # Gains and losses balance.
    assert per["gained"].sum() == per["lost"].sum() == 3
