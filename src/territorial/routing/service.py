"""The routing service: the store-backed shell around :mod:`territorial.routing.decide`.

:class:`RoutingService` keeps the active rule set compiled in memory (recompiled
when another version is activated), matches leads against the store's accounts, and
writes every decision, the pools' new state and the alerts it raised in **one
transaction**. Pool updates are serialised by a lock so round robin stays exact
under concurrent requests in one process (and rows are locked on PostgreSQL).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import OperationalError

from territorial.bounded import UnsafeInputError
from territorial.errors import ConflictError, NotFoundError, Problem, ValidationError
from territorial.routing import decide
from territorial.routing.alerts import Network, WebhookTargetError, check_webhook_target
from territorial.routing.coverage import coverage_report
from territorial.routing.engine import CompiledRules, compile_rules
from territorial.routing.matching import AccountMatcher
from territorial.routing.rules import RECORD_KINDS, RuleSet, parse_rules
from territorial.routing.simulate import simulate_change
from territorial.store import routing as store
from territorial.store.tables import accounts as accounts_table

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def rule_set_summary(rule_set: RuleSet) -> dict[str, Any]:
    """Counts shown next to a stored rule set version."""
    return {
        "territories": len(rule_set.territories),
        "rules": sum(len(t.clauses) for t in rule_set.territories),
        "regions": len(rule_set.hierarchy),
        "exclusions": len(rule_set.exclusions),
        "overrides": len(rule_set.overrides),
        "alerts": len(rule_set.alerts),
        "tie_breakers": list(rule_set.options.tie_breakers),
        "holdover_days": rule_set.options.holdover_days,
    }


def read_accounts_frame(engine: Engine) -> pd.DataFrame:
    """All accounts of the store with the canonical columns of ``store/tables.py``."""
    from territorial.store.records import read_accounts

    return read_accounts(engine)


def read_potential(engine: Engine, accounts: pd.DataFrame) -> pd.Series:
    """Potential in dollars per account: ``account_scores.potential``, else annual revenue."""
    from territorial.store.scores import read_scores

    revenue = pd.to_numeric(accounts.get("annual_revenue"), errors="coerce")
    if revenue is None:
        revenue = pd.Series(0.0, index=accounts.index)
    try:
        scores = read_scores(engine, columns=("account_id", "potential"))
    except Exception:  # the scoring branch may not be migrated in an old store
        log.debug("no account_scores; using annual revenue as potential", exc_info=True)
        return revenue.fillna(0.0).reset_index(drop=True)
    if scores.empty:
        return revenue.fillna(0.0).reset_index(drop=True)
    by_id = scores.set_index("account_id")["potential"]
    potential = accounts["id"].astype(str).map(by_id)
    return potential.fillna(revenue).fillna(0.0).reset_index(drop=True)


def _is_locked(exc: OperationalError) -> bool:
    """SQLite's "database is locked" / "database table is locked" (busy), worth a retry."""
    return "locked" in str(exc.orig).lower()


#: Batches at least this long run with the cyclic garbage collector paused.
GC_PAUSE_RECORDS = 1000

_gc_lock = threading.Lock()
_gc_pauses = 0


@contextmanager
def gc_paused(active: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees memory).

    A batch builds hundreds of thousands of long-lived objects (records, traces,
    decisions); each full collection would walk all of them again, about a fifth of
    a batch's time. Nested and concurrent pauses are counted; the last one resumes.
    """
    global _gc_pauses
    if not active:
        yield
        return
    with _gc_lock:
        if _gc_pauses == 0 and not gc.isenabled():
            active = False  # someone else turned it off: leave it alone
        else:
            _gc_pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if active:
            with _gc_lock:
                _gc_pauses -= 1
                if _gc_pauses == 0:
                    gc.enable()


@dataclass(frozen=True, slots=True)
class ActiveRules:
    rule_set_id: int
    compiled: CompiledRules
    activated_at: datetime | None


class RoutingService:
    """Route records against the active rule set and record every decision."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = utcnow,
        accounts_ttl_seconds: float = 300.0,
        cache_seconds: float = 1.0,
        webhook_networks: Sequence[Network] = (),
        write_retries: int = 5,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.accounts_ttl_seconds = accounts_ttl_seconds
        self.webhook_networks = tuple(webhook_networks)
        self.write_retries = write_retries
        self._lock = threading.RLock()
        self._active: ActiveRules | None = None
        self._compiled_by_id: dict[int, CompiledRules] = {}
        # The account index for lead matching: built once before the first request,
        # then rebuilt in a background thread and swapped in (requests keep using the
        # old one meanwhile; see ``matcher``).
        self._matcher: AccountMatcher | None = None
        self._matcher_ready = False
        self._matcher_loaded_at = 0.0
        self._matcher_options: tuple[frozenset[str], float] | None = None
        self._reload_lock = threading.Lock()
        self._reloading: threading.Thread | None = None
        # Small read caches, refreshed after ``cache_seconds`` (other processes may write)
        # and dropped at once when this process changes them.
        self.cache_seconds = cache_seconds
        self._cached: dict[str, tuple[float, Any]] = {}

    def _cache(self, name: str, load: Callable[[], Any]) -> Any:
        hit = self._cached.get(name)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        value = load()
        self._cached[name] = (now, value)
        return value

    def _forget(self, *names: str) -> None:
        for name in names:
            self._cached.pop(name, None)

    # ------------------------------------------------------------------ rule sets

    def compiled(self, conn: Connection, rule_set_id: int) -> CompiledRules:
        if rule_set_id not in self._compiled_by_id:
            row = store.get_rule_set(conn, rule_set_id=rule_set_id)
            rules = parse_rules(row["source"], source=f"rule set {rule_set_id}")
            self._compiled_by_id[rule_set_id] = compile_rules(rules)
        return self._compiled_by_id[rule_set_id]

    def active(self, conn: Connection) -> ActiveRules:
        """The active rule set, compiled (cached until another version is activated)."""
        row_id = self._cache("active", lambda: store.active_rule_set_id(conn))
        if row_id is None:
            raise ConflictError(
                "no rule set is active: upload one (POST /api/rules) and activate it "
                "(POST /api/rules/{id}/activate)"
            )
        if self._active is None or self._active.rule_set_id != row_id:
            row = store.get_rule_set(conn, rule_set_id=row_id)
            self._active = ActiveRules(
                row_id, self.compiled(conn, row_id), _aware(row["activated_at"])
            )
        return self._active

    def upload_rules(self, source: str, *, created_by: str | None = None) -> dict[str, Any]:
        """Validate and store a new draft version of the rules (422 with line numbers)."""
        rule_set = parse_rules(source, source="rules.yaml")
        self._check_webhooks(rule_set)
        with self.engine.begin() as conn:
            new_id = store.add_rule_set(
                conn,
                name=rule_set.name,
                source=source,
                digest=rule_set.digest,
                summary=rule_set_summary(rule_set),
                now=self.clock(),
                created_by=created_by,
            )
            return store.get_rule_set(conn, rule_set_id=new_id)

    def _check_webhooks(self, rule_set: RuleSet) -> None:
        """Refuse alerts whose webhook reaches an internal address (422 with the line)."""
        problems = []
        for alert in rule_set.alerts:
            if alert.channel != "webhook":
                continue
            try:
                check_webhook_target(alert.target, allowed=self.webhook_networks)
            except WebhookTargetError as exc:
                problems.append(
                    Problem("rules.yaml", alert.line, "alerts.webhook", alert.target, str(exc))
                )
        if problems:
            raise ValidationError(f"rules.yaml has {len(problems)} problem(s)", problems)

    def activate(self, rule_set_id: int) -> dict[str, Any]:
        with self._lock, self.engine.begin() as conn:
            row = store.activate_rule_set(conn, rule_set_id=rule_set_id, now=self.clock())
        self._active = None
        self._forget("active")
        self.warm()
        return row

    def warm(self) -> bool:
        """Compile the active rules and index the accounts now, not on the first request.

        Returns whether a rule set is active. Called after activation and at server start.
        """
        with self._lock, self.engine.connect() as conn:
            try:
                active = self.active(conn)
            except ConflictError:
                return False
        self._install_matcher(self._build_matcher(active.compiled), active.compiled)
        return True

    # ------------------------------------------------------------------ accounts

    def matcher(self, rules: CompiledRules) -> AccountMatcher | None:
        """Index of the store's accounts for lead matching.

        Built on first use (``warm`` builds it at start-up and activation); once it is
        older than ``accounts_ttl_seconds`` a new one is built in a background thread
        and swapped in when ready. Requests never wait for a rebuild: they use the
        index they have.
        """
        options = (rules.options.free_mail_domains, rules.options.match_threshold)
        if not self._matcher_ready or self._matcher_options != options:
            self._install_matcher(self._build_matcher(rules), rules)
        elif time.monotonic() - self._matcher_loaded_at >= self.accounts_ttl_seconds:
            self._reload_in_background(rules)
        return self._matcher

    def _build_matcher(self, rules: CompiledRules) -> AccountMatcher | None:
        """A new account index from the store (``None`` when there are no accounts)."""
        with self.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(accounts_table)).scalar()
            if not count:
                return None
            cols = [
                accounts_table.c[n]
                for n in ("id", "name", "domain", "state", "city", "postal_code")
            ]
            frame = pd.DataFrame(conn.execute(select(*cols)).all(), columns=[c.name for c in cols])
        return AccountMatcher(
            frame,
            free_mail_domains=rules.options.free_mail_domains,
            threshold=rules.options.match_threshold,
        )

    def _install_matcher(self, matcher: AccountMatcher | None, rules: CompiledRules) -> None:
        # One assignment each: a request reading ``_matcher`` sees the old or the new index.
        self._matcher = matcher
        self._matcher_options = (rules.options.free_mail_domains, rules.options.match_threshold)
        self._matcher_loaded_at = time.monotonic()
        self._matcher_ready = True

    def _reload_in_background(self, rules: CompiledRules) -> None:
        with self._reload_lock:
            if self._reloading is not None and self._reloading.is_alive():
                return

            def reload() -> None:
                try:
                    matcher = self._build_matcher(rules)
                except Exception:  # keep serving with the old index; try again later
                    log.exception("rebuilding the account index failed; keeping the old one")
                    self._matcher_loaded_at = time.monotonic()
                    return
                self._install_matcher(matcher, rules)
                log.info("account index rebuilt in the background")

            self._reloading = threading.Thread(
                target=reload, name="territorial-account-index", daemon=True
            )
            self._reloading.start()

    def refresh_accounts(self) -> None:
        """The accounts changed: rebuild the index in the background (requests go on)."""
        if self._active is not None and self._matcher_ready:
            self._reload_in_background(self._active.compiled)
        else:
            self._matcher_ready = False

    def _lookup(self, conn: Connection) -> decide.AccountLookup:
        def lookup(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
            out: dict[str, Mapping[str, Any]] = {}
            ids = list(ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = conn.execute(
                    select(accounts_table).where(accounts_table.c.id.in_(chunk))
                ).mappings()
                out.update({r["id"]: r for r in rows})
            return out

        return lookup

    # ------------------------------------------------------------------ routing

    def route(self, record: Mapping[str, Any], *, kind: str) -> decide.Decision:
        """Route one record, with the full why-trace, and record the decision."""
        return self._route([record], kind=kind, batch=False)[0]

    def route_batch(
        self, records: Sequence[Mapping[str, Any]], *, kind: str
    ) -> tuple[str, list[decide.Decision]]:
        """Route many records (vectorised) in one transaction; returns ``(batch id, decisions)``."""
        batch_id = str(uuid.uuid4())
        return batch_id, self._route(records, kind=kind, batch=True, batch_id=batch_id)

    def _route(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        kind: str,
        batch: bool,
        batch_id: str | None = None,
    ) -> list[decide.Decision]:
        if kind not in RECORD_KINDS:
            raise NotFoundError(f"unknown record kind {kind!r}; use one of {RECORD_KINDS}")
        for attempt in range(self.write_retries + 1):
            try:
                return self._route_once(records, kind=kind, batch=batch, batch_id=batch_id)
            except OperationalError as exc:
                if attempt >= self.write_retries or not _is_locked(exc):
                    raise
                # Another process held SQLite's write lock past the busy timeout, or a
                # snapshot went stale: the transaction rolled back; try it again.
                log.warning("routing write found the database locked; retry %d", attempt + 1)
                time.sleep(min(0.5, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def _route_once(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        kind: str,
        batch: bool,
        batch_id: str | None,
    ) -> list[decide.Decision]:
        now = self.clock()
        with (
            gc_paused(batch and len(records) >= GC_PAUSE_RECORDS),
            self._lock,
            self.engine.begin() as conn,
        ):
            active = self.active(conn)
            rules = active.compiled
            matcher = self.matcher(rules) if kind == "lead" else None
            overrides = self._cache("overrides", lambda: store.overrides_for(conn))
            absences = self._cache("absences", lambda: store.load_absences(conn))
            pools = decide.PoolBook(absences=absences)

            def load_pool(territory_id: str) -> dict[str, Any]:
                return store.load_pool_states(conn, territory_id=territory_id)

            common: dict[str, Any] = {
                "kind": kind,
                "now": now,
                "matcher": matcher,
                "lookup": self._lookup(conn),
                "overrides": overrides,
                "pools": pools,
                "load_pool": load_pool,
                "realigned_at": active.activated_at,
            }
            if batch:
                decisions = decide.decide_batch(rules, records, **common)
            else:
                decisions = [decide.decide_one(rules, records[0], **common)]
            for territory_id in pools.touched:
                store.save_pool_states(
                    conn, territory_id=territory_id, states=pools.states[territory_id]
                )
            if batch_id is not None:
                ids = store.add_decision_batch(
                    conn,
                    decided_at=now,
                    rule_set_id=active.rule_set_id,
                    batch_id=batch_id,
                    record_kind=kind,
                    record_ids=[d.record_id for d in decisions],
                    account_ids=[d.account_id for d in decisions],
                    territory_ids=[d.territory_id for d in decisions],
                    owner_ids=[d.owner_id for d in decisions],
                    reasons=[d.reason for d in decisions],
                    traces=[d.trace for d in decisions],
                )
            else:
                ids = store.add_decisions(
                    conn,
                    rows=[
                        {
                            "decided_at": now,
                            "rule_set_id": active.rule_set_id,
                            "batch_id": None,
                            "record_kind": kind,
                            "record_id": d.record_id,
                            "account_id": d.account_id,
                            "territory_id": d.territory_id,
                            "owner_id": d.owner_id,
                            "reason": d.reason,
                            "trace": d.trace,
                        }
                        for d in decisions
                    ],
                )
            alerts = []
            rule_set_id = active.rule_set_id
            for decision, decision_id in zip(decisions, ids, strict=True):
                decision.id = decision_id
                decision.decided_at = now
                decision.rule_set_id = rule_set_id
                decision.batch_id = batch_id
                for alert in decision.alerts:
                    alerts.append(
                        {
                            "decision_id": decision_id,
                            "alert": alert.name,
                            "channel": alert.channel,
                            "target": alert.target,
                            "payload": {
                                "alert": alert.name,
                                **decision.summary(),
                                "decided_at": now.isoformat(),
                            },
                        }
                    )
            store.enqueue_alerts(conn, rows=alerts, now=now)
        return decisions

    # ------------------------------------------------------------------ look-ups

    def decision(self, decision_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return store.get_decision(conn, decision_id=decision_id)

    def explain(self, decision_id: int) -> dict[str, Any]:
        """The full why-trace of a past decision, replayed with its own rule set version."""
        with self.engine.connect() as conn:
            row = store.get_decision(conn, decision_id=decision_id)
            if row["trace"].get("mode") != "batch" or row["rule_set_id"] is None:
                return row["trace"]
            rules = self.compiled(conn, row["rule_set_id"])
            record = row["trace"].get("record") or {}
            replay = decide.decide_one(
                rules,
                record,
                kind=row["record_kind"],
                now=_aware(row["decided_at"]) or self.clock(),
                lookup=self._lookup(conn),
            )
        trace = dict(replay.trace)
        # The owner pick depended on the pool state of the day: keep the recorded one.
        trace["owner"] = row["trace"].get("owner")
        trace["reason"] = row["reason"]
        trace["replayed"] = True
        return trace

    def set_absence(self, rep_id: str, *, start: date, end: date, note: str | None) -> None:
        with self.engine.begin() as conn:
            store.set_absence(
                conn, rep_id=rep_id, start=start, end=end, note=note, now=self.clock()
            )
        self._forget("absences")

    # ------------------------------------------------------------------ rules reports

    def validate(self, source: str) -> dict[str, Any]:
        """Check a rules text; problems carry line numbers. Coverage when accounts exist."""
        try:
            rule_set = parse_rules(source, source="rules.yaml")
        except UnsafeInputError:
            raise  # nothing was read: an error answer, not a report
        except ValidationError as exc:
            return {
                "valid": False,
                "problems": [p.to_dict() for p in exc.problems],
                "summary": None,
                "coverage": None,
            }
        accounts = read_accounts_frame(self.engine)
        coverage = (
            coverage_report(compile_rules(rule_set), accounts, today=self.clock().date()).to_dict()
            if len(accounts)
            else None
        )
        return {
            "valid": True,
            "problems": [],
            "summary": rule_set_summary(rule_set),
            "coverage": coverage,
        }

    def coverage(self, rule_set_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            rules = self.compiled(conn, rule_set_id)
        accounts = read_accounts_frame(self.engine)
        return coverage_report(rules, accounts, today=self.clock().date()).to_dict()

    def simulate(self, rule_set_id: int) -> dict[str, Any]:
        """Per-rep difference between the active rules and version ``rule_set_id``."""
        with self.engine.connect() as conn:
            proposed = self.compiled(conn, rule_set_id)
            active_id = store.active_rule_set_id(conn)
            current = self.compiled(conn, active_id) if active_id is not None else None
        accounts = read_accounts_frame(self.engine)
        if current is None:
            current = compile_rules(
                RuleSet(name="(no active rules)", options=proposed.options, territories=())
            )
        report = simulate_change(
            current,
            proposed,
            accounts,
            potential=read_potential(self.engine, accounts),
            today=self.clock().date(),
        )
        out = report.to_dict()
        out["current_rule_set_id"] = active_id
        out["proposed_rule_set_id"] = rule_set_id
        return out

    def rule_set(self, rule_set_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return store.get_rule_set(conn, rule_set_id=rule_set_id)

    def active_row(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = store.active_rule_set(conn)
        if row is None:
            raise NotFoundError("no rule set is active")
        return row

    def rule_sets(self, *, limit: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return store.list_rule_sets(conn, limit=limit)

    def decisions(
        self, *, record_id: str | None, batch_id: str | None, limit: int
    ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return store.list_decisions(conn, record_id=record_id, batch_id=batch_id, limit=limit)

    # ------------------------------------------------------------------ overrides, absences

    def add_override(
        self,
        *,
        account_id: str,
        reason: str,
        expires_on: date,
        territory_id: str | None,
        owner_id: str | None,
        created_by: str | None = None,
    ) -> dict[str, Any]:
        today = self.clock().date()
        if expires_on < today:
            raise ValidationError(
                f"expires_on {expires_on.isoformat()} is in the past (today is {today.isoformat()})"
            )
        if territory_id is None and owner_id is None:
            raise ValidationError("an override sets territory_id, owner_id or both")
        with self._lock, self.engine.begin() as conn:
            if territory_id is not None:
                active = self.active(conn)
                if territory_id not in active.compiled.territory_index:
                    raise ValidationError(
                        f"territory {territory_id!r} is not in the active rule set "
                        f"{active.compiled.rule_set.name!r}"
                    )
            new_id = store.add_override(
                conn,
                account_id=account_id,
                reason=reason,
                expires_on=expires_on,
                territory_id=territory_id,
                owner_id=owner_id,
                created_by=created_by,
                now=self.clock(),
            )
            row = store.get_override(conn, override_id=new_id)
        self._forget("overrides")
        return row

    def revoke_override(self, override_id: int) -> dict[str, Any]:
        with self.engine.begin() as conn:
            row = store.revoke_override(conn, override_id=override_id, now=self.clock())
        self._forget("overrides")
        return row

    def overrides(self, *, include_inactive: bool) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return store.list_overrides(
                conn, include_inactive=include_inactive, today=self.clock().date()
            )

    def clear_absence(self, rep_id: str) -> None:
        with self.engine.begin() as conn:
            store.clear_absence(conn, rep_id=rep_id)
        self._forget("absences")

    def alerts(self, *, status: str | None, limit: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return store.list_alerts(conn, status=status, limit=limit)
