"""``territorial plans ...`` and ``territorial export ...``: the CLI contract and its
errors (clear message, non-zero exit, nothing changed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from territorial.cli import main
from territorial.planning import lifecycle


def run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_the_cycle_from_the_command_line(
    company: Engine, save_designed_plan, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = company.url.render_as_string(hide_password=False)
    plan = save_designed_plan()
    db = ("--database", url)
    assert run("plans", "submit", str(plan), *db) == 0
    assert run("plans", "approve", str(plan), *db) == 0
    assert run("plans", "activate", str(plan), *db) == 0
    capsys.readouterr()
    assert run("plans", "list", "--format", "json", *db) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"id", "name", "status", "effective_date", "parent_id"} <= set(rows[0])
    assert rows[0]["id"] == plan and rows[0]["status"] == "active"
    assert run("export", "salesforce", "--plan", str(plan), "--out", str(tmp_path / "sf"), *db) == 0
    assert (tmp_path / "sf" / "ObjectTerritory2Association.csv").exists()
    assert run("export", "csv", "--plan", str(plan), "--out", str(tmp_path / "plan.csv"), *db) == 0
    assert run("export", "hubspot", "--plan", str(plan), "--out", str(tmp_path / "hs"), *db) == 0
    copy_code = run("plans", "copy", str(plan), *db)
    out = capsys.readouterr().out.strip().splitlines()
    assert copy_code == 0 and out[-1].startswith("plan ")
    draft = int(out[-1].split()[1])
    assert run("plans", "diff", str(plan), str(draft), "--format", "json", *db) == 0
    assert json.loads(capsys.readouterr().out)["moved_accounts"] == 0
    assert run("plans", "show", str(plan), *db) == 0


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["plans", "approve", "999"], 4, "no plan 999"),
        (["plans", "activate", "{draft}"], 5, "only an approved plan can be activated"),
        (["plans", "submit", "{draft}", "--user", "nobody@example.com"], 4, "no workspace user"),
        (["plans", "reject", "{draft}", "--reason", "x"], 5, "only a submitted plan"),
        (["plans", "activate", "{draft}", "--effective", "05/12/2026"], 2, "YYYY-MM-DD"),
        (["plans", "activate", "{draft}", "--holdover", "sometimes"], 2, "holdover"),
        (["export", "salesforce", "--plan", "{draft}", "--out", "{tmp}"], 5, "only an approved"),
        (["plans", "list", "--format", "xml"], 2, "table or json"),
        (["plans", "diff", "x", "{draft}"], 2, "plan id or 'crm'"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    company: Engine,
    save_designed_plan,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    code: int,
    message: str,
) -> None:
    url = company.url.render_as_string(hide_password=False)
    draft = save_designed_plan()
    before = lifecycle.list_versions(company)
    filled = [a.format(draft=draft, tmp=tmp_path / "out") for a in argv]
    assert run(*filled, "--database", url) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert lifecycle.list_versions(company) == before
    assert not (tmp_path / "out").exists()


def test_past_effective_date(company: Engine, save_designed_plan, capsys) -> None:
    url = company.url.render_as_string(hide_password=False)
    plan = save_designed_plan()
    lifecycle.submit(company, plan_id=plan)
    lifecycle.approve(company, plan_id=plan)
    assert run("plans", "activate", str(plan), "--effective", "2020-01-01", "--database", url) == 2
    assert "in the past" in capsys.readouterr().err
    assert lifecycle.get_version(company, plan_id=plan)["status"] == "approved"
