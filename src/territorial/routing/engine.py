"""Compiled rules: which territory a record belongs to, and why.

A :class:`CompiledRules` turns a :class:`~territorial.routing.rules.RuleSet` into

* one rule per (territory, ``match`` alternative), ranked once by the rules of
  engagement (``settings.tie_breakers``: named accounts first, then priority — lower
  wins —, then specificity, then file order), so resolving several matches is "take
  the lowest rank";
* an index by state, country, 3-character postal prefix and account id, so a record
  (or a block of accounts) only checks rules that can possibly match it.

:meth:`CompiledRules.route` explains one record (the why-trace);
:meth:`CompiledRules.route_frame` evaluates a whole book with numpy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from territorial.routing.conditions import RoutingFrame, cell_of, norm_number, norm_text
from territorial.routing.rules import (
    Clause,
    Exclusion,
    Override,
    RuleSet,
    TerritoryRule,
    clause_is_named,
    clause_specificity,
    describe_clause,
)

IntArray = npt.NDArray[np.int64]

#: Index keys, most selective first (the record index picks the first available).
INDEX_KEYS: tuple[str, ...] = ("id", "postal3", "state", "cell", "country")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One ``match`` alternative of one territory, with its engagement rank."""

    number: int
    territory: TerritoryRule
    clause: Clause
    named: bool
    specificity: int
    rank: int = 0


def _record_keys(record: Mapping[str, Any]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    ids = [norm_text(record.get(n)) for n in ("account_id", "id")]
    keys["id"] = [i for i in ids if i]
    postal = norm_text(record.get("postal_code"))
    keys["postal3"] = [postal[:3]] if postal and len(postal) >= 3 else []
    for name in ("state", "country"):
        value = norm_text(record.get(name))
        keys[name] = [value] if value else []
    lat, lon = norm_number(record.get("latitude")), norm_number(record.get("longitude"))
    keys["cell"] = [cell_of(lat, lon)] if lat is not None and lon is not None else []
    return keys


@dataclass(frozen=True, slots=True)
class Check:
    condition: str
    passed: bool
    detail: str


@dataclass(slots=True)
class RouteOutcome:
    """The territory decision for one record (owner selection comes later, in ``pools``)."""

    territory: TerritoryRule | None
    reason: str
    trace: dict[str, Any]
    override: Override | None = None
    excluded_by: Exclusion | None = None
    matched: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FrameRouting:
    """Result of :meth:`CompiledRules.route_frame` over ``n`` accounts.

    ``territory`` holds territory ids (``None`` when unclaimed), ``n_matched`` how many
    distinct territories matched, ``rule`` the winning rule number (``-1`` none),
    ``excluded`` the global exclusion that removed the account (``None``),
    ``overridden`` whether a manual override decided.
    """

    ids: npt.NDArray[Any]
    territory: npt.NDArray[Any]
    n_matched: IntArray
    rule: IntArray
    excluded: npt.NDArray[Any]
    overridden: npt.NDArray[np.bool_]
    overlaps: pd.DataFrame  # winner, other, accounts

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "id": self.ids,
                "territory_id": self.territory,
                "matched": self.n_matched,
                "excluded_by": self.excluded,
                "overridden": self.overridden,
            }
        )


class CompiledRules:
    """A rule set ready for routing (immutable after construction)."""

    def __init__(self, rule_set: RuleSet) -> None:
        self.rule_set = rule_set
        self.options = rule_set.options
        rules: list[CompiledRule] = []
        for territory in rule_set.territories:
            for clause in territory.clauses:
                rules.append(
                    CompiledRule(
                        number=len(rules),
                        territory=territory,
                        clause=clause,
                        named=clause_is_named(clause),
                        specificity=clause_specificity(clause),
                    )
                )
        ordered = sorted(rules, key=self._sort_key)
        rank_of = {r.number: i for i, r in enumerate(ordered)}
        self.rules: tuple[CompiledRule, ...] = tuple(
            CompiledRule(r.number, r.territory, r.clause, r.named, r.specificity, rank_of[r.number])
            for r in rules
        )
        self.ranks = np.array([r.rank for r in self.rules], dtype=np.int64)
        self.territory_index = {t.id: i for i, t in enumerate(rule_set.territories)}
        self.rule_territory = np.array(
            [self.territory_index[r.territory.id] for r in self.rules], dtype=np.int64
        )
        # Record index: key name -> key value -> rule numbers.
        self._index: dict[str, dict[str, list[int]]] = {k: defaultdict(list) for k in INDEX_KEYS}
        self._unindexed: list[int] = []
        self._rule_keys: list[list[tuple[str, frozenset[str]]]] = []
        for rule in self.rules:
            keys = [k for c in rule.clause if (k := c.index_keys()) is not None]
            self._rule_keys.append(keys)
            best = min(keys, key=lambda k: INDEX_KEYS.index(k[0]), default=None)
            if best is None:
                self._unindexed.append(rule.number)
            else:
                for value in best[1]:
                    self._index[best[0]][value].append(rule.number)
        self.overrides = {o.account.upper(): o for o in rule_set.overrides}
        self._by_cost = [tuple(sorted(r.clause, key=lambda c: c.cost)) for r in self.rules]
        self._described = [tuple(c.describe() for c in r.clause) for r in self.rules]
        self._clause_text = [describe_clause(r.clause) for r in self.rules]

    # ------------------------------------------------------------------ engagement

    def _sort_key(self, rule: CompiledRule) -> tuple[Any, ...]:
        key: list[Any] = []
        for tb in self.options.tie_breakers:
            if tb == "named":
                key.append(0 if rule.named else 1)
            elif tb == "priority":
                key.append(rule.territory.priority)
            elif tb == "specificity":
                key.append(-rule.specificity)
            elif tb == "order":
                key.append(rule.territory.order)
        key.append(rule.number)
        return tuple(key)

    def why_beats(self, winner: CompiledRule, loser: CompiledRule) -> tuple[str, str]:
        """``(tie-breaker, explanation)`` of why ``winner`` outranks ``loser``."""
        for tb in self.options.tie_breakers:
            if tb == "named" and winner.named != loser.named:
                return tb, "named-account rule comes first"
            if tb == "priority" and winner.territory.priority != loser.territory.priority:
                return tb, (
                    f"priority {winner.territory.priority} beats {loser.territory.priority} "
                    "(lower wins)"
                )
            if tb == "specificity" and winner.specificity != loser.specificity:
                return tb, (
                    f"more specific rule ({winner.specificity} > {loser.specificity} points)"
                )
            if tb == "order" and winner.territory.order != loser.territory.order:
                return tb, "listed earlier in the rules file"
        return "order", "listed earlier in the rules file"

    # ------------------------------------------------------------------ one record

    def candidates(self, record: Mapping[str, Any]) -> list[int]:
        """Rule numbers worth checking for ``record`` (a superset of the matching rules)."""
        found: set[int] = set(self._unindexed)
        for key, values in _record_keys(record).items():
            index = self._index[key]
            for value in values:
                found.update(index.get(value, ()))
        return sorted(found)

    def excluded_by(self, record: Mapping[str, Any]) -> tuple[Exclusion, list[str]] | None:
        for exclusion in self.rule_set.exclusions:
            for clause in exclusion.clauses:
                results = [c.test(record) for c in clause]
                if all(ok for ok, _ in results):
                    return exclusion, [text for _, text in results]
        return None

    def route(
        self,
        record: Mapping[str, Any],
        *,
        today: date | None = None,
        overrides: Mapping[str, Override] | None = None,
        alternatives: int = 3,
    ) -> RouteOutcome:
        """Route one record and explain the decision (which rules, which won, why)."""
        today = today or date.today()
        trace: dict[str, Any] = {"rule_set": self.rule_set.name}
        account = norm_text(record.get("account_id")) or norm_text(record.get("id"))

        # 1. Manual override (from the file or the store), if not expired.
        override = None
        if account:
            override = (overrides or {}).get(account) or self.overrides.get(account)
        if override is not None and not override.active_on(today):
            trace["expired_override"] = _override_dict(override)
            override = None

        # 2. Global exclusions.
        excluded = self.excluded_by(record)
        if excluded is not None and override is None:
            exclusion, texts = excluded
            reason = f"excluded by {exclusion.name!r} ({exclusion.reason}) because " + " and ".join(
                texts
            )
            trace.update(
                exclusion={"name": exclusion.name, "reason": exclusion.reason, "because": texts},
                tried=[],
                matched=[],
                winner=None,
                reason=reason,
                to_route_elsewhere=["remove the record from exclusion " + repr(exclusion.name)],
            )
            return RouteOutcome(None, reason, trace, excluded_by=exclusion)

        # 3. Every candidate rule, checked condition by condition.
        numbers = self.candidates(record)
        tried: list[dict[str, Any]] = []
        matched: list[CompiledRule] = []
        failed: list[tuple[CompiledRule, list[Check]]] = []
        for n in numbers:
            rule = self.rules[n]
            checks = [
                Check(text, *c.test(record))
                for c, text in zip(rule.clause, self._described[n], strict=True)
            ]
            ok = all(c.passed for c in checks)
            entry: dict[str, Any] = {
                "territory": rule.territory.id,
                "label": rule.territory.label,
                "rule": self._clause_text[n],
                "priority": rule.territory.priority,
                "specificity": rule.specificity,
                "named": rule.named,
                "checks": [
                    {"condition": c.condition, "passed": c.passed, "detail": c.detail}
                    for c in checks
                ],
                "matched": ok,
            }
            if ok:
                for exc_clause in rule.territory.exclusions:
                    results = [c.test(record) for c in exc_clause]
                    if exc_clause and all(r for r, _ in results):
                        ok = False
                        entry["matched"] = False
                        entry["excluded_by"] = describe_clause(exc_clause)
                        break
            tried.append(entry)
            if ok:
                matched.append(rule)
            else:
                failed.append((rule, checks))
        matched.sort(key=lambda r: r.rank)
        distinct: list[CompiledRule] = []
        for rule in matched:
            if all(rule.territory.id != d.territory.id for d in distinct):
                distinct.append(rule)
        trace["tried"] = tried
        trace["skipped_by_index"] = len(self.rules) - len(numbers)
        trace["matched"] = [r.territory.id for r in distinct]

        if override is not None and override.territory is not None:
            territory = self.rule_set.territory(override.territory)
            reason = (
                f"manual override to {territory.label}: {override.reason} "
                f"(until {override.expires.isoformat()})"
            )
            trace.update(
                override=_override_dict(override),
                winner=territory.id,
                reason=reason,
                to_route_elsewhere=[f"revoke or let expire the override of {account}"],
            )
            return RouteOutcome(
                territory, reason, trace, override=override, matched=trace["matched"]
            )

        if not distinct:
            reason = "no territory rule matched"
            trace.update(winner=None, reason=reason)
            if len(numbers) < len(self.rules):
                # A gap: look beyond the index for the nearest rules (gaps are rare).
                skipped = set(range(len(self.rules))) - set(numbers)
                for n in sorted(skipped):
                    rule = self.rules[n]
                    checks = [
                        Check(text, *c.test(record))
                        for c, text in zip(rule.clause, self._described[n], strict=True)
                    ]
                    failed.append((rule, checks))
            trace["to_route_elsewhere"] = self._near_misses(failed, None, alternatives)
            return RouteOutcome(None, reason, trace, override=override)

        win = distinct[0]
        because = [c.test(record)[1] for c in win.clause]
        reason = f"matched {win.territory.label} because " + (
            " and ".join(because) if because else "its rule matches every record"
        )
        beaten = []
        for loser in distinct[1:]:
            tb, why = self.why_beats(win, loser)
            beaten.append({"territory": loser.territory.id, "tie_breaker": tb, "detail": why})
        if beaten:
            reason += "; beat " + ", ".join(
                f"{self.rule_set.territory(b['territory']).label} on {b['detail']}" for b in beaten
            )
        trace.update(
            winner=win.territory.id,
            winning_rule=self._clause_text[win.number],
            beaten=beaten,
            reason=reason,
        )
        changes = [
            f"to route to {self.rule_set.territory(b['territory']).label}: "
            + _flip_hint(b["tie_breaker"], win, self.rules_by_territory(b["territory"]))
            for b in beaten
        ]
        changes += self._near_misses(failed, win, alternatives)
        trace["to_route_elsewhere"] = changes[: alternatives + len(beaten)]
        if override is not None:
            trace["override"] = _override_dict(override)
        return RouteOutcome(
            win.territory, reason, trace, override=override, matched=trace["matched"]
        )

    def clause_text(self, rule_number: int) -> str:
        """The rule's conditions as text ("state=CA and employees >= 1,000")."""
        return self._clause_text[rule_number]

    def rules_by_territory(self, territory_id: str) -> CompiledRule:
        best = min((r for r in self.rules if r.territory.id == territory_id), key=lambda r: r.rank)
        return best

    def _near_misses(
        self,
        failed: list[tuple[CompiledRule, list[Check]]],
        winner: CompiledRule | None,
        limit: int,
    ) -> list[str]:
        seen: set[str] = set()
        if winner is not None:
            seen.add(winner.territory.id)
        ranked = sorted(failed, key=lambda fc: (sum(not c.passed for c in fc[1]), fc[0].rank))
        out = []
        for rule, checks in ranked:
            if rule.territory.id in seen:
                continue
            seen.add(rule.territory.id)
            needs = [
                cond.change_hint()
                for cond, check in zip(rule.clause, checks, strict=True)
                if not check.passed
            ]
            text = f"to route to {rule.territory.label}: " + (
                " and ".join(needs) if needs else "remove its exclusion"
            )
            changed = {
                cond.field
                for cond, check in zip(rule.clause, checks, strict=True)
                if not check.passed
            }
            still = winner is not None and not changed & {c.field for c in winner.clause}
            if winner is not None and still and rule.rank > winner.rank:
                # The winner would still match, so the territory must also outrank it.
                _, why = self.why_beats(winner, rule)
                text += f", and outrank {winner.territory.label} ({why})"
            out.append(text)
            if len(out) >= limit:
                break
        return out

    # ------------------------------------------------------------------ whole book

    def route_frame(
        self,
        accounts: pd.DataFrame | RoutingFrame,
        *,
        today: date | None = None,
        overrides: Mapping[str, Override] | None = None,
    ) -> FrameRouting:
        """Route every account of ``accounts`` (canonical account columns) with numpy.

        Each rule checks only the rows its index key allows (state, postal prefix,
        account id, country), one condition at a time on the surviving rows.
        """
        frame = accounts if isinstance(accounts, RoutingFrame) else RoutingFrame(accounts)
        n = frame.n
        today = today or date.today()
        groups: dict[tuple[str, int], tuple[IntArray, IntArray, dict[str, int]]] = {}

        def group(name: str, prefix: int = 0) -> tuple[IntArray, IntArray, dict[str, int]]:
            if (name, prefix) not in groups:
                codes, code_of, values = frame.codes(name, prefix)
                order = np.argsort(codes, kind="stable")
                starts = np.searchsorted(codes[order], np.arange(len(values) + 1))
                groups[(name, prefix)] = (order, starts, code_of)
            return groups[(name, prefix)]

        key_source = {
            "id": ("id", 0),
            "postal3": ("postal_code", 3),
            "state": ("state", 0),
            "country": ("country", 0),
            "cell": ("_cell", 0),
        }

        def key_rows(key: str, values: Iterable[str]) -> tuple[int, list[IntArray]]:
            if key == "id":  # a hash look-up; no need to group a million ids
                found = frame.rows_with_id(frozenset(values))
                return len(found), [found]
            order, starts, code_of = group(*key_source[key])
            parts = []
            total = 0
            for v in values:
                c = code_of.get(v)
                if c is not None:
                    part = order[starts[c] : starts[c + 1]]
                    parts.append(part)
                    total += len(part)
            return total, parts

        all_rows = np.arange(n, dtype=np.int64)
        pair_rows: list[IntArray] = []
        pair_rules: list[IntArray] = []
        for rule, keys in zip(self.rules, self._rule_keys, strict=True):
            rows = all_rows
            if keys:
                best_total, best_parts = n + 1, None
                for key, values in keys:
                    total, parts = key_rows(key, values)
                    if total < best_total:
                        best_total, best_parts = total, parts
                if best_parts is not None:
                    rows = np.concatenate(best_parts) if best_parts else all_rows[:0]
            for cond in self._by_cost[rule.number]:
                if len(rows) == 0:
                    break
                rows = rows[cond.mask(frame, rows)]
            for exc_clause in rule.territory.exclusions:
                if len(rows) == 0 or not exc_clause:
                    break
                hit = np.ones(len(rows), dtype=bool)
                for cond in exc_clause:
                    hit &= cond.mask(frame, rows)
                rows = rows[~hit]
            if len(rows):
                pair_rows.append(rows)
                pair_rules.append(np.full(len(rows), rule.number, dtype=np.int64))

        rows_cat = np.concatenate(pair_rows) if pair_rows else np.zeros(0, np.int64)
        rules_cat = np.concatenate(pair_rules) if pair_rules else np.zeros(0, np.int64)
        ranks = self.ranks[rules_cat]
        order = np.lexsort((ranks, rows_cat))
        rows_sorted, rules_sorted = rows_cat[order], rules_cat[order]
        first = np.ones(len(rows_sorted), dtype=bool)
        first[1:] = rows_sorted[1:] != rows_sorted[:-1]
        best_rule = np.full(n, -1, dtype=np.int64)
        best_rule[rows_sorted[first]] = rules_sorted[first]

        # Distinct territories per row and the overlap pairs (winner vs every other).
        terr_sorted = self.rule_territory[rules_sorted]
        n_terr = len(self.rule_set.territories)
        pair_key = rows_sorted * n_terr + terr_sorted
        if len(self.rules) > n_terr:  # a territory with OR alternatives may match twice
            pair_key = np.unique(pair_key)
        pr, pt = pair_key // n_terr, pair_key % n_terr
        n_matched = np.bincount(pr, minlength=n).astype(np.int64)
        win_terr = np.where(best_rule >= 0, self.rule_territory[np.maximum(best_rule, 0)], -1)
        others = pt != win_terr[pr]
        terr_ids = np.array((*self.rule_set.territory_ids, ""), dtype=object)
        if others.any():
            ow, oo = win_terr[pr[others]], pt[others]
            combo, counts = np.unique(ow * n_terr + oo, return_counts=True)
            overlaps = pd.DataFrame(
                {
                    "winner": terr_ids[combo // n_terr],
                    "other": terr_ids[combo % n_terr],
                    "accounts": counts,
                }
            ).sort_values("accounts", ascending=False, ignore_index=True)
        else:
            overlaps = pd.DataFrame({"winner": [], "other": [], "accounts": []})

        territory = terr_ids[win_terr]  # -1 -> "" (the extra slot)
        territory[territory == ""] = None
        excluded = np.full(n, None, dtype=object)
        for exclusion in self.rule_set.exclusions:
            for clause in exclusion.clauses:
                hit = np.ones(n, dtype=bool)
                for cond in clause:
                    hit &= cond.mask(frame, all_rows)
                excluded[hit & (excluded == None)] = exclusion.name  # noqa: E711
        ex_mask = excluded != None  # noqa: E711
        territory[ex_mask] = None
        best_rule[ex_mask] = -1

        ids = frame.column("id").astype(str).to_numpy(dtype=object)
        overridden = np.zeros(n, dtype=bool)
        all_overrides = {**self.overrides, **{k.upper(): v for k, v in (overrides or {}).items()}}
        live = {k: o for k, o in all_overrides.items() if o.territory and o.active_on(today)}
        if live:
            for account, o in live.items():
                hit = frame.rows_with_id(frozenset([account]))
                if len(hit) == 0:
                    continue
                territory[hit] = o.territory
                overridden[hit] = True
                excluded[hit] = None
        return FrameRouting(
            ids=ids,
            territory=territory,
            n_matched=n_matched,
            rule=best_rule,
            excluded=excluded,
            overridden=overridden,
            overlaps=overlaps,
        )


def _override_dict(o: Override) -> dict[str, Any]:
    return {
        "id": o.id,
        "account": o.account,
        "territory": o.territory,
        "owner": o.owner,
        "reason": o.reason,
        "expires": o.expires.isoformat(),
    }


def _flip_hint(tie_breaker: str, winner: CompiledRule, loser: CompiledRule) -> str:
    if tie_breaker == "named":
        return f"remove the account from {winner.territory.label}'s named-account list"
    if tie_breaker == "priority":
        return (
            f"give {loser.territory.label} a priority below {winner.territory.priority} "
            f"(now {loser.territory.priority})"
        )
    if tie_breaker == "specificity":
        return f"make its rule more specific than {winner.specificity} points"
    return f"list it before {winner.territory.label} in the rules file"


def compile_rules(rule_set: RuleSet) -> CompiledRules:
    """Compile a parsed rule set for routing."""
    return CompiledRules(rule_set)
