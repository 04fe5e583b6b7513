"""The CLI contract of issue 12: quota, performance, signals, goals; bad input writes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _goals_data import add_plan
from sqlalchemy import Engine

from territorial.cli import main


def run(argv: list[str], url: str) -> int:
    try:
        main([*argv, "--database", url])
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def test_quota_writes_both_files_and_a_version(
    tiny_sqlite: Engine, sqlite_url: str, tmp_path: Path
) -> None:
    plan = add_plan(tiny_sqlite)
    out = tmp_path / "quotas.csv"
    code = run(
        [
            "quota",
            "--plan",
            str(plan),
            "--target",
            "100000",
            "--period",
            "FY2026",
            "--method",
            "blend",
            "--out",
            str(out),
        ],
        sqlite_url,
    )
    assert code == 0
    quotas = pd.read_csv(out)
    assert {"territory", "rep_id", "quota", "potential"} <= set(quotas.columns)
    assert quotas.set_index("territory")["rep_id"].to_dict() == {"N": "R2", "S": "R1"}
    assert quotas["quota"].sum() == pytest.approx(100_000)
    monthly = pd.read_csv(tmp_path / "quotas_monthly.csv", dtype={"month": str})
    assert list(monthly.columns) == ["territory", "month", "quota"]
    assert monthly["month"].str.fullmatch(r"2026-\d\d").all()
    assert monthly.groupby("territory")["quota"].sum().round(2).to_dict() == (
        quotas.set_index("territory")["quota"].round(2).to_dict()
    )
    from territorial.store.goals import list_quota_sets

    assert [s["plan_id"] for s in list_quota_sets(tiny_sqlite)] == [plan]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--target", "0"], 2, "positive amount"),
        (["--target", "-10"], 2, "positive amount"),
        (["--period", "FY26"], 2, "does not parse"),
        (["--period", "2026-13"], 2, "period '2026-13'"),
        (["--plan", "999"], 4, "no plan 999"),
        (["--ramp", "50,120"], 2, "100%"),
        (["--method", "luck"], 2, "method"),
    ],
)
def test_quota_bad_input_writes_nothing(
    tiny_sqlite: Engine,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    plan = add_plan(tiny_sqlite)
    base = {"--plan": str(plan), "--target": "1000", "--period": "FY2026"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["quota", *[x for kv in base.items() for x in kv]]
    out = tmp_path / "quotas.csv"
    assert run([*argv, "--out", str(out)], sqlite_url) == code
    assert message in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "quotas_monthly.csv").exists()
    from territorial.store.goals import list_quota_sets

    assert list_quota_sets(tiny_sqlite) == []


def test_performance_contract_columns(tiny_sqlite: Engine, sqlite_url: str, tmp_path: Path) -> None:
    out = tmp_path / "perf.csv"
    code = run(
        [
            "performance",
            "--by",
            "rep",
            "--grain",
            "week",
            "--from",
            "2026-02-01",
            "--to",
            "2026-02-28",
            "--out",
            str(out),
        ],
        sqlite_url,
    )
    assert code == 0
    perf = pd.read_csv(out, dtype={"period": str})
    for column in (
        "key",
        "period",
        "bookings",
        "won",
        "lost",
        "win_rate",
        "pipeline",
        "activities",
        "quota",
        "attainment",
    ):
        assert column in perf.columns
    assert perf["period"].tolist()[:4] == ["2026-01-26", "2026-02-02", "2026-02-09", "2026-02-16"]
    assert perf["bookings"].sum() == pytest.approx(1000.10 + 3333.33)
    xlsx = tmp_path / "perf.xlsx"
    assert (
        run(
            ["performance", "--by", "segment", "--grain", "quarter", "--out", str(xlsx)], sqlite_url
        )
        == 0
    )
    assert pd.read_excel(xlsx)["period"].str.fullmatch(r"\d{4}-Q[1-4]").all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "planet", "--grain", "month"], "--by"),
        (["--by", "rep", "--grain", "year"], "--grain"),
        (["--by", "rep", "--grain", "month", "--from", "2026-02-30"], "--from"),
    ],
)
def test_performance_bad_input(
    tiny_sqlite: Engine,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "perf.csv"
    assert run(["performance", *args, "--out", str(out)], sqlite_url) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_signals_and_goals(tiny_sqlite: Engine, sqlite_url: str, tmp_path: Path) -> None:
    plan = add_plan(tiny_sqlite)
    assert (
        run(
            [
                "quota",
                "--plan",
                str(plan),
                "--target",
                "500000",
                "--period",
                "FY2026",
                "--out",
                str(tmp_path / "q.csv"),
            ],
            sqlite_url,
        )
        == 0
    )
    out = tmp_path / "signals.csv"
    assert run(["signals", "--out", str(out), "--notify"], sqlite_url) == 0
    signals = pd.read_csv(out)
    assert {"kind", "territory_id", "rep_id", "figure", "threshold", "message", "action"} <= set(
        signals.columns
    )
    assert "attainment_pace" in set(signals["kind"])
    from territorial.store.planning import list_notifications

    assert len(list_notifications(tiny_sqlite)) == len(signals)
    assert (
        run(
            ["goals", "set", "--rep", "R1", "--metric", "activities_per_week", "--target", "20"],
            sqlite_url,
        )
        == 0
    )
    assert (
        run(
            ["goals", "set", "--rep", "NOBODY", "--metric", "win_rate", "--target", "0.3"],
            sqlite_url,
        )
        == 4
    )
    assert (
        run(["goals", "set", "--rep", "R1", "--metric", "win_rate", "--target", "30"], sqlite_url)
        == 2
    )
    assert run(["goals", "derive", "--apply"], sqlite_url) == 0
    goals_out = tmp_path / "goals.csv"
    assert run(["goals", "list", "--progress", "--out", str(goals_out)], sqlite_url) == 0
    goals = pd.read_csv(goals_out)
    assert set(goals["metric"]) >= {"activities_per_week", "win_rate", "tier_a_coverage"}


def test_scheduled_signals_run_once_a_day(tiny_sqlite: Engine) -> None:
    from datetime import date

    from territorial.goals.quotas import plan_quotas, save_quotas
    from territorial.goals.signals import scheduled_signals
    from territorial.store.planning import list_notifications

    save_quotas(tiny_sqlite, result=plan_quotas(tiny_sqlite, target=500_000, period="FY2026"))
    first = scheduled_signals(tiny_sqlite, today=date(2026, 4, 2))
    assert first > 0 and len(list_notifications(tiny_sqlite)) == first
    assert scheduled_signals(tiny_sqlite, today=date(2026, 4, 2)) == 0
