"""Migration 0005_routing_batches on a store holding decisions in the older format.

Decisions logged before it keep their whole trace (the record inside); after the
upgrade they must still be listed by batch, read back and explained, exactly as a
batch logged in the new format explains, and the audit log must stay append-only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from territorial.routing.decide import decide_batch
from territorial.routing.engine import compile_rules
from territorial.routing.rules import parse_rules
from territorial.routing.service import RoutingService
from territorial.store.engine import alembic_config, create_store_engine, migrate

RULES = """
version: 1
name: migration test
regions:
  - id: west
    match: {state: [CA]}
    territories:
      - {id: west-ent, priority: 10, match: {employees: {min: 1000}}, owner: ann}
      - {id: west-rest, priority: 20, match: {}, owner: pat}
"""

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RECORDS = [
    {"id": "OLD-1", "state": "CA", "employees": 5000},
    {"id": "OLD-2", "state": "CA", "employees": 3, "attributes": {"tier": "A"}},
    {"id": "OLD-3", "state": "TX"},
]


def _upgrade_to(engine: Engine, target: str) -> None:
    with engine.begin() as connection:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, target)


def _old_store(url: str) -> tuple[Engine, list[int]]:
    """A store at 0003_routing with one batch logged the old way (whole traces)."""
    engine = create_store_engine(url)
    _upgrade_to(engine, "0003_routing")
    assert "batch_index" not in {
        c["name"] for c in inspect(engine).get_columns("routing_decisions")
    }
    decisions = decide_batch(compile_rules(parse_rules(RULES)), RECORDS, kind="account", now=NOW)
    ids = []
    with engine.begin() as conn:
        rule_set_id = conn.execute(
            text(
                "INSERT INTO routing_rule_sets (name, source, digest, status, created_at, summary)"
                " VALUES ('old', :source, 'x', 'active', :now, '{}') RETURNING id"
            ),
            {"source": RULES, "now": NOW},
        ).scalar_one()
        for d in decisions:
            ids.append(
                conn.execute(
                    text(
                        "INSERT INTO routing_decisions (decided_at, rule_set_id, batch_id,"
                        " record_kind, record_id, account_id, territory_id, owner_id, reason,"
                        " trace) VALUES (:at, :rs, 'old-batch', 'account', :rid, :aid, :tid,"
                        " :oid, :reason, :trace) RETURNING id"
                    ),
                    {
                        "at": NOW,
                        "rs": rule_set_id,
                        "rid": d.record_id,
                        "aid": d.account_id,
                        "tid": d.territory_id,
                        "oid": d.owner_id,
                        "reason": d.reason,
                        "trace": json.dumps(d.trace),
                    },
                ).scalar_one()
            )
    return engine, ids


def test_upgrade_keeps_old_batch_decisions_explainable(store_url: str) -> None:
    engine, old_ids = _old_store(store_url)
    migrate(engine)
    service = RoutingService(engine, clock=lambda: NOW)
    old = [service.decision(i) for i in old_ids]
    assert [r["trace"]["record"] for r in old] == RECORDS
    assert all(r["batch_index"] is None for r in old)
    listed = service.decisions(record_id=None, batch_id="old-batch", limit=10)
    assert sorted(r["id"] for r in listed) == old_ids
    # The same records routed now, logged the new way, explain the same.
    _, new = service.route_batch(RECORDS, kind="account")
    for old_id, d in zip(old_ids, new, strict=True):
        assert service.explain(old_id) == service.explain(d.id)
        assert service.decision(old_id)["trace"] == service.decision(d.id)["trace"]


def test_upgrade_keeps_the_audit_log_append_only(store_url: str) -> None:
    engine, old_ids = _old_store(store_url)
    migrate(engine)
    before = RoutingService(engine).decision(old_ids[0])
    for sql in (
        "UPDATE routing_decisions SET batch_index = 1",
        "DELETE FROM routing_decisions",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert RoutingService(engine).decision(old_ids[0]) == before
    indexes = {i["name"] for i in inspect(engine).get_indexes("routing_decisions")}
    assert "ix_routing_decisions_legacy_batch_id" in indexes
    assert "ix_routing_decisions_batch_id" not in indexes


def test_downgrade_restores_the_batch_id_index(store_url: str) -> None:
    engine, _ = _old_store(store_url)
    migrate(engine)
    with engine.begin() as connection:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0003_routing")
    inspector = inspect(engine)
    assert "routing_batches" not in inspector.get_table_names()
    assert "ix_routing_decisions_batch_id" in {
        i["name"] for i in inspector.get_indexes("routing_decisions")
    }
