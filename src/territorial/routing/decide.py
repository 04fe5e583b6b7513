"""From a record to a decision: match, territory, owner, alerts — pure functions.

These functions never touch the store. Pool state, absences, overrides and account
look-ups are handed in, and the new pool state and the alerts to enqueue are handed
back, so :mod:`territorial.routing.service` can write everything in one transaction
and the CLI can route a file offline with the very same logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any

import pandas as pd

from territorial.routing.engine import CompiledRules, RouteOutcome
from territorial.routing.matching import NO_MATCH, AccountMatch, AccountMatcher
from territorial.routing.pools import Absence, MemberState, OwnerChoice, choose_owner
from territorial.routing.rules import Alert, Override, TerritoryRule

#: Fields of an account that routing copies onto a lead matched to it.
ACCOUNT_FIELDS: tuple[str, ...] = (
    "name",
    "domain",
    "street",
    "postal_code",
    "city",
    "state",
    "country",
    "latitude",
    "longitude",
    "industry",
    "employees",
    "annual_revenue",
    "segment",
    "owner_id",
)

AccountLookup = Callable[[Sequence[str]], Mapping[str, Mapping[str, Any]]]


def no_accounts(_: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
    return {}


@dataclass(slots=True)
class PoolBook:
    """Pool states of the territories touched by a batch, updated as records go."""

    states: dict[str, dict[str, MemberState]] = field(default_factory=dict)
    absences: Mapping[str, Absence] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)

    def choose(
        self,
        territory: TerritoryRule,
        now: datetime,
        load: Callable[[str], dict[str, MemberState]] | None = None,
    ) -> OwnerChoice:
        if territory.pool is None:  # a single owner: no state to read or keep
            return choose_owner(territory, states={}, absences=self.absences, now=now)
        if territory.id not in self.states:
            self.states[territory.id] = load(territory.id) if load else {}
        choice = choose_owner(
            territory, states=self.states[territory.id], absences=self.absences, now=now
        )
        if choice.updates:
            self.states[territory.id].update(choice.updates)
            self.touched.add(territory.id)
        return choice


@dataclass(slots=True)
class Decision:
    """One routing decision, ready for the audit log and the API."""

    record_id: str | None
    record_kind: str
    account_id: str | None
    territory: TerritoryRule | None
    owner_id: str | None
    reason: str
    trace: dict[str, Any]
    alerts: Sequence[Alert] = ()
    id: int | None = None
    decided_at: datetime | None = None
    rule_set_id: int | None = None
    batch_id: str | None = None

    @property
    def territory_id(self) -> str | None:
        return None if self.territory is None else self.territory.id

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "record_id": self.record_id,
            "record_kind": self.record_kind,
            "account_id": self.account_id,
            "territory_id": self.territory_id,
            "territory": None if self.territory is None else self.territory.label,
            "owner_id": self.owner_id,
            "reason": self.reason,
        }


def _text_id(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def prepare_record(
    record: Mapping[str, Any],
    *,
    kind: str,
    matcher: AccountMatcher | None,
    lookup: AccountLookup,
) -> tuple[dict[str, Any], AccountMatch | None, Mapping[str, Any] | None]:
    """The record routing evaluates: a matched lead or an opportunity takes its account's fields.

    Returns ``(record to route, match result or None, account row or None)``.
    """
    out = dict(record)
    out["kind"] = kind
    match: AccountMatch | None = None
    account_id = _text_id(record.get("account_id"))
    if kind == "lead" and matcher is not None and account_id is None:
        match = matcher.match(record)
        account_id = match.account_id
    elif kind == "account":
        account_id = account_id or _text_id(record.get("id"))
    account = None
    if account_id is not None and kind != "account":
        account = lookup([account_id]).get(account_id)
    if account is not None:
        for name in ACCOUNT_FIELDS:
            value = account.get(name)
            if value is not None and not (isinstance(value, float) and value != value):
                if name == "owner_id":
                    out["account_owner_id"] = value
                else:
                    out[name] = value
    if account_id is not None:
        out["account_id"] = account_id
    return out, match, account


def _holdover(
    record: Mapping[str, Any],
    territory: TerritoryRule,
    *,
    kind: str,
    realigned_at: datetime | None,
    holdover_days: int,
    now: datetime,
) -> OwnerChoice | None:
    if kind != "opportunity" or holdover_days <= 0 or realigned_at is None:
        return None
    former = _text_id(record.get("owner_id"))
    closed = record.get("is_closed")
    if former is None or closed in (True, "true", "True", 1, "1"):
        return None
    until = realigned_at + timedelta(days=holdover_days)
    if former in territory.owner_ids or now > until:
        return None
    return OwnerChoice(
        former,
        "holdover",
        f"open opportunity stays with its former owner {former} until "
        f"{until.date().isoformat()} ({holdover_days} days after the realignment of "
        f"{realigned_at.date().isoformat()})",
    )


def pick_owner(
    record: Mapping[str, Any],
    territory: TerritoryRule | None,
    *,
    kind: str,
    override: Override | None,
    pools: PoolBook,
    load_pool: Callable[[str], dict[str, MemberState]] | None,
    realigned_at: datetime | None,
    holdover_days: int,
    now: datetime,
) -> OwnerChoice:
    """Owner for a routed record: override, holdover, account owner, or the territory's pick."""
    if override is not None and override.owner:
        return OwnerChoice(
            override.owner,
            "override",
            f"manual override: {override.reason} (until {override.expires.isoformat()})",
        )
    if territory is None:
        return OwnerChoice(None, "none", "no territory, so no owner")
    held = _holdover(
        record,
        territory,
        kind=kind,
        realigned_at=realigned_at,
        holdover_days=holdover_days,
        now=now,
    )
    if held is not None:
        return held
    account_owner = _text_id(record.get("account_owner_id"))
    if account_owner is not None and account_owner in territory.owner_ids:
        return OwnerChoice(
            account_owner, "account owner", f"the matched account is owned by {account_owner}"
        )
    return pools.choose(territory, now, load_pool)


def owner_text(choice: OwnerChoice) -> str:
    """The owner part of a reason; special picks (holdover, override...) say why."""
    if choice.method in ("holdover", "override", "account owner"):
        return f"; owner {choice.owner} ({choice.method}: {choice.detail})"
    return f"; owner {choice.owner} ({choice.method})"


def alerts_for(
    alerts: Iterable[Alert], record: Mapping[str, Any], territory: TerritoryRule | None, kind: str
) -> list[Alert]:
    """The alerts a routed record raises (only records that land in a territory raise any)."""
    if territory is None:
        return []
    out = []
    for alert in alerts:
        if alert.kinds and kind not in alert.kinds:
            continue
        if alert.territories and territory.id not in alert.territories:
            continue
        if any(all(c.test(record)[0] for c in clause) for clause in alert.when):
            out.append(alert)
    return out


def decide_one(
    compiled: CompiledRules,
    record: Mapping[str, Any],
    *,
    kind: str,
    now: datetime,
    matcher: AccountMatcher | None = None,
    lookup: AccountLookup = no_accounts,
    overrides: Mapping[str, Override] | None = None,
    pools: PoolBook | None = None,
    load_pool: Callable[[str], dict[str, MemberState]] | None = None,
    realigned_at: datetime | None = None,
) -> Decision:
    """Route one record with the full why-trace."""
    pools = pools if pools is not None else PoolBook()
    routed, match, _ = prepare_record(record, kind=kind, matcher=matcher, lookup=lookup)
    outcome: RouteOutcome = compiled.route(routed, today=now.date(), overrides=overrides)
    choice = pick_owner(
        routed,
        outcome.territory,
        kind=kind,
        override=outcome.override,
        pools=pools,
        load_pool=load_pool,
        realigned_at=realigned_at,
        holdover_days=compiled.options.holdover_days,
        now=now,
    )
    trace = dict(outcome.trace)
    trace["record"] = _jsonable(record)
    if match is not None:
        trace["account_match"] = match.to_dict()
    trace["owner"] = choice.to_dict()
    reason = outcome.reason
    if choice.owner is not None:
        reason += owner_text(choice)
    if match is not None and match.account_id is not None:
        reason = (
            f"lead matched account {match.account_id} by {match.method} "
            f"(confidence {match.confidence:.2f}); " + reason
        )
    trace["reason"] = reason
    raised = alerts_for(compiled.rule_set.alerts, routed, outcome.territory, kind)
    trace["alerts"] = [a.name for a in raised]
    return Decision(
        record_id=_text_id(record.get("id")),
        record_kind=kind,
        account_id=_text_id(routed.get("account_id")),
        territory=outcome.territory,
        owner_id=choice.owner,
        reason=reason,
        trace=trace,
        alerts=raised,
    )


def decide_batch(
    compiled: CompiledRules,
    records: Sequence[Mapping[str, Any]],
    *,
    kind: str,
    now: datetime,
    matcher: AccountMatcher | None = None,
    lookup: AccountLookup = no_accounts,
    overrides: Mapping[str, Override] | None = None,
    pools: PoolBook | None = None,
    load_pool: Callable[[str], dict[str, MemberState]] | None = None,
    realigned_at: datetime | None = None,
) -> list[Decision]:
    """Route many records at once with the vectorised evaluator.

    Each decision keeps a compact trace (winning rule, number of matching
    territories, owner pick, the record itself); the full why-trace can be replayed
    from it with :func:`decide_one` and the same rule set version.

    Column-wise: the records are not copied. A record's routed form (the record with
    its kind, account id and matched account's fields, what :func:`prepare_record`
    gives) is built only where an owner pick or an alert condition needs it.
    """
    pools = pools if pools is not None else PoolBook()
    n = len(records)
    # 1. Account of each record: given, matched (leads) or itself (accounts).
    given: list[str | None] = (
        [_text_id(r.get("account_id")) for r in records]
        if any("account_id" in r for r in records)
        else [None] * n
    )
    matches: list[AccountMatch | None] = [None] * n
    if kind == "lead" and matcher is not None:
        unmatched = [i for i, a in enumerate(given) if a is None]
        for i, found in zip(
            unmatched, matcher.match_many([records[i] for i in unmatched]), strict=True
        ):
            matches[i] = found
            given[i] = found.account_id
    elif kind == "account":
        given = [a or _text_id(r.get("id")) for a, r in zip(given, records, strict=True)]
    account_ids = given
    # 2. The matched accounts' fields, copied onto their records (opportunities, leads...).
    extra: dict[int, dict[str, Any]] = {}
    if kind != "account":
        wanted = {a for a in account_ids if a is not None}
        accounts = lookup(sorted(wanted)) if wanted else {}
        if accounts:
            for i, account_id in enumerate(account_ids):
                account = accounts.get(account_id) if account_id is not None else None
                if account is None:
                    continue
                copied: dict[str, Any] = {}
                for name in ACCOUNT_FIELDS:
                    value = account.get(name)
                    if value is not None and not (isinstance(value, float) and value != value):
                        copied["account_owner_id" if name == "owner_id" else name] = value
                extra[i] = copied

    def routed(i: int) -> dict[str, Any]:
        """Record ``i`` as routing evaluates it (see :func:`prepare_record`)."""
        out = dict(records[i])
        out["kind"] = kind
        if account_ids[i] is not None:
            out["account_id"] = account_ids[i]
        if i in extra:
            out.update(extra[i])
        return out

    frame = _batch_frame(records, kind=kind, account_ids=account_ids, extra=extra)
    result = compiled.route_frame(frame, today=now.date(), overrides=overrides)

    # 3. Owner, reason, alerts and the compact trace of each record.
    live_overrides = {
        k.upper(): o
        for k, o in {**compiled.overrides, **(overrides or {})}.items()
        if o.active_on(now.date())
    }
    territories_of = result.territory.tolist()
    rules_of = result.rule.tolist()
    matched_of = result.n_matched.tolist()
    excluded_of = result.excluded.tolist()
    overridden_of = result.overridden.tolist()
    territory_of = {t.id: t for t in compiled.rule_set.territories}
    rule_text: dict[int, str] = {}
    # A single owner's pick is the same all batch, and so is the reason of a plain record
    # (no override, holdover, account owner or match) with the same rule and overlap.
    single_owner: dict[str, OwnerChoice] = {}
    plain_owner: dict[str, dict[str, Any]] = {}
    plain_reason: dict[tuple[int, int, str], str] = {}
    unmatched_trace = {
        "account_id": NO_MATCH.account_id,
        "confidence": NO_MATCH.confidence,
        "method": NO_MATCH.method,
    }
    beat_text = "/".join(compiled.options.tie_breakers)
    alerts = compiled.rule_set.alerts
    holdover_days = compiled.options.holdover_days
    decisions: list[Decision] = []
    for i in range(n):
        record = records[i]
        tid = territories_of[i]
        territory = territory_of[tid] if tid is not None else None
        account_id = account_ids[i]
        override = None
        if live_overrides:
            key = (account_id or record.get("account_id")) or record.get("id")
            if key is not None:
                override = live_overrides.get(str(key).strip().upper())
        rule_number = rules_of[i]
        n_matched = matched_of[i]
        excluded = excluded_of[i]
        overridden = overridden_of[i] and override is not None
        fields = extra.get(i)
        plain = (
            territory is not None
            and territory.pool is None
            and override is None
            and kind != "opportunity"
            and "account_owner_id" not in record
            and (fields is None or "account_owner_id" not in fields)
        )
        this: dict[str, Any] | None = None  # the routed record, when needed
        if plain and tid in single_owner:
            choice = single_owner[tid]
        else:
            this = routed(i)
            choice = pick_owner(
                this,
                territory,
                kind=kind,
                override=override,
                pools=pools,
                load_pool=load_pool,
                realigned_at=realigned_at,
                holdover_days=holdover_days,
                now=now,
            )
            if plain:
                single_owner[tid] = choice
        reason_key = (rule_number, n_matched, tid) if plain and not overridden else None
        reason = plain_reason.get(reason_key) if reason_key is not None else None
        if reason is None:
            if overridden:
                assert override is not None
                reason = (
                    f"manual override to {territory.label if territory else '-'}: "
                    f"{override.reason} (until {override.expires.isoformat()})"
                )
            elif excluded is not None:
                reason = f"excluded by {excluded!r}"
            elif territory is None:
                reason = "no territory rule matched"
            else:
                if rule_number not in rule_text:
                    rule_text[rule_number] = (
                        f"matched {territory.label} by rule {compiled.clause_text(rule_number)}"
                    )
                reason = rule_text[rule_number]
                if n_matched > 1:
                    reason += (
                        f"; beat {n_matched - 1} other matching territor"
                        + ("y" if n_matched == 2 else "ies")
                        + f" ({beat_text})"
                    )
            if choice.owner is not None:
                reason += owner_text(choice)
            if reason_key is not None:
                plain_reason[reason_key] = reason
        match = matches[i]
        if match is not None and match.account_id is not None:
            reason = (
                f"lead matched account {match.account_id} by {match.method} "
                f"(confidence {match.confidence:.2f}); " + reason
            )
        raised: Sequence[Alert] = ()
        if alerts and territory is not None:
            raised = alerts_for(alerts, this if this is not None else routed(i), territory, kind)
        # Compact: the reason, rule set and territory have their own columns; the full
        # trace is replayed from the record on demand (GET /api/decisions/{id}/explain).
        # The owner and unmatched-lead parts repeat across a batch and are shared objects
        # (read-only, like the rest of a decision's trace).
        if plain:
            owner = plain_owner.get(tid)
            if owner is None:
                owner = plain_owner[tid] = {"owner": choice.owner, "method": choice.method}
        else:
            owner = {"owner": choice.owner, "method": choice.method}
            if territory is not None and territory.pool is not None:
                owner["detail"] = choice.detail
                owner["skipped"] = choice.skipped
        account_match: dict[str, Any] | None = None
        if match is NO_MATCH:
            account_match = unmatched_trace
        elif match is not None:
            account_match = {
                "account_id": match.account_id,
                "confidence": round(match.confidence, 3),
                "method": match.method,
            }
        if excluded is None and not overridden and not raised:
            # The common case in one literal (keys in the same order as below).
            trace: dict[str, Any] = (
                {
                    "mode": "batch",
                    "rule": rule_number,
                    "matched_territories": n_matched,
                    "owner": owner,
                    "record": record,  # JSON values already (API bodies, file rows)
                }
                if account_match is None
                else {
                    "mode": "batch",
                    "rule": rule_number,
                    "matched_territories": n_matched,
                    "owner": owner,
                    "record": record,
                    "account_match": account_match,
                }
            )
        else:
            trace = {
                "mode": "batch",
                "rule": rule_number,
                "matched_territories": n_matched,
                "owner": owner,
                "record": record,
            }
            if excluded is not None:
                trace["excluded_by"] = excluded
            if overridden:
                assert override is not None
                trace["override"] = {
                    "account": override.account,
                    "reason": override.reason,
                    "expires": override.expires.isoformat(),
                    "id": override.id,
                }
            if raised:
                trace["alerts"] = [a.name for a in raised]
            if account_match is not None:
                trace["account_match"] = account_match
        record_id = record.get("id")
        decisions.append(
            Decision(
                (record_id.strip() or None) if type(record_id) is str else _text_id(record_id),
                kind,
                account_id,
                territory,
                choice.owner,
                reason,
                trace,
                raised,
            )
        )
    return decisions


def _batch_frame(
    records: Sequence[Mapping[str, Any]],
    *,
    kind: str,
    account_ids: Sequence[str | None],
    extra: Mapping[int, Mapping[str, Any]],
) -> pd.DataFrame:
    """The routed records as a frame of object columns, built column by column.

    One column per field seen (in order of appearance), plus the kind, the account id
    and the matched accounts' fields, without building a routed dict per record.
    Object columns without dtype inference: the evaluator factorises text itself, and
    object arrays factorise fastest. Named-account rules and overrides key on the
    account id when there is one, so ``id`` holds it.
    """
    names = dict.fromkeys(chain.from_iterable(records))  # every field, in order seen
    columns = {name: [r.get(name) for r in records] for name in names}
    columns["kind"] = [kind] * len(records)
    given = columns.get("account_id")
    if given is not None:
        columns["account_id"] = [
            a if a is not None else g for a, g in zip(account_ids, given, strict=True)
        ]
    elif any(a is not None for a in account_ids):
        columns["account_id"] = list(account_ids)
    for i, fields in extra.items():
        for name, value in fields.items():
            if name not in columns:
                columns[name] = [None] * len(records)
            columns[name][i] = value
    frame = pd.DataFrame(
        {name: pd.Series(values, dtype=object) for name, values in columns.items()},
        index=pd.RangeIndex(len(records)),
    )
    if "account_id" in frame.columns:
        ids = frame["account_id"].where(frame["account_id"].notna(), frame.get("id"))
        frame["id"] = ids.astype(object)
    elif "id" not in frame.columns:
        frame["id"] = pd.Series([None] * len(frame), dtype=object)
    return frame


def _jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if value is None or isinstance(value, str | int | float | bool):
            out[key] = value
        elif isinstance(value, date | datetime):
            out[key] = value.isoformat()
        elif isinstance(value, Mapping):
            out[key] = _jsonable(value)
        elif isinstance(value, list | tuple):
            out[key] = [v if isinstance(v, str | int | float | bool) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out
