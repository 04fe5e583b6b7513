"""``territorial import`` and ``territorial status``: exit codes and what they print."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from territorial.cli import main
from territorial.cli.app import console, err_console
from territorial.errors import ValidationError
from territorial.store import open_store
from territorial.store.records import entity_counts


@pytest.fixture(autouse=True)
def _wide_consoles() -> Iterator[None]:
    """Wide Rich output so table cells are not folded in the captured text."""
    saved = (console._width, err_console._width)
    console.width = err_console.width = 250
    yield
    console._width, err_console._width = saved


def run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_import_then_status(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _write(
        tmp_path / "exports",
        {
            "accounts.csv": "id,name,postal_code,owner_id\nA1,Acme,02139,R1\nA2,Beta,99999,R1\n",
            "reps.csv": "id,name\nR1,Rita\n",
        },
    )
    assert run("import", str(folder), "--database", sqlite_url) == 0
    out = capsys.readouterr()
    assert "accounts" in out.out and "import #1" in out.out
    assert "cannot be located" in out.err  # the warning is shown but does not block
    assert entity_counts(open_store(sqlite_url))["accounts"] == 2

    assert run("status", "--database", sqlite_url) == 0
    out = capsys.readouterr().out
    assert "accounts" in out and "2" in out
    assert "last import: #1 succeeded" in out
    assert "schema version:" in out
    assert "territorial.db" in out


def test_rejected_import_lists_every_problem_and_exits_3(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _write(
        tmp_path / "bad",
        {"accounts.csv": "id,name,employees\nA1,Acme,many\nA1,Again,-4\n"},
    )
    assert run("import", str(folder), "-d", sqlite_url) == ValidationError.exit_code
    err = capsys.readouterr().err
    assert "3 problem(s): nothing was imported" in err
    assert "'many'" in err and "duplicate id (first in row 2)" in err
    assert "employees is negative" in err
    assert "the database was not changed" in err
    assert entity_counts(open_store(sqlite_url))["accounts"] == 0


def test_dry_run_and_replace_flags(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _write(tmp_path / "one", {"accounts.csv": "id,name\nA1,Acme\nA2,Beta\n"})
    assert run("import", str(first), "-d", sqlite_url, "--dry-run") == 0
    assert "would import" in capsys.readouterr().out
    assert entity_counts(open_store(sqlite_url))["accounts"] == 0
    assert run("import", str(first), "-d", sqlite_url) == 0
    second = _write(tmp_path / "two", {"accounts.csv": "id,name\nA2,Beta\n"})
    # Half the accounts would go: more than the 20% a replace may delete unasked.
    assert run("import", str(second), "-d", sqlite_url, "--replace") == ValidationError.exit_code
    err = capsys.readouterr().err
    assert "would delete 1 of the 2 stored accounts (50%)" in err and "--force" in err
    assert entity_counts(open_store(sqlite_url))["accounts"] == 2
    assert run("import", str(second), "-d", sqlite_url, "--replace", "--force") == 0
    out = capsys.readouterr().out
    assert "imports undo 2" in out
    assert entity_counts(open_store(sqlite_url))["accounts"] == 1
    # The deleted account comes back with --undo.
    assert run("import", "--undo", "2", "-d", sqlite_url) == 0
    assert "undid import #2" in capsys.readouterr().out
    assert entity_counts(open_store(sqlite_url))["accounts"] == 2


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["import", "missing-folder"], 2, "does not exist"),
        (["import", "{folder}", "--kind", "widgets"], 2, "unknown kind 'widgets'"),
        (["import", "{folder}", "--mapping", "{folder}/nope.yaml"], 2, "does not exist"),
    ],
)
def test_usage_errors(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    message: str,
) -> None:
    folder = _write(tmp_path / "in", {"accounts.csv": "id,name\nA1,Acme\n"})
    args = [a.format(folder=folder) for a in argv]
    assert run(*args, "-d", sqlite_url) == code
    assert message in capsys.readouterr().err


def test_readings_and_reading_options(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _write(
        tmp_path / "eu",
        {
            "extract.csv": "Id;Name;Annual Revenue;Billing Zip/Postal Code\n"
            "A1;Acme;2,500;02139\nA2;Beta;1,250;10001\n",
            "opportunities.csv": "id;account_id;amount;stage;created_date\n"
            "O1;A1;10;Open;03/04/2024\n",
        },
    )
    # Ambiguous decimals in a semicolon file: refused, then read as told.
    assert run("import", str(folder), "-d", sqlite_url) == ValidationError.exit_code
    assert "--decimal comma or --decimal point" in capsys.readouterr().err
    assert run("import", str(folder), "-d", sqlite_url, "--decimal", "comma",
               "--date-format", "mdy") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "read as" in out and "accounts" in out and "columns Annual Revenue" in out
    assert "month/day/year" in out and "--date-format" in out
    engine = open_store(sqlite_url)
    from territorial.store.records import read_accounts, read_opportunities

    assert read_accounts(engine)["annual_revenue"].tolist() == [2.5, 1.25]
    assert str(read_opportunities(engine).loc[0, "created_date"].date()) == "2024-03-04"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--decimal", "dot"], "--decimal 'dot': use comma or point"),
        (["--date-format", "tomorrow"], "--date-format 'tomorrow' is not understood"),
        (["--sheet", "Data"], "--sheet picks a worksheet of an XLSX workbook"),
        (["--force"], "--force only applies to --replace"),
        (["--undo", "1"], "--undo takes no files"),
    ],
)
def test_option_errors(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    folder = _write(tmp_path / "in", {"accounts.csv": "id,name\nA1,Acme\n"})
    assert run("import", str(folder), *argv, "-d", sqlite_url) == 2
    assert message in capsys.readouterr().err


def test_imports_list_show_and_undo(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reps = "id,name\n" + "".join(f"R{n},Rep {n}\n" for n in range(1, 6))
    folder = _write(tmp_path / "one", {"users.csv": reps})
    assert run("import", str(folder), "-d", sqlite_url) == 0
    empty = _write(tmp_path / "two", {"users.csv": "id,name\n"})
    assert run("import", str(empty), "-d", sqlite_url, "--replace") == ValidationError.exit_code
    assert "would delete 5 of the 5 stored reps (100%)" in capsys.readouterr().err
    assert run("import", str(empty), "-d", sqlite_url, "--replace", "--force") == 0
    capsys.readouterr()
    assert entity_counts(open_store(sqlite_url))["reps"] == 0

    assert run("imports", "list", "-d", sqlite_url) == 0
    out = capsys.readouterr().out
    assert "#2" in out and "5 deleted" in out and "#1" in out and "5 new" in out
    assert run("imports", "show", "1", "-d", sqlite_url) == 0
    out = capsys.readouterr().out
    assert "users.csv" in out and "file name 'users.csv'" in out

    assert run("imports", "undo", "2", "-d", sqlite_url) == 0
    assert "undid import #2" in capsys.readouterr().out
    assert entity_counts(open_store(sqlite_url))["reps"] == 5
    assert run("imports", "list", "--format", "json", "-d", sqlite_url) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["kind"], r["undoes"], r["undone_by"]) for r in listed] == [
        (3, "undo", 2, None), (2, "import", None, 3), (1, "import", None, None)
    ]  # fmt: skip
    assert run("imports", "undo", "2", "-d", sqlite_url) == 5  # already undone: a conflict
    assert "already undone by #3" in capsys.readouterr().err
    assert run("imports", "show", "9", "-d", sqlite_url) == 4
    assert "there is no import #9" in capsys.readouterr().err


def test_replace_share_comes_from_the_setting(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _write(tmp_path / "one", {"accounts.csv": "id,name\nA1,Acme\nA2,Beta\n"})
    assert run("import", str(first), "-d", sqlite_url) == 0
    second = _write(tmp_path / "two", {"accounts.csv": "id,name\nA2,Beta\n"})
    monkeypatch.setenv("TERRITORIAL_IMPORT_REPLACE_MAX_SHARE", "0.5")
    assert run("import", str(second), "-d", sqlite_url, "--replace") == 0
    assert entity_counts(open_store(sqlite_url))["accounts"] == 1
