"""Designed plans exported to rules and back: every account keeps its territory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territorial.routing.engine import compile_rules
from territorial.routing.plans import dump_rules, plan_from_rules, rules_from_plan
from territorial.routing.rules import parse_rules


def test_small_plan_round_trip_uses_postal_codes_and_named_accounts() -> None:
    accounts = pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "a4", "a5"],
            "postal_code": ["10001", "10001", "10002", "10002", None],
        }
    )
    plan = {"a1": "T1", "a2": "T1", "a3": "T1", "a4": "T2", "a5": "T2"}
    doc = rules_from_plan(plan, accounts, owners={"T1": "rep-1"})
    territories = {t["id"]: t for t in doc["regions"][0]["territories"]}
    # 10001 is whole in T1; 10002 is split, so a3 and a4 become named accounts.
    assert territories["T1"]["match"] == [{"accounts": ["a3"]}, {"postal_code": ["10001"]}]
    assert territories["T2"]["match"] == {"accounts": ["a4", "a5"]}
    assert territories["T1"]["owner"] == "rep-1"
    rules = compile_rules(parse_rules(dump_rules(doc)))
    assert plan_from_rules(rules, accounts).to_dict() == plan


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 80),
    k=st.integers(1, 6),
    codes=st.integers(1, 15),
    seed=st.integers(0, 10_000),
    by=st.sampled_from(["postal_code", "accounts"]),
)
def test_any_plan_round_trips(n: int, k: int, codes: int, seed: int, by: str) -> None:
    rng = np.random.default_rng(seed)
    accounts = pd.DataFrame(
        {
            "id": [f"acc-{i}" for i in range(n)],
            "postal_code": [
                None if rng.random() < 0.1 else f"{rng.integers(0, codes):05d}" for _ in range(n)
            ],
        }
    )
    plan = pd.Series(
        [f"T{rng.integers(0, k)}" for _ in range(n)], index=accounts["id"], dtype=object
    )
    text = dump_rules(rules_from_plan(plan, accounts, by=by))
    routed = plan_from_rules(compile_rules(parse_rules(text)), accounts)
    assert routed.to_dict() == plan.to_dict()


def test_plan_with_unknown_account_is_refused() -> None:
    from territorial.errors import ConfigError

    with pytest.raises(ConfigError, match="not among the accounts"):
        rules_from_plan({"zz": "T1"}, pd.DataFrame({"id": ["a"], "postal_code": ["1"]}))
