"""The reps' voice, complete: a rep finds and requests another territory's account (library,
CLI, REST API, workspace), the feedback per territory reaches the plan review (flags
counts, plans diff, the API's diff, the Compare page), and the plan page of a rep who
cannot have a plan yet says what is missing and who fixes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from territorial.api.app import create_app
from territorial.errors import ConfigError, NotFoundError
from territorial.io import import_paths
from territorial.planning import lifecycle
from territorial.planning.ownership import book
from territorial.repplan import flags
from territorial.settings import load_settings
from territorial.store import open_store
from territorial.store.tables import reps as rep_table
from territorial.web import auth

from .test_flags import activate_crm_owners
from .test_workspace_api import PASSWORD, TOKEN, login, people  # noqa: F401 (fixture)


def _other_account(engine: Engine, rep: str) -> tuple[str, str, str]:
    """An account of another rep's book: id, name and its territory."""
    owners = book(engine)
    row = owners[owners["rep_id"] != rep].iloc[0]
    from territorial.store.records import read_accounts

    names = read_accounts(engine, columns=("id", "name")).set_index("id")["name"]
    return str(row["account_id"]), str(names[row["account_id"]]), str(row["territory_id"])


def test_requestable_accounts_and_feedback_per_territory(scored: Engine) -> None:
    owners = book(scored)
    rep = str(owners["rep_id"].value_counts().index[0])
    mine = set(owners.loc[owners["rep_id"] == rep, "account_id"])
    other, name, territory = _other_account(scored, rep)

    found = flags.requestable_accounts(scored, rep_id=rep, query=name.upper())
    assert other in [f["account_id"] for f in found]
    assert not mine & {f["account_id"] for f in found}
    hit = next(f for f in found if f["account_id"] == other)
    assert hit["territory_id"] == territory and hit["open_request"] is None
    assert set(hit) >= {"account_name", "city", "state", "industry", "territory_name"}
    # a word common to many names: never the rep's own accounts, at most `limit`
    many = flags.requestable_accounts(scored, rep_id=rep, query=name.split()[0], limit=5)
    assert 1 <= len(many) <= 5 and not mine & {f["account_id"] for f in many}
    with pytest.raises(ConfigError, match="at least 2 characters"):
        flags.requestable_accounts(scored, rep_id=rep, query=" x ")
    with pytest.raises(NotFoundError):
        flags.requestable_accounts(scored, rep_id="R-NOBODY", query=name)

    request = flags.add_flag(
        scored, rep_id=rep, account_id=other, kind="request", comment="my customer's sister"
    )
    again = flags.requestable_accounts(scored, rep_id=rep, query=name)
    assert next(f for f in again if f["account_id"] == other)["open_request"] == request["id"]
    own = sorted(mine)[0]
    flags.add_flag(scored, rep_id=rep, account_id=own, kind="duplicate", comment="twice")

    per_territory = {r["territory_id"]: r for r in flags.feedback_counts(scored, by="territory")}
    home = flags.rep_territory(scored, rep_id=rep)
    assert per_territory[home]["total"] == 2 and per_territory[home]["open"] == 2
    assert per_territory[home]["request"] == 1 and per_territory[home]["duplicate"] == 1
    assert per_territory[territory]["requested_away"] == 1
    assert per_territory[territory]["total"] == 0
    per_rep = flags.feedback_counts(scored)
    assert [(r["rep_id"], r["total"]) for r in per_rep] == [(rep, 2)]
    with pytest.raises(ConfigError, match="--by must be one of rep, territory"):
        flags.feedback_counts(scored, by="state")


def test_cli_find_counts_by_territory_and_diff(
    scored: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from territorial.cli import main

    url = scored.url.render_as_string(hide_password=False)

    def run(*argv: str) -> int:
        try:
            main([*argv, "-d", url])
        except SystemExit as stop:
            return int(stop.code or 0)
        return 0

    active = activate_crm_owners(scored)
    owners = book(scored)
    rep = str(owners["rep_id"].iloc[0])
    other, name, territory = _other_account(scored, rep)
    assert run("flags", "find", "--rep", rep, "--query", name) == 0
    assert other in capsys.readouterr().out
    assert run("flags", "find", "--rep", rep, "--query", "x") == 2
    assert "at least 2 characters" in capsys.readouterr().err
    assert (
        run("flags", "add", "--rep", rep, "--account", other, "--kind", "request", "--comment", "c")
        == 0
    )
    capsys.readouterr()
    assert run("flags", "counts", "--by", "territory") == 0
    out = capsys.readouterr().out
    assert "per territory" in out and re.search(rf"{territory} .*│ +1 │ +│$", out, re.M)
    assert run("flags", "counts", "--by", "state") == 2

    draft = lifecycle.new_draft(scored, plan_id=active)
    assert run("plans", "diff", str(active), str(draft)) == 0
    assert "Reps' feedback per territory" in capsys.readouterr().out
    assert run("plans", "diff", str(active), str(draft), "--format", "json") == 0
    import json

    payload = json.loads(capsys.readouterr().out)
    assert payload["feedback"] == flags.feedback_counts(scored, plan_id=active, by="territory")
    assert {r["territory_id"] for r in payload["feedback"]} >= {territory}


def test_api_requestable_accounts_post_flags_and_diff(
    scored: Engine,
    people: dict[str, str],  # noqa: F811
) -> None:
    active = activate_crm_owners(scored)
    other, name, territory = _other_account(scored, people["rep"])
    _, secret = auth.create_api_token(scored, email="boss@example.com", name="t", scope="read")
    settings = load_settings(
        database_url=scored.url.render_as_string(hide_password=False), api_token=TOKEN
    )
    admin = {"Authorization": f"Bearer {TOKEN}"}
    boss = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(settings, engine=scored)) as api:
        path = f"/api/reps/{people['rep']}/requestable-accounts"
        found = api.get(path, params={"q": name}, headers=admin)
        assert found.status_code == 200
        assert other in [f["account_id"] for f in found.json()]
        assert api.get(path, params={"q": "x"}, headers=admin).status_code == 422
        # a manager: their team's rep yes, another team's rep is "not found"
        assert api.get(path, params={"q": name}, headers=boss).status_code == 200
        outsider = f"/api/reps/{people['outsider']}/requestable-accounts"
        assert api.get(outsider, params={"q": name}, headers=boss).status_code == 404

        body = {
            "rep_id": people["rep"],
            "account_id": other,
            "kind": "request",
            "comment": "we met at their HQ",
        }
        assert api.post("/api/flags", json=body, headers=boss).status_code == 403  # read only
        made = api.post("/api/flags", json=body, headers=admin)
        assert made.status_code == 201, made.text
        assert made.json()["kind"] == "request" and made.json()["from_territory"] == territory
        assert api.post("/api/flags", json=body, headers=admin).status_code == 409
        bad = api.post("/api/flags", json={**body, "kind": "fax"}, headers=admin)
        assert bad.status_code in (400, 422) and "kind must be one of" in bad.text

        counts = api.get("/api/flags/counts", params={"by": "territory"}, headers=admin).json()
        assert next(r for r in counts if r["territory_id"] == territory)["requested_away"] == 1
        by_territory = api.get("/api/flags/counts", params={"by": "territory"}, headers=boss)
        assert by_territory.status_code == 403  # territories cross teams: planners only
        assert [r["rep_id"] for r in api.get("/api/flags/counts", headers=boss).json()] == [
            people["rep"]
        ]
        draft = lifecycle.new_draft(scored, plan_id=active)
        diff = api.get(f"/api/plans/{draft}/diff", headers=admin).json()
        assert diff["feedback"] == flags.feedback_counts(scored, plan_id=active, by="territory")


def test_workspace_search_request_and_compare(
    scored: Engine,
    people: dict[str, str],  # noqa: F811
) -> None:
    other, name, _ = _other_account(scored, people["rep"])
    client, csrf = login(scored, "rep@example.com")
    page = client.get("/workspace/plan", params={"find": name})
    assert page.status_code == 200 and 'data-testid="requestable"' in page.text
    assert f"/workspace/accounts/{other}/flag" in page.text
    short = client.get("/workspace/plan", params={"find": "x"})
    assert "at least 2 characters" in short.text
    sent = client.post(
        f"/workspace/accounts/{other}/flag",
        data={
            "csrf_token": csrf,
            "kind": "request",
            "comment": "I know their CFO",
            "back": f"/workspace/plan?rep={people['rep']}",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/workspace/plan?rep=")
    assert "done=request" in sent.headers["location"]
    again = client.post(
        f"/workspace/accounts/{other}/flag",
        data={
            "csrf_token": csrf,
            "kind": "request",
            "comment": "again",
            "back": f"/workspace/plan?rep={people['rep']}",
        },
        follow_redirects=True,
    )
    assert again.status_code == 200 and "already has an open request flag" in again.text
    assert "requested (#" in client.get("/workspace/plan", params={"find": name}).text

    # the manager sees the rep's plan but may not request for them
    boss, _ = login(scored, "boss@example.com")
    theirs = boss.get("/workspace/plan", params={"rep": people["rep"], "find": name})
    assert theirs.status_code == 200 and 'data-testid="requestable"' not in theirs.text
    assert boss.get("/workspace/plan", params={"rep": people["outsider"]}).status_code == 404

    planner, _ = login(scored, "planner@example.com")
    compare = planner.get("/workspace/compare", params={"a": "baseline", "b": "baseline"})
    assert compare.status_code == 200
    assert 'data-testid="compare-feedback"' in compare.text
    home = flags.rep_territory(scored, rep_id=people["rep"])
    cell = re.search(rf'data-testid="feedback-{home}">([^<]*)<', compare.text)
    assert cell is not None and cell.group(1) == "1/1, 0"


def test_plan_page_says_what_is_missing(
    scored: Engine,
    company_files: Path,
    tmp_path: Path,
    people: dict[str, str],  # noqa: F811
) -> None:
    # a rep without territory
    with scored.begin() as conn:
        conn.execute(insert(rep_table).values(id="R-NEW", name="New Hire", active=True))
    auth.add_user(scored, email="new@example.com", role="rep", password=PASSWORD, rep_id="R-NEW")
    client, _ = login(scored, "new@example.com")
    page = client.get("/workspace/plan")
    assert page.status_code == 200 and 'data-testid="plan-missing"' in page.text
    assert "Rep R-NEW carries no territory in the CRM owners" in page.text
    assert "a planner" in page.text and 'data-testid="targets"' not in page.text

    # a store with accounts but no scores
    bare = open_store(f"sqlite:///{tmp_path / 'bare.db'}")
    try:
        import_paths([company_files], engine=bare)
        auth.add_user(
            bare, email="rep@example.com", role="rep", password=PASSWORD, rep_id=people["rep"]
        )
        auth.add_user(bare, email="planner@example.com", role="planner", password=PASSWORD)
        rep_client, _ = login(bare, "rep@example.com")
        page = rep_client.get("/workspace/plan")
        assert page.status_code == 200 and "The accounts are not scored yet" in page.text
        assert "runs `territorial score`" in page.text
        planner, _ = login(bare, "planner@example.com")
        page = planner.get("/workspace/plan")
        assert page.status_code == 200 and "The accounts are not scored yet" in page.text
        assert "carries no territory" not in page.text
    finally:
        bare.dispose()
