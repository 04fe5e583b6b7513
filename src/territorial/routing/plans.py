"""Designed plans to rules and back.

A plan from the design engine is a table ``account id -> territory id`` plus the
accounts. :func:`rules_from_plan` writes it as a rules document: each territory gets
the postal codes all of whose accounts it holds, and the accounts of postal codes
split between territories (or without a postal code) go on named-account lists,
which win first. Routing the same accounts with the result gives every account the
same territory (:func:`plan_from_rules` checks that round trip).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import yaml

from territorial.errors import ConfigError
from territorial.routing.engine import CompiledRules


def _assignment_series(assignment: Mapping[str, str] | pd.Series | pd.DataFrame) -> pd.Series:
    if isinstance(assignment, pd.DataFrame):
        missing = {"account_id", "territory_id"} - set(assignment.columns)
        if missing:
            raise ConfigError(f"the plan table lacks columns {sorted(missing)}")
        return pd.Series(
            assignment["territory_id"].astype(str).to_numpy(),
            index=assignment["account_id"].astype(str),
        )
    if isinstance(assignment, pd.Series):
        return assignment.astype(str).set_axis(assignment.index.astype(str))
    return pd.Series({str(k): str(v) for k, v in assignment.items()}, dtype=object)


def rules_from_plan(
    assignment: Mapping[str, str] | pd.Series | pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    by: str = "postal_code",
    name: str = "Designed plan",
    region: str = "plan",
    territory_names: Mapping[str, str] | None = None,
    owners: Mapping[str, str] | None = None,
    fallback: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A rules document (a dict ready for :func:`dump_rules`) reproducing a designed plan.

    ``by`` is ``"postal_code"`` (postal-code lists, named accounts where a code is
    split) or ``"accounts"`` (one named-account list per territory).
    ``fallback="state"`` also gives every state to the territory holding most of its
    accounts, as a less specific clause (a state scores 20 points against a postal-code
    list's 40 and named accounts' 1,000), so new records in places no account of the
    plan occupies still reach a territory. ``settings`` replaces the default
    ``settings`` block (tie-breakers, holdover days ...).
    """
    if by not in ("postal_code", "accounts"):
        raise ConfigError(f"by must be 'postal_code' or 'accounts', got {by!r}")
    if fallback not in (None, "state"):
        raise ConfigError(f"fallback must be None or 'state', got {fallback!r}")
    plan = _assignment_series(assignment)
    if plan.index.duplicated().any():
        dup = plan.index[plan.index.duplicated()][0]
        raise ConfigError(f"account {dup!r} appears twice in the plan")
    ids = accounts["id"].astype(str)
    unknown = plan.index.difference(pd.Index(ids))
    if len(unknown):
        raise ConfigError(
            f"{len(unknown)} plan accounts are not among the accounts, e.g. {unknown[0]!r}"
        )
    table = pd.DataFrame({"id": ids.to_numpy()})
    table["territory"] = plan.reindex(table["id"]).to_numpy()
    table = table[table["territory"].notna()]
    named: dict[str, list[str]] = {}
    codes: dict[str, list[str]] = {}
    if by == "postal_code" and "postal_code" in accounts.columns:
        postal = accounts.set_index(ids)["postal_code"]
        table["postal"] = (
            postal.reindex(table["id"]).astype("string").str.strip().str.upper().to_numpy()
        )
        has = table["postal"].notna() & (table["postal"] != "")
        per_code = table[has].groupby("postal")["territory"].nunique()
        whole = set(per_code[per_code == 1].index)
        clean = table[has & table["postal"].isin(whole)]
        for territory, group in clean.groupby("territory"):
            codes[str(territory)] = sorted(set(group["postal"]))
        rest = table[~(has & table["postal"].isin(whole))]
    else:
        rest = table
    for territory, group in rest.groupby("territory"):
        named[str(territory)] = sorted(group["id"])
    states: dict[str, list[str]] = {}
    if fallback == "state" and "state" in accounts.columns:
        state = accounts.set_index(ids)["state"]
        table["state"] = (
            state.reindex(table["id"]).astype("string").str.strip().str.upper().to_numpy()
        )
        located = table[table["state"].notna() & (table["state"] != "")]
        counts = located.groupby(["state", "territory"]).size().reset_index(name="n")
        counts = counts.sort_values(["state", "n", "territory"], ascending=[True, False, True])
        for st, territory in counts.drop_duplicates("state")[["state", "territory"]].to_numpy():
            states.setdefault(str(territory), []).append(str(st))
    territories = []
    for tid in sorted(set(table["territory"])):
        matches: list[dict[str, Any]] = []
        if tid in named:
            matches.append({"accounts": named[tid]})
        if tid in codes:
            matches.append({"postal_code": codes[tid]})
        if tid in states:
            matches.append({"state": sorted(states[tid])})
        node: dict[str, Any] = {
            "id": tid,
            "name": (territory_names or {}).get(tid, tid),
            "match": matches[0] if len(matches) == 1 else matches,
        }
        if owners and tid in owners:
            node["owner"] = owners[tid]
        territories.append(node)
    return {
        "version": 1,
        "name": name,
        "settings": dict(settings)
        if settings is not None
        else {"tie_breakers": ["named", "priority", "specificity", "order"]},
        "regions": [{"id": region, "name": name, "territories": territories}],
    }


def dump_rules(document: Mapping[str, Any]) -> str:
    """YAML text of a rules document, keys in the documented order."""
    # libyaml's emitter when present: the pure-Python one takes seconds on large plans.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(dict(document), Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def plan_from_rules(rules: CompiledRules, accounts: pd.DataFrame) -> pd.Series:
    """Territory id per account id (``None`` where no rule claims the account)."""
    result = rules.route_frame(accounts)
    return pd.Series(
        result.territory, index=pd.Index(result.ids, name="account_id"), name="territory_id"
    )
