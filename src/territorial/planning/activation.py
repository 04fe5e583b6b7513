"""Activating a version of the territory model: one transaction, nothing deleted.

:func:`activate` makes an approved version the territory model, or schedules it for its
effective date. On the day it takes effect, in **one transaction**:

1. every assigned account's owner (``accounts.owner_id``) becomes its territory's owner
   rep; each change is appended to ``account_owner_history``;
2. the routing rules are regenerated from the version (postal codes, named accounts
   where a postal code is split, a state fallback for new places; the previous rule
   set's settings, exclusions and alerts are kept) and activated, so routing an
   account, or a lead that matches one, gives the version's owner;
3. the holdover policy applies to open opportunities of accounts that change owner:
   they stay with their owner until they close or until a date (``held``), or move to
   the new owner (``transferred``); each is recorded in ``opportunity_holdovers``;
4. every rep whose book changed gets a notification with their diff (gained and lost
   accounts) and, when they have an e-mail address, an e-mail in the alert outbox;
5. the previously active version becomes ``superseded``.

A failure anywhere rolls everything back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import pandas as pd
import yaml
from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    and_,
    bindparam,
    insert,
    select,
    text,
    update,
)

from territorial.errors import ConfigError, ConflictError, ValidationError
from territorial.planning.lifecycle import CLI, Actor, _check_effective, _require_planner, _row
from territorial.planning.ownership import _territory_reps
from territorial.store.planning import add_event, holdovers, notify_many, query_frame, utcnow
from territorial.store.tables import accounts, opportunities, plan_assignments, plans, reps

log = logging.getLogger(__name__)

HoldoverMode = Literal["until_close", "until_date", "none"]


@dataclass(frozen=True, slots=True)
class HoldoverPolicy:
    """What happens to open opportunities of accounts that change owner.

    ``until_close`` (default): they stay with their current owner until they close;
    ``until_date``: until ``until``, then they go to the new owner
    (:func:`release_holdovers`); ``none``: they move to the new owner at once.
    """

    mode: HoldoverMode = "until_close"
    until: date | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("until_close", "until_date", "none"):
            raise ConfigError(
                f"holdover must be until_close, until_date or none; got {self.mode!r}"
            )
        if self.mode == "until_date" and self.until is None:
            raise ConfigError("a holdover until a date needs the date (--holdover-until)")
        if self.mode != "until_date" and self.until is not None:
            raise ConfigError("--holdover-until goes with the until_date holdover")

    def routing_days(self, effective: date) -> int:
        """``holdover_days`` for the generated routing rules (see docs/routing.md)."""
        if self.mode == "none":
            return 0
        if self.mode == "until_date" and self.until is not None:
            return max(0, (self.until - effective).days)
        # Until close: an open opportunity routed later keeps its owner for ten years,
        # i.e. for as long as it stays open.
        return 3650


@dataclass(frozen=True)
class ActivationReport:
    """What an activation did (or scheduled)."""

    plan_id: int
    status: str
    effective_date: date
    accounts: int = 0
    owners_changed: int = 0
    unknown_accounts: int = 0
    rule_set_id: int | None = None
    held_opportunities: int = 0
    transferred_opportunities: int = 0
    reps_notified: int = 0
    emails_queued: int = 0
    superseded_plan_id: int | None = None
    seconds: float = 0.0
    holdover: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["effective_date"] = self.effective_date.isoformat()
        return out


def activate(
    engine: Engine,
    *,
    plan_id: int,
    actor: Actor = CLI,
    effective_date: date | None = None,
    holdover: HoldoverPolicy | None = None,
    today: date | None = None,
) -> ActivationReport:
    """Activate an approved version now, or schedule it for a later effective date.

    ``effective_date`` defaults to the date set at approval, else today; a date in the
    past is refused. A scheduled version is activated by :func:`activate_due` (run by
    ``territorial worker`` and ``territorial plans activate-due``).
    """
    _require_planner(actor, "activate")
    today = today or date.today()
    started = time.perf_counter()
    with engine.begin() as conn:
        row = _row(conn, plan_id)
        if row["status"] not in ("approved", "scheduled"):
            hint = (
                " (submit it and have it approved first)"
                if row["status"] in ("draft", "submitted")
                else ""
            )
            raise ConflictError(
                f"plan {plan_id} is {row['status']}; only an approved plan can be activated{hint}"
            )
        effective = effective_date or row["effective_date"] or today
        _check_effective(effective, today)
        policy = holdover or _stored_policy(row) or HoldoverPolicy()
        if effective > today:
            conn.execute(
                update(plans)
                .where(plans.c.id == plan_id)
                .values(status="scheduled", effective_date=effective, holdover=asdict(policy))
            )
            add_event(
                conn,
                plan_id=plan_id,
                actor=actor.name,
                action="scheduled",
                from_status=row["status"],
                to_status="scheduled",
                note=effective.isoformat(),
                details={"holdover": _policy_json(policy)},
            )
            return ActivationReport(
                plan_id=plan_id,
                status="scheduled",
                effective_date=effective,
                holdover=_policy_json(policy),
                seconds=time.perf_counter() - started,
            )
        report = _apply(conn, row, effective=effective, policy=policy, actor=actor)
    return ActivationReport(**{**asdict(report), "seconds": time.perf_counter() - started})


def activate_due(engine: Engine, *, today: date | None = None) -> list[ActivationReport]:
    """Activate every scheduled version whose effective date has come (oldest date first;
    when several are due, the last one wins and the others end superseded)."""
    today = today or date.today()
    with engine.connect() as conn:
        due = [
            int(r[0])
            for r in conn.execute(
                select(plans.c.id)
                .where(plans.c.status == "scheduled", plans.c.effective_date <= today)
                .order_by(plans.c.effective_date, plans.c.id)
            )
        ]
    reports = []
    for plan_id in due:
        started = time.perf_counter()
        with engine.begin() as conn:
            row = _row(conn, plan_id)
            if row["status"] != "scheduled":  # another worker got there first
                continue
            policy = _stored_policy(row) or HoldoverPolicy()
            report = _apply(
                conn,
                row,
                effective=row["effective_date"],
                policy=policy,
                actor=Actor("scheduler"),
            )
        reports.append(
            ActivationReport(**{**asdict(report), "seconds": time.perf_counter() - started})
        )
    return reports


def _stored_policy(row: Mapping[str, Any]) -> HoldoverPolicy | None:
    stored = row.get("holdover")
    if not stored:
        return None
    until = stored.get("until")
    return HoldoverPolicy(
        mode=stored.get("mode", "until_close"),
        until=date.fromisoformat(until) if isinstance(until, str) else until,
    )


def _policy_json(policy: HoldoverPolicy) -> dict[str, Any]:
    return {
        "mode": policy.mode,
        "until": None if policy.until is None else policy.until.isoformat(),
    }


# --- the one transaction ----------------------------------------------------------------------
def _apply(
    conn: Connection,
    row: Mapping[str, Any],
    *,
    effective: date,
    policy: HoldoverPolicy,
    actor: Actor,
) -> ActivationReport:
    plan_id = int(row["id"])
    now = utcnow()
    members = _territory_reps(conn, plan_id)
    owners = _checked_owners(conn, plan_id, members)
    names = members.drop_duplicates("territory_id").set_index("territory_id")["territory_name"]

    assigned = query_frame(
        conn,
        select(plan_assignments.c.account_id, plan_assignments.c.territory_id).where(
            plan_assignments.c.plan_id == plan_id
        ),
    )
    stored = query_frame(
        conn,
        select(accounts.c.id, accounts.c.owner_id, accounts.c.postal_code, accounts.c.state),
    )
    known = assigned["account_id"].isin(stored["id"])
    unknown = int((~known).sum())
    if unknown:
        log.warning("plan %s assigns %d accounts the store no longer has", plan_id, unknown)
    assigned = assigned[known].copy()
    assigned["owner_id"] = assigned["territory_id"].map(owners)
    current = stored.set_index("id")["owner_id"].reindex(assigned["account_id"]).to_numpy()
    assigned["previous_owner_id"] = current
    changed = assigned[
        assigned["owner_id"].fillna("\0").to_numpy() != pd.Series(current).fillna("\0").to_numpy()
    ]

    # 1. owners, and their history
    _update_owners(conn, changed, plan_id=plan_id, now=now, effective=effective)

    # 2. routing rules
    rule_set_id = _activate_rules(
        conn,
        plan_id=plan_id,
        plan_name=str(row["name"]),
        assignment=assigned[["account_id", "territory_id"]],
        stored=stored,
        owners=owners,
        names=names.to_dict(),
        policy=policy,
        effective=effective,
        now=now,
        actor=actor,
    )

    # 3. holdovers of open opportunities
    held, transferred = _holdovers(conn, plan_id, changed, policy, now)

    # 4. notifications and e-mails for every rep whose book changed
    notified, emailed = _notify_reps(conn, plan_id, str(row["name"]), changed, names, now)

    # 5. the lifecycle
    previous = conn.execute(
        select(plans.c.id).where(plans.c.status == "active", plans.c.id != plan_id)
    ).all()
    superseded = None
    for (old_id,) in previous:
        conn.execute(
            update(plans).where(plans.c.id == old_id).values(status="superseded", superseded_at=now)
        )
        add_event(
            conn,
            plan_id=int(old_id),
            actor=actor.name,
            action="superseded",
            from_status="active",
            to_status="superseded",
            note=f"by plan {plan_id}",
        )
        superseded = int(old_id)
    conn.execute(
        update(plans)
        .where(plans.c.id == plan_id)
        .values(
            status="active",
            activated_at=now,
            effective_date=effective,
            rule_set_id=rule_set_id,
            holdover=_policy_json(policy),
        )
    )
    report = ActivationReport(
        plan_id=plan_id,
        status="active",
        effective_date=effective,
        accounts=len(assigned),
        owners_changed=len(changed),
        unknown_accounts=unknown,
        rule_set_id=rule_set_id,
        held_opportunities=held,
        transferred_opportunities=transferred,
        reps_notified=notified,
        emails_queued=emailed,
        superseded_plan_id=superseded,
        holdover=_policy_json(policy),
    )
    details = report.to_dict()
    details.pop("seconds", None)
    add_event(
        conn,
        plan_id=plan_id,
        actor=actor.name,
        action="activated",
        from_status=str(row["status"]),
        to_status="active",
        note=effective.isoformat(),
        details=details,
    )
    return report


def _text(value: Any) -> str | None:
    """An id for a text column: pandas' missing values (NaN, None) become NULL."""
    return None if value is None or pd.isna(value) else str(value)


def _checked_owners(conn: Connection, plan_id: int, members: pd.DataFrame) -> dict[str, str]:
    """Territory → owner rep; every territory needs an owner who is an active rep."""
    rep_rows = {r.id: bool(r.active) for r in conn.execute(select(reps.c.id, reps.c.active))}
    owners_frame = members[(members["role"] == "owner") & members["rep_id"].notna()]
    owners = dict(
        owners_frame.drop_duplicates("territory_id")[["territory_id", "rep_id"]].to_numpy()
    )
    used = {
        r[0]
        for r in conn.execute(
            select(plan_assignments.c.territory_id)
            .where(plan_assignments.c.plan_id == plan_id)
            .distinct()
        )
    }
    vacant = sorted(t for t in used if t not in owners)
    if vacant:
        raise ConflictError(
            f"plan {plan_id}: {len(vacant)} territories have no owner rep "
            f"({', '.join(vacant[:5])}{'...' if len(vacant) > 5 else ''}); give each an owner "
            "(territorial plans assign PLAN TERRITORY REP) before activating"
        )
    not_reps = sorted({r for r in owners.values() if r not in rep_rows})
    if not_reps:
        raise ConflictError(
            f"plan {plan_id} names owners that are not reps in the store: "
            f"{', '.join(not_reps[:5])}; import them (reps file) or assign other reps"
        )
    inactive = sorted({r for r in owners.values() if not rep_rows[r]})
    if inactive:
        raise ConflictError(
            f"plan {plan_id} gives territories to inactive reps: {', '.join(inactive[:5])}"
        )
    return {str(k): str(v) for k, v in owners.items()}


def _insert_chunks(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        conn.execute(insert(table), rows[start : start + 5000])


def _update_owners(
    conn: Connection, changed: pd.DataFrame, *, plan_id: int, now: datetime, effective: date
) -> None:
    """Set ``accounts.owner_id`` of the changed accounts and append their owner history,
    each in one statement over a temporary table (COPY on PostgreSQL)."""
    if changed.empty:
        return
    tmp = "tmp_owner_changes"
    columns = ("account_id", "owner_id", "previous_owner_id", "territory_id")
    ddl = ", ".join(
        f"{c} VARCHAR(128){' PRIMARY KEY' if c == 'account_id' else ''}" for c in columns
    )
    rows = [
        (str(a), _text(o), _text(p), _text(t))
        for a, o, p, t in changed[list(columns)].itertuples(index=False)
    ]
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"CREATE TEMP TABLE {tmp} ({ddl}) ON COMMIT DROP"))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {tmp} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.execute(text(f"DROP TABLE IF EXISTS temp.{tmp}"))
        conn.execute(text(f"CREATE TEMP TABLE {tmp} ({ddl})"))
        conn.connection.driver_connection.executemany(  # type: ignore[union-attr]
            f"INSERT INTO {tmp} ({', '.join(columns)}) VALUES (?, ?, ?, ?)", rows
        )
    conn.execute(
        text(
            f"UPDATE accounts SET owner_id = {tmp}.owner_id FROM {tmp} "
            f"WHERE accounts.id = {tmp}.account_id"
        )
    )
    conn.execute(
        text(
            "INSERT INTO account_owner_history (account_id, previous_owner_id, owner_id, "
            "territory_id, plan_id, changed_at, effective_date, source) "
            f"SELECT account_id, previous_owner_id, owner_id, territory_id, :plan, :now, "
            f":effective, 'activation' FROM {tmp}"
        ).bindparams(
            bindparam("plan", type_=Integer),
            bindparam("now", type_=DateTime(timezone=True)),
            bindparam("effective", type_=Date),
        ),
        {"plan": plan_id, "now": now, "effective": effective},
    )
    if conn.dialect.name != "postgresql":
        conn.execute(text(f"DROP TABLE temp.{tmp}"))


def _without_regions(source: str) -> str:
    """The rules text without its top-level ``regions`` block: only the settings,
    exclusions and alerts are carried over, and the territories of a large model take
    most of the text (and of the parse time)."""
    kept: list[str] = []
    skipping = False
    for line in source.splitlines():
        # a key at column 0; "- " at column 0 is an item of the key above (PyYAML writes
        # lists under a key without indenting them)
        top_level = bool(line) and not line[0].isspace() and line[0] not in "#-"
        if top_level:
            skipping = line.startswith("regions:")
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def _activate_rules(
    conn: Connection,
    *,
    plan_id: int,
    plan_name: str,
    assignment: pd.DataFrame,
    stored: pd.DataFrame,
    owners: Mapping[str, str],
    names: Mapping[str, str],
    policy: HoldoverPolicy,
    effective: date,
    now: datetime,
    actor: Actor,
) -> int:
    """Generate the routing rules of the version, store them and make them active."""
    from territorial.routing.plans import dump_rules, rules_from_plan
    from territorial.routing.rules import parse_rules
    from territorial.routing.service import rule_set_summary
    from territorial.store import routing as routing_store

    previous = routing_store.active_rule_set(conn)
    kept: dict[str, Any] = {}
    if previous is not None:
        try:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            kept = yaml.load(_without_regions(previous["source"]), Loader=loader) or {}
        except yaml.YAMLError:  # it was validated when uploaded; keep going without it
            kept = {}
    settings = dict(kept.get("settings") or {})
    settings.setdefault("tie_breakers", ["named", "priority", "specificity", "order"])
    settings["holdover_days"] = policy.routing_days(effective)
    document = rules_from_plan(
        assignment,
        stored.rename(columns={"owner_id": "crm_owner_id"}),
        by="postal_code",
        name=f"Territory model {plan_id}: {plan_name}",
        region=f"plan-{plan_id}",
        territory_names={k: str(v) for k, v in names.items()},
        owners=owners,
        fallback="state",
        settings=settings,
    )
    regions = document.pop("regions")
    for key in ("exclusions", "alerts"):  # before the (long) regions: see _without_regions
        if kept.get(key):
            document[key] = kept[key]
    document["regions"] = regions
    source = dump_rules(document)
    try:
        rule_set = parse_rules(source, source=f"territory model {plan_id}")
    except ValidationError as exc:
        raise ConflictError(
            f"the routing rules generated from plan {plan_id} do not validate: {exc.message}"
        ) from exc
    rule_set_id = routing_store.add_rule_set(
        conn,
        name=rule_set.name,
        source=source,
        digest=rule_set.digest,
        summary={**rule_set_summary(rule_set), "plan_id": plan_id},
        now=now,
        created_by=actor.name,
    )
    routing_store.activate_rule_set(conn, rule_set_id=rule_set_id, now=now)
    return rule_set_id


def _holdovers(
    conn: Connection,
    plan_id: int,
    changed: pd.DataFrame,
    policy: HoldoverPolicy,
    now: datetime,
) -> tuple[int, int]:
    if changed.empty:
        return 0, 0
    new_owner = dict(changed[["account_id", "owner_id"]].to_numpy())
    ids = list(new_owner)
    open_opps: list[Any] = []
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        open_opps.extend(
            conn.execute(
                select(
                    opportunities.c.id, opportunities.c.account_id, opportunities.c.owner_id
                ).where(
                    and_(
                        opportunities.c.account_id.in_(chunk), opportunities.c.is_closed.is_(False)
                    )
                )
            ).all()
        )
    rows: list[dict[str, Any]] = []
    transfers: list[tuple[str, str | None]] = []
    for opp_id, account_id, owner_id in open_opps:
        target = new_owner.get(account_id)
        if owner_id == target:
            continue
        action = "transferred" if policy.mode == "none" else "held"
        rows.append(
            {
                "opportunity_id": opp_id,
                "account_id": account_id,
                "plan_id": plan_id,
                "held_owner_id": owner_id,
                "new_owner_id": target,
                "action": action,
                "until": policy.until if policy.mode == "until_date" else None,
                "created_at": now,
                "released_at": now if action == "transferred" else None,
            }
        )
        if action == "transferred":
            transfers.append((opp_id, target))
    _insert_chunks(conn, holdovers, rows)
    for opp_id, target in transfers:
        conn.execute(
            update(opportunities).where(opportunities.c.id == opp_id).values(owner_id=target)
        )
    return len(rows) - len(transfers), len(transfers)


def release_holdovers(engine: Engine, *, today: date | None = None) -> int:
    """Hand over held opportunities whose holdover date has passed and that are still
    open to the account's owner in the active model; returns how many moved."""
    today = today or date.today()
    moved = 0
    with engine.begin() as conn:
        due = conn.execute(
            select(holdovers.c.id, holdovers.c.opportunity_id, holdovers.c.new_owner_id)
            .where(
                holdovers.c.action == "held",
                holdovers.c.released_at.is_(None),
                holdovers.c.until.is_not(None),
                holdovers.c.until < today,
            )
            .order_by(holdovers.c.id)
        ).all()
        now = utcnow()
        for holdover_id, opp_id, target in due:
            done = conn.execute(
                update(opportunities)
                .where(opportunities.c.id == opp_id, opportunities.c.is_closed.is_(False))
                .values(owner_id=target)
            )
            conn.execute(
                update(holdovers).where(holdovers.c.id == holdover_id).values(released_at=now)
            )
            moved += int(done.rowcount or 0)
    return moved


def _notify_reps(
    conn: Connection,
    plan_id: int,
    plan_name: str,
    changed: pd.DataFrame,
    names: pd.Series,
    now: datetime,
) -> tuple[int, int]:
    from territorial.store.routing import enqueue_alerts

    if changed.empty:
        return 0, 0
    gained = changed.dropna(subset=["owner_id"]).groupby("owner_id")["account_id"].apply(list)
    lost = (
        changed.dropna(subset=["previous_owner_id"])
        .groupby("previous_owner_id")["account_id"]
        .apply(list)
    )
    territory_of = changed.dropna(subset=["owner_id"]).drop_duplicates("owner_id")
    territory_of = dict(territory_of[["owner_id", "territory_id"]].to_numpy())
    emails = {
        r.id: r.email
        for r in conn.execute(select(reps.c.id, reps.c.email))
        if r.email and "@" in str(r.email)
    }
    notes: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for rep in sorted(set(gained.index) | set(lost.index)):
        got = sorted(gained.get(rep, []))
        gone = sorted(lost.get(rep, []))
        territory = territory_of.get(rep)
        body = {
            "plan_id": plan_id,
            "plan": plan_name,
            "territory": None if territory is None else str(names.get(territory, territory)),
            "gained": len(got),
            "lost": len(gone),
            "gained_accounts": got[:200],
            "lost_accounts": gone[:200],
        }
        title = f"Your book changed: +{len(got)} / -{len(gone)} accounts ({plan_name})"
        notes.append(
            {
                "kind": "book_changed",
                "title": title,
                "body": body,
                "rep_id": rep,
                "plan_id": plan_id,
            }
        )
        if rep in emails:
            alerts.append(
                {
                    "decision_id": None,
                    "alert": "Book changed",
                    "channel": "email",
                    "target": emails[rep],
                    "payload": {**body, "rep_id": rep},
                }
            )
    notify_many(conn, rows=notes, at=now)
    enqueue_alerts(conn, rows=alerts, now=now)
    return len(notes), len(alerts)


__all__ = [
    "ActivationReport",
    "HoldoverPolicy",
    "activate",
    "activate_due",
    "release_holdovers",
]
