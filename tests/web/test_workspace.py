"""The workspace over HTTP (no browser): log-in, CSRF, roles, moves and undo, design jobs."""

from __future__ import annotations

import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from web_seed import PASSWORD, make_app

from territorial.errors import AuthenticationError, ConfigError, ConflictError
from territorial.store.workspace import audit_events, get_user, users
from territorial.web import auth


def _client(engine: Engine, email: str | None = None) -> tuple[TestClient, str]:
    """A client logged in as ``email`` (or anonymous) and its CSRF token."""
    client = TestClient(make_app(engine))
    if email is None:
        return client, ""
    page = client.get("/workspace/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/workspace/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    # a rep lands on their plan (issue 13), everyone else on their home page
    landing = "/workspace/plan" if get_user(engine, email=email).role == "rep" else "/workspace/"
    assert r.status_code == 303 and r.headers["location"] == landing
    html = client.get("/workspace/map").text
    return client, re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


# --- passwords --------------------------------------------------------------------------
def test_password_hash_is_salted_scrypt_and_verifies() -> None:
    a, b = auth.hash_password("s3cret-pass"), auth.hash_password("s3cret-pass")
    assert a.startswith("scrypt$16384$8$1$") and a != b  # fresh salt each time
    assert auth.verify_password("s3cret-pass", a)
    assert not auth.verify_password("s3cret-pasS", a)
    assert not auth.verify_password("s3cret-pass", "garbage")


@pytest.mark.parametrize(
    ("email", "role", "password", "rep_id", "error"),
    [
        ("x@example.com", "boss", "long enough", None, ConfigError),
        ("not-an-email", "admin", "long enough", None, ConfigError),
        ("x@example.com", "admin", "short", None, ConfigError),
        ("x@example.com", "rep", "long enough", None, ConfigError),
        ("x@example.com", "rep", "long enough", "R99", ConfigError),
        ("ana@example.com", "rep", "long enough", "R01", ConflictError),
    ],
)
def test_add_user_rejects_bad_input(
    seeded_engine: Engine, email, role, password, rep_id, error
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        auth.add_user(seeded_engine, email=email, role=role, password=password, rep_id=rep_id)


def test_stored_password_is_not_the_password(seeded_engine: Engine) -> None:
    with seeded_engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalars().all()
    assert stored and all(PASSWORD not in s and s.startswith("scrypt$") for s in stored)


def test_wrong_password_is_refused(seeded_engine: Engine) -> None:
    with pytest.raises(AuthenticationError):
        auth.log_in(seeded_engine, email="ana@example.com", password="wrong password")
    with pytest.raises(AuthenticationError):
        auth.log_in(seeded_engine, email="nobody@example.com", password=PASSWORD)


# --- sessions and CSRF ------------------------------------------------------------------
def test_pages_redirect_and_api_refuses_without_session(seeded_engine: Engine) -> None:
    client, _ = _client(seeded_engine)
    r = client.get("/workspace/dashboard", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/workspace/login")
    assert client.get("/workspace/api/accounts.geojson").status_code == 401


def test_login_form_needs_its_csrf_cookie(seeded_engine: Engine) -> None:
    client, _ = _client(seeded_engine)
    r = client.post(
        "/workspace/login",
        data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error=expired" in r.headers["location"]
    assert "territorial_session" not in client.cookies


def test_state_changes_need_the_csrf_header(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    url = "/workspace/api/plans/from-owners"
    assert client.post(url, json={}).status_code == 403
    assert client.post(url, json={}, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert client.post(url, json={}, headers={"X-CSRF-Token": csrf}).status_code == 200


def test_logout_ends_the_session(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "admin@example.com")
    assert (
        client.post(
            "/workspace/logout", data={"csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    assert client.get("/workspace/api/accounts").status_code == 401


# --- roles ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("email", "territories"),
    [
        ("ana@example.com", {"R01"}),
        ("manager@example.com", {"R01", "R02", "R03", "R04", "R05"}),
        ("planner@example.com", {f"R{i:02d}" for i in range(1, 11)}),
    ],
)
def test_each_role_reads_only_its_territories(
    seeded_engine: Engine, email: str, territories
) -> None:  # type: ignore[no-untyped-def]
    client, _ = _client(seeded_engine, email)
    rows = client.get("/workspace/api/accounts?limit=500").json()["accounts"]
    assert {a["territory"] for a in rows} == territories
    reps_ = client.get("/workspace/api/reps.geojson").json()["features"]
    assert {f["properties"]["id"] for f in reps_} == territories
    points = client.get("/workspace/api/accounts.geojson?zoom=12").json()["features"]
    assert {f["properties"]["territory"] for f in points} == territories
    regions = client.get("/workspace/api/territory-areas").json()
    shown = {regions["territories"][j]["id"] for j, _ in regions["counties"].values()}
    assert shown == territories
    assert {t["id"] for t in regions["territories"] if t["name"]} == territories
    dashboard = client.get("/workspace/dashboard").text
    assert set(re.findall(r'data-territory="(R\d\d)"', dashboard)) == territories
    # figures about the whole plan are for planners only
    assert ('data-testid="worst-' in dashboard) == (email == "planner@example.com")


def test_rep_cannot_read_another_reps_account_or_edit(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "ana@example.com")
    own = client.get("/workspace/api/accounts?limit=1").json()["accounts"][0]["id"]
    assert client.get(f"/workspace/api/accounts/{own}").status_code == 200
    planner, pcsrf = _client(seeded_engine, "planner@example.com")
    bens = planner.get("/workspace/api/accounts?territory=R02&limit=1").json()["accounts"][0]["id"]
    assert client.get(f"/workspace/api/accounts/{bens}").status_code == 404
    # a rep asking for a draft scenario still gets only the active plan, scoped to them
    plan_id = planner.post(
        "/workspace/api/plans/from-owners", json={}, headers={"X-CSRF-Token": pcsrf}
    ).json()["plan_id"]
    assert client.get(f"/workspace/api/accounts/{bens}?plan={plan_id}").status_code == 404
    r = client.post(
        f"/workspace/api/plans/{plan_id}/moves",
        headers={"X-CSRF-Token": csrf},
        json={"account_ids": [own], "to_territory": "R01"},
    )
    assert r.status_code == 403
    assert client.get("/workspace/scenarios").status_code == 403


# --- moves, undo, audit -----------------------------------------------------------------
def _accounts_of(client: TestClient, plan: int, territory: str) -> float:
    html = client.get(f"/workspace/fragments/balance?plan={plan}").text
    row = html.split(f'data-territory="{territory}"')[1]
    return float(re.search(r'data-measure="accounts" data-value="([\d.]+)"', row).group(1))


def test_move_lock_and_undo_update_the_balance(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    headers = {"X-CSRF-Token": csrf}
    plan = client.post("/workspace/api/plans/from-owners", json={}, headers=headers).json()[
        "plan_id"
    ]
    rows = client.get(f"/workspace/api/accounts?plan={plan}&territory=R01&limit=3").json()
    ids = [a["id"] for a in rows["accounts"]]
    before = _accounts_of(client, plan, "R02")
    r = client.post(
        f"/workspace/api/plans/{plan}/moves",
        headers=headers,
        json={"account_ids": ids, "to_territory": "R02", "lock": True},
    )
    assert r.json()["changed"] == 3
    assert _accounts_of(client, plan, "R02") == before + 3
    moved = client.get(f"/workspace/api/accounts/{ids[0]}?plan={plan}").json()
    assert moved["territory"] == "R02" and moved["locked"] is True
    # the account says who moved it; undo gives back the reason it had, redo the move's
    assert moved["reason"].startswith("moved by hand by planner@example.com on ")
    assert client.post(f"/workspace/api/plans/{plan}/undo", headers=headers).json()["restored"] == 3
    assert _accounts_of(client, plan, "R02") == before
    back = client.get(f"/workspace/api/accounts/{ids[0]}?plan={plan}").json()
    assert back["territory"] == "R01" and back["reason"] == "CRM owner"
    assert client.post(f"/workspace/api/plans/{plan}/redo", headers=headers).json()["restored"] == 3
    again = client.get(f"/workspace/api/accounts/{ids[0]}?plan={plan}").json()
    assert again["reason"] == moved["reason"]
    assert client.post(f"/workspace/api/plans/{plan}/undo", headers=headers).json()["restored"] == 3
    assert client.post(f"/workspace/api/plans/{plan}/undo", headers=headers).status_code == 404
    with seeded_engine.connect() as conn:
        actions = conn.execute(select(audit_events.c.action, audit_events.c.actor)).all()
    assert ("move", "planner@example.com") in actions and ("undo", "planner@example.com") in actions


def test_moves_to_unknown_territory_or_baseline_are_refused(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    headers = {"X-CSRF-Token": csrf}
    plan = client.post("/workspace/api/plans/from-owners", json={}, headers=headers).json()[
        "plan_id"
    ]
    r = client.post(
        f"/workspace/api/plans/{plan}/moves",
        headers=headers,
        json={"account_ids": ["A0001"], "to_territory": "NOPE"},
    )
    assert r.status_code == 404
    r = client.post(
        f"/workspace/api/plans/{plan}/moves",
        headers=headers,
        json={"account_ids": ["ZZZ"], "to_territory": "R01"},
    )
    assert r.status_code == 404


# --- design jobs ------------------------------------------------------------------------
def _wait(client: TestClient, engine: Engine, job: dict) -> dict:  # type: ignore[type-arg]
    """Run the queue once (the worker ``serve`` starts) and read the job as the page does."""
    from territorial.planning import jobs

    assert job["status"] == "queued"
    jobs.run_worker(engine, once=True, scheduled_every=0)
    return client.get(f"/workspace/api/jobs/{job['id']}").json()


def test_design_job_is_a_stored_job_and_keeps_locks(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    headers = {"X-CSRF-Token": csrf}
    base = client.post("/workspace/api/plans/from-owners", json={}, headers=headers).json()
    far = client.get(f"/workspace/api/accounts?plan={base['plan_id']}&territory=R01&limit=1")
    pinned = far.json()["accounts"][0]["id"]  # a Seattle account, locked to Miami's rep
    client.post(f"/workspace/api/plans/{base['plan_id']}/moves", headers=headers,
                json={"account_ids": [pinned], "to_territory": "R08", "lock": True})  # fmt: skip
    options = {"balance": {"accounts": 0.15}, "time_limit": 10, "current_plan": base["plan_id"]}
    job = client.post(
        "/workspace/api/designs", json={"name": "Even", "options": options}, headers=headers
    ).json()
    job = _wait(client, seeded_engine, job)
    assert job["status"] == "done", job
    plan = job["plan_id"]
    kept = client.get(f"/workspace/api/accounts/{pinned}?plan={plan}").json()
    assert kept["territory"] == "R08" and kept["locked"] is True
    html = client.get(f"/workspace/dashboard?plan={plan}").text
    assert html.count("<svg") == 10 * 4
    assert 'data-testid="worst-accounts"' in html  # the plan's balanced measure, by its name
    compare = client.get(f"/workspace/compare?a=baseline&b={plan}").text
    assert "accounts change territory" in compare
    # another user cannot watch someone else's job
    other, _ = _client(seeded_engine, "manager@example.com")
    assert other.get(f"/workspace/api/jobs/{job['id']}").status_code == 404


def test_workspace_and_cli_make_the_same_plan(seeded_engine: Engine) -> None:
    from territorial.cli import main
    from territorial.store.plans import list_plans, load_plan

    client, csrf = _client(seeded_engine, "planner@example.com")
    options = {"balance": {"accounts": 0.1, "annual_revenue": 0.2}, "seed": 4, "time_limit": 20}
    job = client.post(
        "/workspace/api/designs",
        json={"name": "Same", "options": options},
        headers={"X-CSRF-Token": csrf},
    ).json()
    job = _wait(client, seeded_engine, job)
    assert job["status"] == "done", job
    url = seeded_engine.url.render_as_string(hide_password=False)
    try:
        main(["design", "--from-store", "--balance", "accounts=10%",
              "--balance", "annual_revenue=20%", "--seed", "4", "--time-limit", "20",
              "--save-as", "Same (CLI)", "--database", url])  # fmt: skip
    except SystemExit as exc:
        assert exc.code in (0, None)
    ids = [job["plan_id"], int(list_plans(seeded_engine)["id"].max())]
    web, cli = (load_plan(seeded_engine, plan_id=i)["assignments"] for i in ids)
    assert ids[0] != ids[1]
    assert web[["account_id", "territory_id"]].equals(cli[["account_id", "territory_id"]])


def test_design_form_offers_the_cli_options(seeded_engine: Engine) -> None:
    client, _ = _client(seeded_engine, "planner@example.com")
    html = client.get("/workspace/scenarios").text
    for name in ("potential", "workload_hours", "accounts", "annual_revenue"):
        assert f'name="balance" value="{name}"' in html
    for name in ("territories", "current_plan", "max_moves", "specialties", "capacity", "seed"):
        assert f'name="{name}"' in html
    assert '<option value="active">the active plan</option>' in html
    assert "--balance MEASURE=TOL" in html


def test_design_request_is_validated(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    headers = {"X-CSRF-Token": csrf}
    body = {"name": "Bad", "options": {"balance": {"height": 1.5}}}
    r = client.post("/workspace/api/designs", json=body, headers=headers)
    assert r.status_code == 400 and "height" in r.json()["message"]
    # a measure the store lacks fails in the worker, and the page says why
    body = {"name": "Unscored", "options": {"balance": {"potential": 0.1}}}
    job = client.post("/workspace/api/designs", json=body, headers=headers).json()
    job = _wait(client, seeded_engine, job)
    assert job["status"] == "failed" and "territorial score" in job["error"]


def test_activation_goes_through_the_lifecycle(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    headers = {"X-CSRF-Token": csrf}
    plan = client.post("/workspace/api/plans/from-owners", json={}, headers=headers).json()[
        "plan_id"
    ]
    r = client.post(f"/workspace/api/plans/{plan}/activate", headers=headers)
    assert r.status_code == 409 and "only an approved plan" in r.json()["message"]
    r = client.post(f"/workspace/api/plans/{plan}/submit", headers=headers)
    assert r.json()["status"] == "submitted"
    admin, admin_csrf = _client(seeded_engine, "admin@example.com")
    r = admin.post(f"/workspace/api/plans/{plan}/approve", headers={"X-CSRF-Token": admin_csrf})
    assert r.json()["status"] == "approved", r.text
    r = client.post(f"/workspace/api/plans/{plan}/activate", headers=headers)
    assert r.json()["status"] == "active", r.text


def test_static_assets_are_vendored_and_paths_cannot_escape(seeded_engine: Engine) -> None:
    client, _ = _client(seeded_engine)
    for asset in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/LICENSE",
        "vendor/topojson-client/topojson-client.min.js",
        "map.js",
    ):
        assert client.get(f"/workspace/static/{asset}").status_code == 200
    assert client.get("/workspace/static/../routes.py").status_code == 404
    assert client.get("/workspace/static/%2e%2e/routes.py").status_code == 404
    assert client.get("/workspace/basemap/states-10m.json").json()["type"] == "Topology"


# --- map layers -------------------------------------------------------------------------
@pytest.mark.parametrize("color", ["territory", "tier", "potential"])
def test_clusters_add_up_to_the_accounts_in_view(
    seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch, color: str
) -> None:
    from territorial.web import services

    monkeypatch.setattr(services, "POINT_LIMIT", 10)
    view = services.plan_view(seeded_engine, "baseline")
    everyone = services.Scope(None, True)
    layer = services.account_layer(view, everyone, bbox=None, zoom=3, color_by=color)
    assert layer["clustered"] and layer["total"] == 300
    counts = [f["properties"]["count"] for f in layer["features"]]
    assert sum(counts) == 300 and len(counts) < 300
    # a rep's clusters only count their own accounts
    ana = services.Scope(frozenset({"R01"}), False)
    own = services.account_layer(view, ana, bbox=None, zoom=3, color_by=color)
    assert own["total"] == int((view.codes == view.territory_ids.index("R01")).sum())
    assert sum(f["properties"]["count"] for f in own["features"]) == own["total"]


def test_selecting_a_county_returns_its_visible_accounts(seeded_engine: Engine) -> None:
    from territorial.web import services

    view = services.plan_view(seeded_engine, "baseline")
    county = view.data.county_index()
    i = int(np.flatnonzero(county >= 0)[0])
    fips = services.county_shapes()[0][county[i]]
    client, _ = _client(seeded_engine, "planner@example.com")
    found = client.get(f"/workspace/api/accounts?county={fips}&limit=500").json()
    assert view.data.frame["id"].iat[i] in {a["id"] for a in found["accounts"]}
    assert found["total"] == int((county == county[i]).sum())
    assert client.get("/workspace/api/accounts?county=99999").json()["total"] == 0
