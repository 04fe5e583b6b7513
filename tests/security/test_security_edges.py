"""Headers on every answer, webhook targets, and routing that never stalls."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlalchemy.exc import OperationalError

from conftest import AUTH, EXAMPLE_RULES, make_client
from territorial.routing import service as service_module
from territorial.routing.alerts import WebhookTargetError, check_webhook_target, webhook_sender
from territorial.routing.service import RoutingService
from territorial.store import open_store
from territorial.store import routing as routing_store
from territorial.store.tables import accounts

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/health"),
        ("GET", "/api/rules"),  # 401
        ("GET", "/api/nowhere"),  # 404
        ("GET", "/workspace/login"),
        ("GET", "/workspace/static/app.css"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/workspace/static/%00"),  # refused at the edge
        ("POST", "/api/route"),
    ],
)
def test_security_headers_on_every_answer(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, (path, name)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "strict-transport-security" not in response.headers  # plain HTTP


def test_hsts_when_served_over_https(tmp_path: Path) -> None:
    with make_client(tmp_path) as plain:
        secure = TestClient(plain.app, base_url="https://territorial.example")
        response = secure.get("/api/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_workspace_pages_have_no_inline_script(client: TestClient) -> None:
    import re

    from territorial.web.routes import _HERE

    for template in (_HERE / "templates").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://2130706433/hook",  # 127.0.0.1 as one number
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_internal_webhook_targets_are_refused(url: str) -> None:
    with pytest.raises(WebhookTargetError, match="alerts go only to public addresses"):
        check_webhook_target(url)


def test_allowed_networks_let_a_target_through() -> None:
    import ipaddress

    check_webhook_target("http://10.1.2.3/hook", allowed=[ipaddress.ip_network("10.1.0.0/16")])
    check_webhook_target("https://hooks.example.com/x")  # a name is checked at delivery


def test_rules_with_a_webhook_to_loopback_are_refused_on_upload(tmp_path: Path) -> None:
    source = EXAMPLE_RULES.read_text()
    assert "webhook:" in source
    bad = source.replace("https://", "http://127.0.0.1/", 1)
    with make_client(tmp_path) as client:
        response = client.post("/api/rules", json={"source": bad}, headers=AUTH)
        assert response.status_code == 422, response.text
        problem = response.json()["problems"][0]
        assert problem["row"] is not None and "loopback" in problem["reason"]
    with make_client(tmp_path, webhook_allowed_networks="127.0.0.0/8") as client:
        assert client.post("/api/rules", json={"source": bad}, headers=AUTH).status_code == 201


def test_the_sender_refuses_a_name_that_resolves_inside() -> None:
    send = webhook_sender(client=None)
    with pytest.raises(WebhookTargetError, match="loopback"):
        send({"target": "http://localhost./x", "payload": {}})


# --------------------------------------------------------------------- never stalls

RULES = """version: 1
regions:
  - id: r
    territories:
      - {id: t, match: {}, owner: ann}
"""


def _store(url: str) -> Engine:
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(
            insert(accounts),
            [{"id": f"A{i}", "name": f"Acme {i}", "domain": f"acme{i}.com"} for i in range(50)],
        )
    return engine


def test_a_request_during_a_slow_index_rebuild_is_not_blocked(sqlite_url: str) -> None:
    engine = _store(sqlite_url)
    service = RoutingService(engine, accounts_ttl_seconds=0.0)
    row = service.upload_rules(RULES)
    service.activate(row["id"])
    first = service.route({"id": "L0", "website": "acme3.com"}, kind="lead")
    assert first.account_id == "A3"
    if service._reloading is not None:  # a rebuild the first request started (ttl 0)
        service._reloading.join(10)
    release, building = threading.Event(), threading.Event()
    real_build = service._build_matcher

    def slow_build(rules: Any) -> Any:
        building.set()
        release.wait(30)
        return real_build(rules)

    service._build_matcher = slow_build  # type: ignore[method-assign]
    done: list[Any] = []
    worker = threading.Thread(
        target=lambda: done.append(service.route({"id": "L1", "website": "acme4.com"}, kind="lead"))
    )
    try:
        worker.start()
        assert building.wait(10), "the stale index was not rebuilt"
        worker.join(10)
        # The request finished with the old index while the rebuild still waits.
        assert not worker.is_alive() and done and done[0].account_id == "A4"
    finally:
        release.set()
    assert service._reloading is not None
    service._reloading.join(10)


def test_a_locked_database_is_retried_not_a_failure(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _store(sqlite_url)
    service = RoutingService(engine)
    service.activate(service.upload_rules(RULES)["id"])
    real = routing_store.add_decisions
    calls = {"n": 0}

    def locked_once(conn: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(conn, **kwargs)

    monkeypatch.setattr(service_module.store, "add_decisions", locked_once)
    decision = service.route({"id": "L1"}, kind="lead")
    assert calls["n"] == 2 and decision.id is not None
    assert service.decisions(record_id="L1", batch_id=None, limit=5)[0]["id"] == decision.id


def test_sqlite_writers_wait_with_a_busy_timeout(sqlite_url: str) -> None:
    engine = open_store(sqlite_url)
    with engine.connect() as conn:
        timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert timeout == 30_000


def test_openapi_carries_the_limits_the_server_enforces(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    def keys(node: Any) -> set[str]:
        if isinstance(node, dict):
            return set(node) | set().union(*(keys(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(keys(v) for v in node)) if node else set()
        return set()

    assert not {"ge", "le", "gt", "lt"} & keys(spec), "limits must be minimum/maximum"
    record = spec["components"]["schemas"]["RecordIn"]["properties"]
    assert record["latitude"]["anyOf"][0] == {"type": "number", "minimum": -90, "maximum": 90}
    assert record["amount"]["anyOf"][0]["minimum"] == 0
    batch = spec["paths"]["/api/route/batch"]["post"]["requestBody"]["content"]
    items = batch["application/json"]["schema"]["properties"]["records"]
    assert items["maxItems"] == 200_000
    assert items["items"]["properties"]["longitude"]["anyOf"][0]["maximum"] == 180
    assert "413" in spec["paths"]["/api/route"]["post"]["responses"]
    assert "max_request_mb" in spec["info"]["description"]


def test_serve_takes_the_proxy_and_worker_options(capsys: pytest.CaptureFixture[str]) -> None:
    from territorial.cli import main

    try:
        main(["serve", "--help"])
    except SystemExit as stop:
        assert not stop.code
    assert "Usage:" in capsys.readouterr().out
    # The options themselves, not rich's rendering (which truncates names on narrow terminals).
    import typer

    from territorial.cli import app

    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    names = {name for param in serve.params for name in param.opts + param.secondary_opts}
    assert {"--forwarded-allow-ips", "--no-worker"} <= names
