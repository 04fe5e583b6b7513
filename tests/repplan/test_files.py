"""The plan's files open in ordinary tools: XLSX (openpyxl), ICS (icalendar), PDF pages
rendered to images (pdftoppm); the CLI writes them or nothing."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from sqlalchemy import Engine

from territorial.cli import main
from territorial.planning.ownership import book

START = "2026-11-02"
TARGET_COLUMNS = [
    "account_id",
    "account_name",
    "rationale",
    "tier",
    "potential",
    "offer",
    "collaboration",
    "first_step_date",
    "channels",
]


def run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_rep_plan_writes_pdf_xlsx_and_ics_that_open(scored: Engine, tmp_path: Path) -> None:
    owners = book(scored)
    rep_id = owners["rep_id"].value_counts().index[0]
    out = tmp_path / "plans"
    assert (
        run("rep-plan", "--rep", rep_id, "--out", str(out), "--start", START, "-d", _url(scored))
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        f"{rep_id}.{x}" for x in ("ics", "pdf", "xlsx")
    ]

    workbook = load_workbook(out / f"{rep_id}.xlsx", read_only=True)
    rows = list(workbook["Targets"].values)
    header = list(rows[0])
    assert header[: len(header)] and all(c in header for c in TARGET_COLUMNS)
    targets = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert targets
    mine = set(owners.loc[owners["rep_id"] == rep_id, "account_id"])
    for t in targets:
        assert t["account_id"] in mine
        assert t["rationale"] and t["offer"]
        assert t["tier"] in ("A", "B", "C")
        assert set(t["channels"].split("|")) <= {
            "email",
            "call",
            "social",
            "visit",
            "event",
            "decision",
        }
    schedule = list(workbook["Schedule"].values)
    assert list(schedule[0][:4]) == ["account_id", "date", "channel", "step"]
    steps = [dict(zip(schedule[0], r, strict=True)) for r in schedule[1:]]
    firsts: dict[str, object] = {}
    for s in steps:
        firsts[s["account_id"]] = min(firsts.get(s["account_id"], s["date"]), s["date"])
    for t in targets:
        assert firsts[t["account_id"]] == t["first_step_date"]
        assert len([s for s in steps if s["account_id"] == t["account_id"]]) == len(
            t["channels"].split("|")
        )

    calendar = Calendar.from_ical((out / f"{rep_id}.ics").read_bytes())
    events = list(calendar.walk("VEVENT"))
    assert len(events) == len(steps)
    days = sorted(e.decoded("dtstart") for e in events)
    assert days[0] >= date(2026, 11, 2)
    assert len({str(e["uid"]) for e in events}) == len(events)

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed")
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "40",
            "-png",
            "-f",
            "1",
            "-l",
            "2",
            str(out / f"{rep_id}.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2 and all(p.stat().st_size > 5_000 for p in pages)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--rep", "R999"], 4, "no rep 'R999'"),
        (["--all", "--rep", "R1"], 2, "not both"),
        ([], 2, "give --rep"),
        (["--all", "--expansion-share", "2"], 2, "expansion share must be 0-1"),
        (["--all", "--start", "soon"], 2, "--start must be a date"),
    ],
)
def test_bad_input_writes_nothing(
    scored: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    says: str,
) -> None:
    out = tmp_path / "plans"
    assert run("rep-plan", *args, "--out", str(out), "-d", _url(scored)) == code
    assert says in capsys.readouterr().err
    assert not out.exists()


def test_rep_without_territory_and_invalid_playbook_write_nothing(
    scored: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plans"
    owners = set(book(scored)["rep_id"])
    from territorial.store.records import read_reps

    without = sorted(set(read_reps(scored)["id"]) - owners)[0]
    assert run("rep-plan", "--rep", without, "--out", str(out), "-d", _url(scored)) == 2
    assert f"rep {without} carries no territory" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sequences:\n  - name: x\n    steps:\n      - {day: 0, channel: fax, step: s}\n"
        "offers:\n  - {name: o, offer: hi}\n"
    )
    assert (
        run("rep-plan", "--all", "--playbook", str(bad), "--out", str(out), "-d", _url(scored)) == 3
    )
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "row 4" in err and "fax" in err
    # one good rep and one unknown: checked before anything is written
    good = sorted(owners)[0]
    assert (
        run("rep-plan", "--rep", good, "--rep", "R999", "--out", str(out), "-d", _url(scored)) == 4
    )
    assert not out.exists()


def test_all_reps_without_pdf(scored: Engine, tmp_path: Path) -> None:
    out = tmp_path / "plans"
    assert (
        run(
            "rep-plan", "--all", "--no-pdf", "--out", str(out), "--start", START, "-d", _url(scored)
        )
        == 0
    )
    owners = sorted(set(book(scored)["rep_id"]))
    assert sorted(p.stem for p in out.glob("*.xlsx")) == owners
    assert sorted(p.stem for p in out.glob("*.ics")) == owners
    assert not list(out.glob("*.pdf"))
