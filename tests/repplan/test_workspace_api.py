"""Rep plans in the workspace and over the REST API: reps see their own plan and
accounts (404 otherwise), managers their team's, planners the flags queue."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from territorial.api.app import create_app
from territorial.planning.ownership import book
from territorial.repplan import build_rep_plan, load_plan_data
from territorial.settings import load_settings
from territorial.store.planning import list_notifications
from territorial.store.records import read_reps
from territorial.store.tables import reps as rep_table
from territorial.web import auth

PASSWORD = "correct horse battery"
TOKEN = "repplan-token"


@pytest.fixture
def people(scored: Engine) -> dict[str, str]:
    owners = book(scored)
    reps = read_reps(scored).set_index("id")
    carriers = sorted(set(owners["rep_id"]))
    managed = [r for r in carriers if isinstance(reps.loc[r, "manager_id"], str)]
    rep = managed[0]
    manager = str(reps.loc[rep, "manager_id"])
    # one carrier reports elsewhere: the manager must not see them
    outsider = next(r for r in carriers if r not in (rep, manager))
    with scored.begin() as conn:
        conn.execute(update(rep_table).where(rep_table.c.id == outsider).values(manager_id=None))
    auth.add_user(scored, email="rep@example.com", role="rep", password=PASSWORD, rep_id=rep)
    auth.add_user(
        scored, email="boss@example.com", role="manager", password=PASSWORD, rep_id=manager
    )
    auth.add_user(scored, email="planner@example.com", role="planner", password=PASSWORD)
    return {"rep": rep, "manager": manager, "outsider": outsider}


@pytest.fixture
def app_engine(scored: Engine) -> Iterator[Engine]:
    yield scored


def login(engine: Engine, email: str) -> tuple[TestClient, str]:
    settings = load_settings(
        database_url=engine.url.render_as_string(hide_password=False), api_token=TOKEN
    )
    client = TestClient(create_app(settings, engine=engine))
    page = client.get("/workspace/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/workspace/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/workspace/plan"},
    )
    assert done.status_code == 200, done.text
    return client, re.search(r'name="csrf-token" content="([^"]+)"', done.text).group(1)


def test_rep_sees_own_plan_and_accounts_only(scored: Engine, people: dict[str, str]) -> None:
    client, csrf = login(scored, "rep@example.com")
    page = client.get("/workspace/plan")
    assert page.status_code == 200 and f"({people['rep']})" in page.text
    assert 'data-testid="targets"' in page.text
    assert client.get(f"/workspace/plan?rep={people['outsider']}").status_code == 404
    data = client.get("/workspace/api/plan").json()
    expected = build_rep_plan(load_plan_data(scored), people["rep"])
    assert [t["account_id"] for t in data["targets"]] == list(expected.targets["account_id"])
    assert (
        client.get(f"/workspace/plan/map.png?rep={people['rep']}").headers["content-type"]
        == "image/png"
    )
    ics = client.get(f"/workspace/plan/files/{people['rep']}.ics")
    assert ics.status_code == 200 and b"BEGIN:VCALENDAR" in ics.content

    owners = book(scored)
    mine = owners.loc[owners["rep_id"] == people["rep"], "account_id"].iloc[0]
    other = owners.loc[owners["rep_id"] == people["outsider"], "account_id"].iloc[0]
    view = client.get(f"/workspace/api/accounts/{mine}/view").json()
    assert view["owner"]["rep_id"] == people["rep"] and view["scores"]["tier"] in "ABC"
    assert view["timeline"] == sorted(view["timeline"], key=lambda e: str(e["date"]), reverse=True)
    assert client.get(f"/workspace/accounts/{mine}").status_code == 200
    assert client.get(f"/workspace/accounts/{other}").status_code == 404
    assert client.get(f"/workspace/api/accounts/{other}/view").status_code == 404

    # the rep flags an account of their book; the planner declines; the rep is told
    sent = client.post(
        f"/workspace/accounts/{mine}/flag",
        data={"csrf_token": csrf, "kind": "duplicate", "comment": "same as the parent company"},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and "done=flag" in sent.headers["location"]
    planner, _ = login(scored, "planner@example.com")
    queue = planner.get("/workspace/flags")
    assert "same as the parent company" in queue.text
    flag_id = re.search(r"/workspace/flags/(\d+)/decline", queue.text).group(1)
    pcsrf = re.search(r'name="csrf-token" content="([^"]+)"', queue.text).group(1)
    declined = planner.post(
        f"/workspace/flags/{flag_id}/decline",
        data={"csrf_token": pcsrf, "reason": "separate legal entity"},
    )
    assert declined.status_code == 200 and f"declined flag #{flag_id}" in declined.text
    assert (
        "declined: separate legal entity"
        in list_notifications(scored, rep_id=people["rep"])[0]["title"]
    )
    # reps do not see the queue
    assert client.get("/workspace/flags").status_code == 403


def test_manager_opens_team_plans_only(scored: Engine, people: dict[str, str]) -> None:
    client, _ = login(scored, "boss@example.com")
    page = client.get("/workspace/plan")
    assert page.status_code == 200 and 'data-testid="rep-plan"' in page.text
    assert client.get(f"/workspace/plan?rep={people['rep']}").status_code == 200
    assert client.get(f"/workspace/plan?rep={people['outsider']}").status_code == 404


def test_rest_api_plan_view_and_flags(scored: Engine, people: dict[str, str]) -> None:
    settings = load_settings(
        database_url=scored.url.render_as_string(hide_password=False), api_token=TOKEN
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings, engine=scored)) as api:
        assert api.get(f"/api/reps/{people['rep']}/plan").status_code == 401
        plan = api.get(f"/api/reps/{people['rep']}/plan", headers=headers)
        assert plan.status_code == 200 and plan.json()["rep"]["id"] == people["rep"]
        assert all(t["rationale"] for t in plan.json()["targets"])
        assert api.get("/api/reps/R999/plan", headers=headers).status_code == 404
        account = plan.json()["targets"][0]["account_id"]
        view = api.get(f"/api/accounts/{account}/view", headers=headers).json()
        assert view["plan"]["target"]["account_id"] == account
        assert api.get("/api/flags", headers=headers).json() == []
        assert (
            api.post("/api/flags/1/decline", json={"reason": "x"}, headers=headers).status_code
            == 404
        )
