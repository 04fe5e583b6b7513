"""The same figures over the REST API; bad input is a 4xx that stores nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pandas as pd
import pytest
from _goals_data import add_plan
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from territorial.api.app import create_app
from territorial.goals.performance import performance_table
from territorial.settings import load_settings

TOKEN = "goals-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(tiny: Engine) -> Iterator[TestClient]:
    url = tiny.url.render_as_string(hide_password=False)
    settings = load_settings(database_url=url, api_token=TOKEN)
    with TestClient(create_app(settings, engine=tiny)) as c:
        yield c


def test_quotas_performance_signals_goals(client: TestClient, tiny: Engine) -> None:
    plan = add_plan(tiny, status="active")
    assert client.get("/api/performance").status_code == 401
    made = client.post(
        "/api/quotas",
        json={"plan_id": plan, "target": 200000, "period": "FY2026", "method": "blend"},
        headers=AUTH,
    )
    assert made.status_code == 200, made.text
    answer = made.json()
    assert sum(q["quota"] for q in answer["quotas"]) == pytest.approx(200000)
    assert answer["quota_set_id"] and len(answer["monthly"]) == 24
    stored = client.get(f"/api/quotas/{answer['quota_set_id']}", headers=AUTH).json()
    assert stored["version"] == 1 and len(stored["quotas"]) == 2

    perf = client.get(
        "/api/performance?by=territory&grain=month&from=2026-01-01&to=2026-04-30", headers=AUTH
    )
    assert perf.status_code == 200, perf.text
    rows = pd.DataFrame(perf.json()["rows"])
    direct = performance_table(
        tiny,
        by="territory",
        grain="month",
        start=pd.Timestamp("2026-01-01").date(),
        end=pd.Timestamp("2026-04-30").date(),
    )
    assert rows["bookings"].tolist() == direct["bookings"].tolist()
    assert set(rows["key"]) == {"N", "S"} and rows["quota"].notna().all()
    csv = client.get("/api/performance?by=rep&grain=quarter&format=csv", headers=AUTH)
    assert csv.headers["content-type"].startswith("text/csv")
    assert "key,period,bookings" in csv.text
    xlsx = client.get("/api/signals?format=xlsx", headers=AUTH)
    assert xlsx.status_code == 200
    assert "kind" in pd.read_excel(io.BytesIO(xlsx.content)).columns

    goal = client.post(
        "/api/goals",
        json={"scope": "rep", "subject_id": "R1", "metric": "activities_per_week", "target": 5},
        headers=AUTH,
    )
    assert goal.status_code == 201, goal.text
    progress = client.get("/api/goals?progress=true", headers=AUTH).json()["rows"]
    assert progress[0]["metric"] == "activities_per_week"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"target": 0}, 422),
        ({"target": -5}, 422),
        ({"period": "FY26"}, 400),
        ({"plan_id": 999}, 404),
        ({"ramp": [0.5, 1.5]}, 400),
    ],
)
def test_bad_quota_requests_store_nothing(
    client: TestClient, tiny: Engine, body: dict[str, object], status: int
) -> None:
    plan = add_plan(tiny)
    request = {"plan_id": plan, "target": 1000, "period": "FY2026", **body}
    answer = client.post("/api/quotas", json=request, headers=AUTH)
    assert answer.status_code == status, answer.text
    assert client.get("/api/quotas", headers=AUTH).json() == []


def test_bad_performance_query(client: TestClient) -> None:
    assert client.get("/api/performance?by=planet", headers=AUTH).status_code == 400
    assert client.get("/api/performance?grain=year", headers=AUTH).status_code == 400
    assert client.get("/api/performance?bogus=1", headers=AUTH).status_code == 422
    unknown = client.post(
        "/api/goals",
        json={"scope": "rep", "subject_id": "NOBODY", "metric": "win_rate", "target": 0.3},
        headers=AUTH,
    )
    assert unknown.status_code == 404
