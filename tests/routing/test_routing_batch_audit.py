"""The batch audit log: traces stored together per batch, read back exactly.

On SQLite and PostgreSQL. A batch decision's row holds a marker for its trace
(``routing_batch_traces`` holds the batch's traces); reading it back, listing it and
replaying it must give what the decision said when it was made, and what a decision
logged with its whole trace in its row (the format before ``0005_routing_batches``)
gives.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from territorial.routing.service import RoutingService
from territorial.store import open_store
from territorial.store import routing as store
from territorial.store.tables import accounts

RULES = """
version: 1
name: batch audit test
regions:
  - id: west
    match: {state: [CA]}
    territories:
      - {id: west-ent, priority: 10, match: {employees: {min: 1000}}, owner: ann}
      - id: west-pool
        priority: 20
        match: {}
        pool: {strategy: round_robin, members: [p1, p2, p3]}
  - id: east
    match: {state: [NY]}
    territories:
      - {id: east-all, name: All, match: {}, owner: bob}
exclusions:
  - name: Partner-managed
    match: {partner: "yes"}
    reason: Resold by a partner.
alerts:
  - {name: hot lead, kinds: [lead], when: {tier: A}, webhook: "https://hooks.example.com/x"}
"""

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def batch_records() -> list[dict[str, Any]]:
    """Records giving every shape of batch trace: pool, single owner, no territory,
    exclusion, alert, account match (and a miss), override, nested attributes."""
    return [
        {"id": "R0", "state": "CA", "employees": 20},  # pool
        {"id": "R1", "state": "CA", "employees": 5000, "city": "Zürich"},  # single owner
        {"id": "R2", "state": "TX"},  # no territory
        {"id": "R3", "state": "NY", "partner": "yes"},  # excluded
        {"id": "R4", "state": "NY", "tier": "A", "attributes": {"tier": "A", "n": 3}},  # alert
        {"id": "R5", "email": "amy@acme.com", "state": "NY"},  # matched to ACC-1
        {"id": "R6", "email": "amy@gmail.com", "state": "NY"},  # free mail: no match
        {"id": "R7", "account_id": "ACC-2", "state": "NY"},  # overridden account
        {"id": " ", "state": "CA", "employees": 20.5, "website": None},  # blank id, null
    ]


@pytest.fixture
def engine(store_url: str) -> Engine:
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(
            insert(accounts),
            [
                {"id": "ACC-1", "name": "Acme", "domain": "acme.com", "state": "CA"},
                {"id": "ACC-2", "name": "Globex", "domain": "globex.com", "state": "NY"},
            ],
        )
    return engine


@pytest.fixture
def service(engine: Engine) -> RoutingService:
    svc = RoutingService(engine, clock=lambda: NOW)
    svc.activate(svc.upload_rules(RULES)["id"])
    svc.add_override(
        account_id="ACC-2",
        territory_id="west-ent",
        owner_id=None,
        reason="CFO relationship",
        expires_on=date(2027, 1, 31),
    )
    return svc


def _log_with_whole_traces(engine: Engine, decisions: list[Any], *, rule_set_id: int) -> list[int]:
    """The same decisions logged as before 0005_routing_batches: whole trace, no index."""
    batch_id = str(uuid.uuid4())
    with engine.begin() as conn:
        return store.add_decisions(
            conn,
            rows=[
                {
                    "decided_at": NOW,
                    "rule_set_id": rule_set_id,
                    "batch_id": batch_id,
                    "record_kind": "lead",
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


def test_every_trace_shape_reads_back_exactly(service: RoutingService) -> None:
    records = batch_records()
    batch_id, decisions = service.route_batch(records, kind="lead")
    shapes = {k for d in decisions for k in d.trace}
    assert {"excluded_by", "override", "alerts", "account_match"} <= shapes
    for d, record in zip(decisions, records, strict=True):
        row = service.decision(d.id)
        # Same content and the same key order.
        assert list(row["trace"].items()) == list(d.trace.items())
        assert row["trace"]["record"] == record and row["batch_index"] == decisions.index(d)
        assert (row["batch_id"], row["reason"], row["owner_id"]) == (batch_id, d.reason, d.owner_id)
    listed = service.decisions(record_id=None, batch_id=batch_id, limit=100)
    assert [r["id"] for r in listed] == [d.id for d in reversed(decisions)]
    with service.engine.connect() as conn:
        with_trace = store.list_decisions(conn, batch_id=batch_id, with_trace=True)
    assert [r["trace"] for r in with_trace] == [d.trace for d in reversed(decisions)]


def test_replayed_trace_is_the_one_a_whole_trace_row_gives(service: RoutingService) -> None:
    """Explaining a decision must not depend on how its batch was logged."""
    _, decisions = service.route_batch(batch_records(), kind="lead")
    rule_set_id = decisions[0].rule_set_id
    assert rule_set_id is not None
    whole = _log_with_whole_traces(service.engine, decisions, rule_set_id=rule_set_id)
    for d, old_id in zip(decisions, whole, strict=True):
        explained = service.explain(d.id)
        assert explained == service.explain(old_id)
        assert explained["replayed"] is True and explained["reason"] == d.reason
        assert explained["record"] == d.trace["record"]


def test_batches_span_many_chunks(service: RoutingService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "BATCH_CHUNK_RECORDS", 4)
    records = [{"id": f"C{i}", "state": "NY", "employees": i} for i in range(11)]
    batch_id, decisions = service.route_batch(records, kind="account")
    with service.engine.connect() as conn:
        chunks = conn.execute(
            select(func.count()).where(store.batch_traces.c.batch_id == batch_id)
        ).scalar_one()
        row = conn.execute(select(store.batches).where(store.batches.c.id == batch_id)).one()
    assert chunks == 3 and (row.size, row.chunk_size) == (11, 4)
    assert (row.first_decision_id, row.last_decision_id) == (decisions[0].id, decisions[-1].id)
    assert [service.decision(d.id)["trace"]["record"] for d in decisions] == records


def test_two_batches_keep_their_own_traces(service: RoutingService) -> None:
    first_id, first = service.route_batch([{"id": "A", "state": "NY"}], kind="lead")
    second_id, second = service.route_batch([{"id": "B", "state": "CA"}] * 2, kind="lead")
    assert service.decision(first[0].id)["trace"]["record"] == {"id": "A", "state": "NY"}
    listed = service.decisions(record_id=None, batch_id=second_id, limit=9)
    assert [r["id"] for r in listed] == [second[1].id, second[0].id]
    assert [r["id"] for r in service.decisions(record_id=None, batch_id=first_id, limit=9)] == [
        first[0].id
    ]
    assert len(service.decisions(record_id="B", batch_id=None, limit=9)) == 2


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE routing_batches SET size = 0",
        "DELETE FROM routing_batches",
        "UPDATE routing_batch_traces SET traces = traces",
        "DELETE FROM routing_batch_traces",
        "UPDATE routing_decisions SET batch_index = 0",
        "UPDATE routing_decisions SET trace = trace",
        "DELETE FROM routing_decisions",
    ],
)
def test_batch_audit_rows_are_append_only(
    engine: Engine, service: RoutingService, sql: str
) -> None:
    _, decisions = service.route_batch(batch_records(), kind="lead")
    before = service.decision(decisions[0].id)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(sql))
    assert service.decision(decisions[0].id) == before
