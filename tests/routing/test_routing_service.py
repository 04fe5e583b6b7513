"""The store-backed routing service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from territorial.errors import ConflictError, ValidationError
from territorial.routing.alerts import backoff, deliver_due_alerts
from territorial.routing.service import RoutingService
from territorial.store import open_store
from territorial.store import routing as store
from territorial.store.tables import accounts

RULES = """
version: 1
name: service test
settings: {holdover_days: 30}
regions:
  - id: west
    match: {state: [CA]}
    territories:
      - id: west-ent
        match: {employees: {min: 1000}}
        owner: ann
      - id: west-pool
        match: {}
        pool: {strategy: round_robin, members: [p1, p2, p3]}
  - id: east
    match: {state: [NY]}
    territories:
      - {id: east-all, name: All, match: {}, owner: bob}
alerts:
  - name: hot lead
    kinds: [lead]
    when: {tier: A}
    webhook: https://hooks.example.com/x
  - name: new opportunity
    kinds: [opportunity]
    email: ops@example.com
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engine(store_url: str) -> Engine:
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(
            insert(accounts),
            [
                {
                    "id": "ACC-1",
                    "name": "Acme, Inc.",
                    "domain": "acme.com",
                    "state": "CA",
                    "employees": 5000,
                    "owner_id": "ann",
                },
                {
                    "id": "ACC-2",
                    "name": "Globex",
                    "domain": "globex.com",
                    "state": "NY",
                    "employees": 50,
                    "owner_id": "zed",
                },
                {
                    "id": "ACC-3",
                    "name": "Small Co",
                    "domain": "small.co",
                    "state": "CA",
                    "employees": 10,
                    "owner_id": "p3",
                },
            ],
        )
    return engine


@pytest.fixture
def service(engine: Engine) -> RoutingService:
    svc = RoutingService(engine, clock=Clock())
    row = svc.upload_rules(RULES)
    svc.activate(row["id"])
    return svc


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_route_records_decision_with_trace_and_alert(service: RoutingService) -> None:
    d = service.route({"id": "L1", "state": "CA", "employees": 20, "tier": "A"}, kind="lead")
    assert (d.territory_id, d.owner_id) == ("west-pool", "p1")
    row = service.decision(d.id)
    assert row["reason"] == d.reason and row["trace"]["winner"] == "west-pool"
    assert row["trace"]["owner"]["method"] == "round robin"
    alerts = service.alerts(status="pending", limit=10)
    assert [(a["alert"], a["decision_id"]) for a in alerts] == [("hot lead", d.id)]


def test_lead_matches_store_account_and_goes_to_its_owner(service: RoutingService) -> None:
    d = service.route({"id": "L2", "email": "amy@small.co", "state": "NY"}, kind="lead")
    # Routed as the matched account (CA, 10 employees), kept by the account's owner p3.
    assert (d.account_id, d.territory_id, d.owner_id) == ("ACC-3", "west-pool", "p3")
    assert d.trace["account_match"]["method"] == "e-mail domain"
    assert d.reason.startswith("lead matched account ACC-3 by e-mail domain")
    free = service.route({"id": "L3", "email": "amy@gmail.com", "state": "NY"}, kind="lead")
    assert (free.account_id, free.territory_id) == (None, "east-all")


def test_pool_state_survives_a_restart(engine: Engine, service: RoutingService) -> None:
    first = [service.route({"id": f"x{i}", "state": "CA"}, kind="lead").owner_id for i in range(2)]
    again = RoutingService(engine, clock=Clock())
    later = [again.route({"id": f"y{i}", "state": "CA"}, kind="lead").owner_id for i in range(2)]
    assert first + later == ["p1", "p2", "p3", "p1"]
    with engine.connect() as conn:
        states = store.load_pool_states(conn, territory_id="west-pool")
    assert {r: s.assigned_total for r, s in states.items()} == {"p1": 2, "p2": 1, "p3": 1}


def test_absent_rep_is_skipped(service: RoutingService) -> None:
    service.set_absence("p1", start=date(2026, 11, 1), end=date(2026, 11, 30), note="leave")
    owners = [service.route({"id": f"x{i}", "state": "CA"}, kind="lead").owner_id for i in range(3)]
    assert owners == ["p2", "p3", "p2"]


def test_holdover_keeps_open_opportunity_with_former_owner(service: RoutingService) -> None:
    opp = {"id": "O1", "account_id": "ACC-1", "owner_id": "old-rep", "is_closed": False}
    d = service.route(opp, kind="opportunity")
    assert (d.territory_id, d.owner_id) == ("west-ent", "old-rep")
    assert "stays with its former owner old-rep until 2026-12-22" in d.reason
    closed = service.route({**opp, "id": "O2", "is_closed": True}, kind="opportunity")
    assert closed.owner_id == "ann"
    service.clock.now += timedelta(days=31)  # type: ignore[attr-defined]
    late = service.route({**opp, "id": "O3"}, kind="opportunity")
    assert late.owner_id == "ann"
    assert [a["alert"] for a in service.alerts(status=None, limit=10)] == ["new opportunity"] * 3


def test_override_with_reason_and_expiry(service: RoutingService) -> None:
    o = service.add_override(
        account_id="ACC-1",
        territory_id="east-all",
        owner_id=None,
        reason="CFO relationship",
        expires_on=date(2026, 12, 31),
    )
    d = service.route({"id": "ACC-1", "state": "CA", "employees": 5000}, kind="account")
    assert (d.territory_id, d.owner_id) == ("east-all", "bob")
    assert "manual override to east/All: CFO relationship (until 2026-12-31)" in d.reason
    service.revoke_override(o["id"])
    d = service.route({"id": "ACC-1", "state": "CA", "employees": 5000}, kind="account")
    assert d.territory_id == "west-ent"
    with pytest.raises(ValidationError, match="in the past"):
        service.add_override(
            account_id="A",
            territory_id="east-all",
            owner_id=None,
            reason="r",
            expires_on=date(2020, 1, 1),
        )
    with pytest.raises(ValidationError, match="not in the active rule set"):
        service.add_override(
            account_id="A",
            territory_id="nope",
            owner_id=None,
            reason="r",
            expires_on=date(2027, 1, 1),
        )


def test_batch_routes_and_explains(service: RoutingService) -> None:
    records = [
        {"id": f"b{i}", "state": "CA" if i % 2 else "NY", "employees": 2000 * (i % 3)}
        for i in range(6)
    ]
    batch_id, decisions = service.route_batch(records, kind="account")
    assert [d.territory_id for d in decisions] == [
        "east-all",
        "west-ent",
        "east-all",
        "west-pool",
        "east-all",
        "west-ent",
    ]
    assert len(service.decisions(record_id=None, batch_id=batch_id, limit=100)) == 6
    full = service.explain(decisions[1].id)
    assert full["replayed"] is True and full["winner"] == "west-ent"
    assert full["tried"] and full["reason"] == decisions[1].reason


def test_decisions_are_append_only(engine: Engine, service: RoutingService) -> None:
    d = service.route({"id": "L1", "state": "NY"}, kind="lead")
    for sql in (
        "UPDATE routing_decisions SET owner_id = 'mallory'",
        "DELETE FROM routing_decisions",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert service.decision(d.id)["owner_id"] == "bob"


def test_decision_pool_state_and_alert_commit_together(
    engine: Engine, service: RoutingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("outbox down")

    monkeypatch.setattr(store, "enqueue_alerts", broken)
    with pytest.raises(RuntimeError):
        service.route({"id": "L1", "state": "CA", "tier": "A"}, kind="lead")
    assert count(engine, store.decisions) == 0
    assert count(engine, store.pool_state) == 0


def test_no_active_rules_is_a_conflict(engine: Engine) -> None:
    with pytest.raises(ConflictError, match="no rule set is active"):
        RoutingService(engine).route({"id": "x"}, kind="lead")


def test_alert_delivery_retries_with_backoff_and_never_loses(
    engine: Engine, service: RoutingService
) -> None:
    service.route({"id": "L1", "state": "CA", "tier": "A"}, kind="lead")
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    calls: list[str] = []

    def flaky(alert: Any) -> None:
        calls.append(alert["target"])
        raise OSError("connection refused")

    report = deliver_due_alerts(
        engine,
        senders={"webhook": flaky},
        now=now,
        max_attempts=3,
        base_delay=timedelta(seconds=10),
    )
    assert (report.retried, report.delivered) == (1, 0)
    # Not due again before the backoff delay.
    assert deliver_due_alerts(engine, senders={"webhook": flaky}, now=now).retried == 0
    [row] = service.alerts(status="pending", limit=5)
    assert row["attempts"] == 1 and "connection refused" in row["last_error"]
    later = now + timedelta(seconds=10)
    deliver_due_alerts(
        engine,
        senders={"webhook": flaky},
        now=later,
        max_attempts=3,
        base_delay=timedelta(seconds=10),
    )
    final = deliver_due_alerts(
        engine,
        senders={"webhook": flaky},
        now=later + timedelta(hours=1),
        max_attempts=3,
        base_delay=timedelta(seconds=10),
    )
    assert final.failed == 1 and len(calls) == 3
    [failed] = service.alerts(status="failed", limit=5)
    assert failed["attempts"] == 3  # kept, not deleted

    service.route({"id": "L2", "state": "CA", "tier": "A"}, kind="lead")
    sent: list[Any] = []
    ok = deliver_due_alerts(engine, senders={"webhook": sent.append}, now=now + timedelta(days=1))
    assert ok.delivered == 1 and sent[0]["payload"]["record_id"] == "L2"


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (20, 3600)])
def test_backoff_doubles_up_to_the_cap(attempts: int, seconds: int) -> None:
    got = backoff(attempts, base=timedelta(seconds=30), cap=timedelta(hours=1))
    assert got == timedelta(seconds=seconds)


def test_large_batch_is_logged_with_alerts_and_leaves_the_collector_on(
    service: RoutingService, engine: Engine
) -> None:
    """The batch path (one driver-level executemany, collector paused) stores what it says."""
    import gc

    from territorial.routing.service import GC_PAUSE_RECORDS
    from territorial.store.routing import decisions as decisions_table
    from territorial.store.routing import outbox

    n = GC_PAUSE_RECORDS + 5
    records = [
        {"id": f"big{i}", "state": "CA", "employees": 10, "tier": "A" if i % 100 == 0 else "B"}
        for i in range(n)
    ]
    assert gc.isenabled()
    batch_id, decisions = service.route_batch(records, kind="lead")
    assert gc.isenabled()
    assert [d.id for d in decisions] == sorted(d.id for d in decisions)
    assert count(engine, decisions_table) == n
    assert count(engine, outbox) == len(range(0, n, 100))
    last = service.decision(decisions[-1].id)
    assert last["batch_id"] == batch_id and last["decided_at"] == Clock().now
    assert last["trace"]["record"] == records[-1] and last["reason"] == decisions[-1].reason
    assert service.explain(decisions[-1].id)["winner"] == "west-pool"


def test_single_decision_row_reads_back_as_written(service: RoutingService) -> None:
    d = service.route({"id": "Ü-1", "state": "NY", "city": "Zürich"}, kind="account")
    row = service.decision(d.id)
    assert row["decided_at"] == Clock().now and row["record_id"] == "Ü-1"
    assert row["trace"] == d.trace
