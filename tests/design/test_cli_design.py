"""``territorial design`` and ``territorial capacity`` end to end on small CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from territorial.cli import main

# 4x4 grid of accounts (x, y), revenue 10 each except one 20 in the corner
GRID_CSV = "id,x,y,revenue,accounts\n" + "\n".join(
    f"r{y}c{x},{x},{y},{20 if (x, y) == (0, 0) else 10},1" for y in range(4) for x in range(4)
)


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def units(tmp_path: Path) -> Path:
    path = tmp_path / "units.csv"
    path.write_text(GRID_CSV + "\n")
    return path


def test_design_writes_plan_and_report(
    units: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan, report = tmp_path / "plan.csv", tmp_path / "report.json"
    code = run(
        [
            "design", str(units), "--territories", "4", "--balance", "accounts=0",
            "--balance", "revenue=20%", "--objective", "inertia", "--method", "heuristic",
            "--time-limit", "30", "--out", str(plan), "--report", str(report),
        ]
    )  # fmt: skip
    assert code == 0
    df = pd.read_csv(plan)
    assert list(df.columns) == ["id", "territory", "reason"]
    assert len(df) == 16 and df["territory"].value_counts().tolist() == [4, 4, 4, 4]
    data = json.loads(report.read_text())
    assert data["feasible"] is True
    # the default weight is the first balanced measure (the CLI contract), and it is said
    assert data["objective"]["name"] == "inertia"
    assert data["objective"]["unit"] == "accounts x units^2" and data["weight"] == "accounts"
    assert data["balance"]["accounts"]["worst_deviation"] == 0.0
    assert data["balance"]["revenue"]["worst_deviation"] <= 0.2
    assert {t["id"] for t in data["territories"]} == {"T001", "T002", "T003", "T004"}
    assert all(set(t["deviation"]) == {"accounts", "revenue"} for t in data["territories"])
    assert data["moved"]["units"] == 0
    out = capsys.readouterr().out
    assert "objective (inertia)" in out and "lower bound" in out
    assert "weight: accounts; stopping: time limit" in out


def test_work_limit_gives_the_same_plan_and_weight_none_weights_units(
    units: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = []
    for name in ("a", "b"):
        plan, report = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
        code = run(
            [
                "design", str(units), "--territories", "4", "--balance", "accounts=0",
                "--balance", "revenue=20%", "--weight", "none", "--work-limit", "0.2",
                "--seed", "5", "--out", str(plan), "--report", str(report),
            ]
        )  # fmt: skip
        assert code == 0
        plans.append(plan.read_text())
        data = json.loads(report.read_text())
        assert data["weight"] is None and data["objective"]["unit"] == "units x units^2"
        assert data["solver"]["deterministic"] is True and data["solver"]["work_limit"] == 0.2
    assert plans[0] == plans[1]
    out = capsys.readouterr().out
    assert "weight: none (1 per unit); stopping: deterministic" in out


def test_centers_name_the_territories_and_current_plan_limits_moves(
    units: Path, tmp_path: Path
) -> None:
    centers = tmp_path / "centers.csv"
    centers.write_text("id,x,y\nwest,0.5,1.5\neast,2.5,1.5\n")
    current = tmp_path / "current.csv"
    current.write_text(
        "id,territory\n" + "\n".join(f"r{y}c{x},west" for y in range(4) for x in range(4))
    )
    plan, report = tmp_path / "plan.csv", tmp_path / "report.json"
    code = run(
        [
            "design", str(units), "--centers", str(centers), "--balance", "accounts=0",
            "--current", str(current), "--max-moves", "8", "--method", "heuristic",
            "--time-limit", "30", "--out", str(plan), "--report", str(report),
        ]
    )  # fmt: skip
    assert code == 0
    df = pd.read_csv(plan)
    assert sorted(df["territory"].unique()) == ["east", "west"]
    data = json.loads(report.read_text())
    assert data["moved"]["units"] == 8
    assert data["lower_bound"] is not None and data["gap"] < 1e-6  # the halves are optimal


def test_infeasible_request_exits_7_with_an_explanation(
    units: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked.csv"
    locked.write_text("id,territory\nr0c0,T001\nr0c1,T001\nr0c2,T001\nr0c3,T001\n")
    code = run(
        [
            "design", str(units), "--territories", "4", "--balance", "revenue=10%",
            "--locked", str(locked), "--out", str(tmp_path / "plan.csv"),
        ]
    )  # fmt: skip
    assert code == 7
    err = capsys.readouterr().err
    assert "locked to territory 'T001' already total 50" in err
    assert "Traceback" not in err
    assert not (tmp_path / "plan.csv").exists()


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--balance", "nope=5%"], 2, "cannot balance on 'nope'"),
        (["--balance", "revenue=abc"], 2, "is not a number"),
        (["--balance", "revenue=5%", "--max-moves", "3"], 2, "needs the current plan"),
    ],
)
def test_bad_options_are_explained(
    units: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    text: str,
) -> None:
    rc = run(["design", str(units), "--territories", "2", *args, "--out", str(tmp_path / "p.csv")])
    assert rc == code
    assert text in capsys.readouterr().err


def test_capacity_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "book.csv"
    path.write_text("id,workload_hours\na,7360\nb,7360\n")
    assert (
        run(
            [
                "capacity",
                str(path),
                "--hours-per-week",
                "40",
                "--weeks",
                "46",
                "--utilisation",
                "0.8",
            ]
        )
        == 0
    )
    assert "10.00" in capsys.readouterr().out
