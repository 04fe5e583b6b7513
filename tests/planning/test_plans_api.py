"""The territory model over the REST API: the cycle, exports as downloads, 4xx answers
that change nothing, ownership of an account, design jobs queued for a worker."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from territorial.api.app import create_app
from territorial.planning import lifecycle
from territorial.settings import load_settings

TOKEN = "plans-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(company: Engine) -> Iterator[TestClient]:
    url = company.url.render_as_string(hide_password=False)
    settings = load_settings(database_url=url, api_token=TOKEN)
    with TestClient(create_app(settings, engine=company)) as c:
        yield c


def test_cycle_over_the_api(client: TestClient, company: Engine, save_designed_plan) -> None:
    plan = save_designed_plan()
    assert client.get("/api/plans").status_code == 401
    listed = client.get("/api/plans", headers=AUTH).json()
    assert listed[0]["id"] == plan and listed[0]["status"] == "draft"
    assert client.post(f"/api/plans/{plan}/submit", headers=AUTH).json()["status"] == "submitted"
    assert client.post(f"/api/plans/{plan}/approve", headers=AUTH).json()["status"] == "approved"
    before = client.get(f"/api/plans/{plan}/diff?against=crm", headers=AUTH).json()
    report = client.post(
        f"/api/plans/{plan}/activate", json={"holdover": {"mode": "none"}}, headers=AUTH
    )
    assert report.status_code == 200, report.text
    assert report.json()["status"] == "active" and report.json()["owners_changed"] > 0
    detail = client.get(f"/api/plans/{plan}", headers=AUTH).json()
    assert [e["action"] for e in detail["events"]][-1] == "activated"
    assert {t["role"] for t in detail["territories"]} == {"owner"}
    zipped = client.get(f"/api/plans/{plan}/export/salesforce", headers=AUTH)
    assert zipped.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert "ObjectTerritory2Association.csv" in names
    plain = client.get(f"/api/plans/{plan}/export/csv", headers=AUTH)
    assert plain.text.lstrip("\ufeff").startswith("account_id,territory,territory_name,owner")
    account = plain.text.splitlines()[1].split(",")[0]
    owner = client.get(f"/api/accounts/{account}/owner", headers=AUTH).json()
    assert owner["current"]["plan_id"] == plan
    assert before["moved_accounts"] == report.json()["owners_changed"]
    after = client.get(f"/api/plans/{plan}/diff?against=crm", headers=AUTH).json()
    assert after["moved_accounts"] == 0  # the CRM owners are now the plan's


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/plans/999/submit", None, 404),
        ("post", "/api/plans/{plan}/approve", None, 409),
        ("post", "/api/plans/{plan}/activate", None, 409),
        ("post", "/api/plans/{plan}/reject", {"reason": ""}, 422),
        ("post", "/api/plans/{plan}/activate", {"effective_date": "2020-01-01"}, 409),
        ("post", "/api/plans/{plan}/activate", {"holdover": {"mode": "maybe"}}, 422),
        ("get", "/api/plans/{plan}/export/salesforce", None, 409),
        ("get", "/api/plans/{plan}/export/excel", None, 422),
        ("get", "/api/plans/{plan}/diff?against=yesterday", None, 422),
        ("post", "/api/design-jobs", {"save_as": ""}, 422),
    ],
)
def test_bad_requests_change_nothing(
    client: TestClient,
    company: Engine,
    save_designed_plan,
    method: str,
    path: str,
    body: dict | None,
    status: int,
) -> None:
    plan = save_designed_plan()
    before = lifecycle.list_versions(company)
    response = getattr(client, method)(
        path.format(plan=plan), headers=AUTH, **({"json": body} if body is not None else {})
    )
    assert response.status_code == status, response.text
    assert response.json()["message"]
    assert lifecycle.list_versions(company) == before


def test_design_jobs_are_queued(client: TestClient) -> None:
    created = client.post(
        "/api/design-jobs",
        json={"save_as": "from the API", "options": {"balance": ["accounts=10%"]}},
        headers=AUTH,
    )
    assert created.status_code == 202, created.text
    job = created.json()
    assert (job["kind"], job["status"]) == ("design", "queued")
    assert client.get(f"/api/jobs/{job['id']}", headers=AUTH).json()["status"] == "queued"
    cancelled = client.post(f"/api/jobs/{job['id']}/cancel", headers=AUTH).json()
    assert cancelled["status"] == "cancelled"
