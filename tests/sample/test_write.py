"""Files on disk: formats, byte-for-byte determinism, and the ``territorial sample`` command."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from territorial.cli import main
from territorial.cli.app import app
from territorial.errors import ConfigError
from territorial.sample import (
    ACCOUNT_COLUMNS,
    ACTIVITY_COLUMNS,
    OPPORTUNITY_COLUMNS,
    REP_COLUMNS,
    write_sample_company,
    write_tables,
)
from territorial.sample.leads import LEAD_COLUMNS

ENTITIES = ("accounts", "reps", "opportunities", "activities")
HEADERS = {
    "accounts": ACCOUNT_COLUMNS,
    "reps": REP_COLUMNS,
    "opportunities": OPPORTUNITY_COLUMNS,
    "activities": ACTIVITY_COLUMNS,
    "leads": LEAD_COLUMNS,
}


def _bytes(paths: dict[str, Path]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in paths.items()}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, fmt: str) -> None:
    size = 60 if fmt == "xlsx" else 300
    first = write_sample_company(tmp_path / "a", accounts=size, reps=5, seed=42, fmt=fmt)
    again = write_sample_company(tmp_path / "b", accounts=size, reps=5, seed=42, fmt=fmt)
    other = write_sample_company(tmp_path / "c", accounts=size, reps=5, seed=43, fmt=fmt)
    assert set(first) == {*ENTITIES, "leads"}
    assert all(path.name == f"{name}.{fmt}" for name, path in first.items())
    assert first["leads"].parent.name == "leads"
    assert _bytes(first) == _bytes(again)
    assert _bytes(first)["accounts"] != _bytes(other)["accounts"]
    assert _bytes(first)["leads"] != _bytes(other)["leads"]


def test_csv_headers_and_iso_dates(tmp_path: Path) -> None:
    paths = write_sample_company(tmp_path, accounts=200, reps=4, seed=1)
    for name, path in paths.items():
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert tuple(rows[0].keys()) == HEADERS[name]
    opportunities = pd.read_csv(paths["opportunities"], dtype=str, keep_default_na=False)
    assert opportunities["created_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert opportunities["close_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(opportunities["is_won"]) <= {"true", "false"}
    activities = pd.read_csv(paths["activities"], dtype=str, keep_default_na=False)
    iso = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
    assert activities["occurred_at"].map(lambda text: bool(iso.fullmatch(text))).all()
    reps = pd.read_csv(paths["reps"], dtype=str, keep_default_na=False)
    assert reps["start_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    accounts = pd.read_csv(paths["accounts"], dtype=str, keep_default_na=False)
    assert accounts["postal_code"].str.fullmatch(r"\d{5}").all()  # leading zeros kept
    leads = pd.read_csv(paths["leads"], dtype=str, keep_default_na=False)
    assert leads["created_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert leads["postal_code"].str.fullmatch(r"\d{5}").all()


def test_parquet_round_trips_types(tmp_path: Path) -> None:
    paths = write_sample_company(tmp_path, accounts=100, reps=3, seed=2, fmt="parquet")
    opportunities = pd.read_parquet(paths["opportunities"])
    assert tuple(opportunities.columns) == OPPORTUNITY_COLUMNS
    assert opportunities["is_won"].dtype == bool
    activities = pd.read_parquet(paths["activities"])
    assert pd.api.types.is_datetime64_any_dtype(activities["occurred_at"])


def test_unknown_format_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown format 'json'"):
        write_sample_company(tmp_path, accounts=10, reps=2, fmt="json")


def test_excel_refuses_sheets_over_its_row_limit(tmp_path: Path) -> None:
    big = pa.table({"id": pa.array(range(1_048_576))})
    with pytest.raises(ConfigError, match="at most 1,048,575"):
        write_tables({"activities": big}, tmp_path, fmt="xlsx")


def test_cli_writes_four_files_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "sample"
    result = CliRunner().invoke(
        app,
        ["sample", "--accounts", "300", "--reps", "6", "--seed", "3", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "accounts.csv",
        "activities.csv",
        "leads",
        "opportunities.csv",
        "reps.csv",
    ]
    assert [p.name for p in (out / "leads").iterdir()] == ["leads.csv"]
    assert "accounts.csv" in result.output and "300" in result.output
    assert "states" in result.output


def test_cli_parquet(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["sample", "-n", "50", "-r", "3", "--format", "parquet", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "accounts.parquet").exists()


def test_cli_bad_format_exits_with_config_error_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sample", "-n", "10", "-r", "2", "--format", "json", "--out", str(tmp_path)])
    assert exc.value.code == ConfigError.exit_code
    assert "unknown format" in capsys.readouterr().err


def test_cli_help_documents_every_option() -> None:
    result = CliRunner().invoke(app, ["sample", "--help"])
    assert result.exit_code == 0
    for option in ("--accounts", "--reps", "--seed", "--out", "--format", "--years"):
        assert option in result.output
