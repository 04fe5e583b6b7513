"""The routing API: token, precise 4xx answers, and the main flows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from territorial.api.app import create_app
from territorial.settings import load_settings

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RULES = """
version: 1
name: api test
regions:
  - id: west
    match: {state: [CA]}
    territories:
      - {id: west-ent, priority: 10, match: {employees: {min: 1000}}, owner: ann}
      - id: west-pool
        priority: 20
        match: {}
        pool: {strategy: round_robin, members: [p1, p2]}
alerts:
  - {name: hot, kinds: [lead], when: {tier: A}, webhook: "https://hooks.example.com/x"}
"""


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 't.db'}", api_token=TOKEN)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def active(client: TestClient) -> int:
    created = client.post("/api/rules", json={"source": RULES}, headers=AUTH)
    assert created.status_code == 201, created.text
    rule_set_id = created.json()["id"]
    assert client.post(f"/api/rules/{rule_set_id}/activate", headers=AUTH).status_code == 200
    return int(rule_set_id)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Bearer wrong"}, "wrong bearer token"),
        ({"Authorization": f"Basic {TOKEN}"}, "missing bearer token"),
    ],
)
def test_token_is_required(client: TestClient, headers: dict, message: str) -> None:
    response = client.post("/api/route", json={"record": {"id": "x"}}, headers=headers)
    assert response.status_code == 401
    assert message in response.json()["message"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_unconfigured_token_refuses_everything(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 't.db'}")
    with TestClient(create_app(settings)) as c:
        response = c.get("/api/rules", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401
    assert "TERRITORIAL_API_TOKEN" in response.json()["message"]


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "column", "reason"),
    [
        ({"record": {"employees": "12"}}, "record.employees", "expected a JSON number"),
        ({"record": {"latitude": 91}}, "record.latitude", "less than or equal to 90"),
        ({"record": {"employes": 12}}, "record.employes", "Extra inputs are not permitted"),
        ({"kind": "robot", "record": {}}, "kind", "Input should be 'lead'"),
        ({}, "record", "Field required"),
    ],
)
def test_validation_errors_name_the_field(
    client: TestClient, body: dict, column: str, reason: str
) -> None:
    response = client.post("/api/route", json=body, headers=AUTH)
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["column"] == column
    assert reason in problem["reason"]
    assert column in response.json()["message"]


def test_malformed_json_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/api/route", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_unknown_query_parameter_is_refused(client: TestClient) -> None:
    response = client.get("/api/decisions?recordid=x", headers=AUTH)
    assert response.status_code == 422
    assert "'recordid'" in response.json()["message"]


def test_invalid_rules_upload_gives_line_numbers(client: TestClient) -> None:
    bad = (
        "version: 1\nregions:\n  - id: r\n    territories:\n      - id: t\n        match: {x: []}\n"
    )
    response = client.post("/api/rules", json={"source": bad}, headers=AUTH)
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert problem["row"] == 6 and problem["column"] == "regions[0].territories[0].match.x"
    report = client.post("/api/rules/validate", json={"source": bad}, headers=AUTH).json()
    assert report["valid"] is False and report["problems"][0]["row"] == 6


def test_route_without_active_rules_is_409(client: TestClient) -> None:
    response = client.post("/api/route", json={"record": {"id": "x"}}, headers=AUTH)
    assert response.status_code == 409


def test_route_one_then_look_it_up(client: TestClient, active: int) -> None:
    body = {
        "kind": "lead",
        "record": {"id": "L1", "state": "ca", "employees": 1500, "attributes": {"tier": "A"}},
    }
    decision = client.post("/api/route", json=body, headers=AUTH).json()
    assert (decision["territory_id"], decision["owner_id"]) == ("west-ent", "ann")
    assert decision["reason"].startswith(
        "matched west/west-ent because state=CA and "
        "employees=1,500; beat west/west-pool on priority"
    )
    assert decision["trace"]["matched"] == ["west-ent", "west-pool"]
    assert decision["rule_set_id"] == active
    again = client.get(f"/api/decisions/{decision['id']}", headers=AUTH).json()
    assert again == decision
    listed = client.get("/api/decisions", params={"record_id": "L1"}, headers=AUTH).json()
    assert [d["id"] for d in listed] == [decision["id"]]
    [alert] = client.get("/api/alerts", headers=AUTH).json()
    assert alert["decision_id"] == decision["id"] and alert["status"] == "pending"


def test_batch_round_robin_and_explain(client: TestClient, active: int) -> None:
    records = [{"id": f"B{i}", "state": "CA", "employees": 10} for i in range(4)]
    result = client.post(
        "/api/route/batch", json={"kind": "lead", "records": records}, headers=AUTH
    ).json()
    assert result["count"] == 4
    assert [d["owner_id"] for d in result["decisions"]] == ["p1", "p2", "p1", "p2"]
    explained = client.get(
        f"/api/decisions/{result['decisions'][0]['id']}/explain", headers=AUTH
    ).json()
    assert explained["replayed"] is True and explained["winner"] == "west-pool"


def test_missing_things_are_404(client: TestClient, active: int) -> None:
    assert client.get("/api/decisions/999", headers=AUTH).status_code == 404
    assert client.get("/api/rules/999", headers=AUTH).status_code == 404
    assert client.post("/api/overrides/999/revoke", headers=AUTH).status_code == 404


def test_activating_twice_is_a_conflict(client: TestClient, active: int) -> None:
    assert client.post(f"/api/rules/{active}/activate", headers=AUTH).status_code == 409


def test_overrides_and_absences(client: TestClient, active: int) -> None:
    created = client.post(
        "/api/overrides",
        json={
            "account_id": "ACC-9",
            "territory_id": "west-pool",
            "reason": "exec sponsor",
            "expires_on": "2099-01-01",
        },
        headers=AUTH,
    )
    assert created.status_code == 201, created.text
    routed = client.post(
        "/api/route",
        json={"kind": "account", "record": {"id": "ACC-9", "state": "CA", "employees": 5000}},
        headers=AUTH,
    ).json()
    assert routed["territory_id"] == "west-pool"
    assert "manual override" in routed["reason"]
    no_target = client.post(
        "/api/overrides",
        json={"account_id": "A", "reason": "r", "expires_on": "2099-01-01"},
        headers=AUTH,
    )
    assert no_target.status_code == 422
    away = client.put(
        "/api/reps/p1/absence", json={"start": "2020-01-01", "end": "2099-01-01"}, headers=AUTH
    )
    assert away.status_code == 200
    owners = [
        client.post(
            "/api/route", json={"record": {"id": f"x{i}", "state": "CA"}}, headers=AUTH
        ).json()["owner_id"]
        for i in range(2)
    ]
    assert owners == ["p2", "p2"]
    backwards = client.put(
        "/api/reps/p1/absence", json={"start": "2030-01-02", "end": "2030-01-01"}, headers=AUTH
    )
    assert backwards.status_code == 422
    assert client.delete("/api/reps/p1/absence", headers=AUTH).status_code == 204


def test_openapi_documents_every_route_and_the_bearer_scheme(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/api/route",
        "/api/route/batch",
        "/api/decisions/{decision_id}",
        "/api/rules",
        "/api/rules/{rule_set_id}/activate",
    } <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    ("body", "column", "reason"),
    [
        (
            {"records": [{"id": "a"}, {"id": "b", "employees": "12"}]},
            "records.1.employees",
            "expected a JSON number",
        ),
        ({"records": [{"id": "a"}, {}, {"latitude": 91}]}, "records.2.latitude", "less than"),
        ({"records": [{"id": "a", "employes": 3}]}, "records.0.employes", "Extra inputs"),
        ({"kind": "robot", "records": [{}]}, "kind", "Input should be 'lead'"),
        ({"records": []}, "records", "at least 1 item"),
        ({}, "records", "Field required"),
    ],
)
def test_batch_validation_errors_name_the_record_and_field(
    client: TestClient, active: int, body: dict, column: str, reason: str
) -> None:
    response = client.post("/api/route/batch", json=body, headers=AUTH)
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["column"] == column and reason in problem["reason"]
    assert column in response.json()["message"]
    assert client.get("/api/decisions", headers=AUTH).json() == []  # nothing was routed


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (b'{"records": [{"id": "a"},', "application/json", "JSON decode error at character"),
        (b"", "application/json", "Field required"),
        (b'{"records": [{"id": "a"}]}', "text/plain", "expected a JSON body"),
    ],
)
def test_unreadable_batch_body_is_a_422(
    client: TestClient, active: int, content: bytes, content_type: str, reason: str
) -> None:
    response = client.post(
        "/api/route/batch", content=content, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status_code == 422
    assert reason in response.json()["problems"][0]["reason"]


def test_batch_body_is_documented_in_openapi(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/route/batch"]["post"]
    body = operation["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True and schema["required"] == ["records"]
    record = schema["properties"]["records"]["items"]
    assert record["additionalProperties"] is False and "employees" in record["properties"]
    assert "$ref" not in str(schema)  # self-contained: the handler reads the raw body


def test_batch_drops_null_fields_like_single_routing(client: TestClient, active: int) -> None:
    records = [{"id": "N1", "state": "CA", "city": None}, {"id": "N2", "state": "CA"}]
    result = client.post(
        "/api/route/batch", json={"kind": "lead", "records": records}, headers=AUTH
    ).json()
    first = client.get(f"/api/decisions/{result['decisions'][0]['id']}", headers=AUTH).json()
    assert first["trace"]["record"] == {"id": "N1", "state": "CA"}


def test_large_batch_answer_leaves_the_collector_on(client: TestClient, active: int) -> None:
    """The batch endpoint pauses the collector until its objects are freed, then resumes."""
    import gc

    from territorial.api.routing import GC_PAUSE_BYTES

    records = [{"id": f"gc-{i}", "state": "CA", "company": "x" * 200} for i in range(600)]
    body = {"kind": "lead", "records": records}
    assert len(str(body)) > GC_PAUSE_BYTES and gc.isenabled()
    response = client.post("/api/route/batch", json=body, headers=AUTH)
    assert response.status_code == 200 and response.json()["count"] == 600
    assert gc.isenabled()
    bad = client.post("/api/route/batch", json={**body, "kind": "nope"}, headers=AUTH)
    assert bad.status_code == 422 and gc.isenabled()
