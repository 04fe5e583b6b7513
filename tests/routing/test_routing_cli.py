"""``territorial route``, ``territorial rules check``: files in, owners and reasons out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from territorial.cli import main

RULES = """version: 1
regions:
  - id: west
    match: {state: [CA]}
    territories:
      - {id: west-ent, priority: 10, match: {employees: {min: 1000}}, owner: ann}
      - {id: west-all, priority: 20, match: {}, owner: bob}
"""


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_route_a_csv_offline_with_reasons(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    leads = tmp_path / "leads.csv"
    leads.write_text("id,state,employees,postal_code\nL1,CA,5000,02139\nL2,CA,5,\nL3,TX,5,\n")
    out = tmp_path / "out.csv"
    assert run(["route", str(leads), "--rules", str(rules), "--out", str(out)]) == 0
    result = pd.read_csv(out, dtype=str)
    assert result["territory_id"].fillna("-").tolist() == ["west-ent", "west-all", "-"]
    assert result["owner_id"].fillna("-").tolist() == ["ann", "bob", "-"]
    assert result["reason"][0].startswith(
        "matched west/west-ent because state=CA and employees=5,000"
    )
    assert "no territory rule matched" in result["reason"][2]
    assert "to route to west/west-all" in result["alternatives"][0]


def test_route_json_leads_matched_to_accounts_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,name,domain,state,employees\nA1,Acme Inc,acme.com,CA,5000\n")
    leads = tmp_path / "leads.json"
    leads.write_text(json.dumps([{"id": "L1", "email": "jo@acme.com", "state": "TX"}]))
    out = tmp_path / "out.json"
    assert (
        run(
            [
                "route",
                str(leads),
                "--rules",
                str(rules),
                "--accounts",
                str(accounts),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    [row] = json.loads(out.read_text())
    assert (row["account_id"], row["territory_id"]) == ("A1", "west-ent")


def test_rules_check_reports_line_numbers_and_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("{min: 1000}", "{min: 1000, max: 10}"))
    assert run(["rules", "check", str(bad)]) == 3
    err = capsys.readouterr().err
    assert "bad.yaml:6:" in err and "minimum 1000 is greater than maximum 10" in err


def test_rules_check_yaml_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nregions:\n  - id: [oops\n")
    assert run(["rules", "check", str(bad)]) == 3
    assert "bad.yaml:4:" in capsys.readouterr().err


def test_rules_check_overlaps_and_gaps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,state,employees\nA1,CA,5000\nA2,CA,5\nA3,NY,5\n")
    assert run(["rules", "check", str(rules), "--accounts", str(accounts)]) == 0
    out = capsys.readouterr().out
    assert "2 of 3 accounts claimed; 1 unclaimed" in out
    assert "A3" in out and "west-ent" in out and "west-all" in out
