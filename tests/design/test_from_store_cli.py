"""``territorial design --from-store`` on the command line and as a queued job: the same
options, the CLI contract (``plan ID`` last), refusals of options a path does not use."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _store_fixtures import make_store

from territorial.cli import main
from territorial.planning import jobs
from territorial.store.plans import load_plan


def run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def url(store_url: str) -> str:
    make_store(store_url).dispose()
    return store_url


def test_save_as_prints_the_plan_id_last(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        ["design", "--from-store", "--balance", "accounts=0%", "--balance", "potential=20%",
         "--seed", "2", "--time-limit", "20", "--save-as", "FY27", "--database", url]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert last.startswith("plan ") and last.split()[1].isdigit()
    assert "weight: accounts" in out  # the first balanced measure, said out loud
    stored = load_plan(__import__("territorial.store", fromlist=["open_store"]).open_store(url),
                       plan_id=int(last.split()[1]))  # fmt: skip
    assert stored["status"] == "draft"
    assert stored["parameters"]["balance"] == {"accounts": 0.0, "potential": 0.2}
    assert stored["assignments"]["territory_id"].value_counts().tolist() == [12, 12, 12]


def test_locked_file_and_max(url: str, tmp_path: Path) -> None:
    locked = tmp_path / "locked.csv"
    locked.write_text("id,territory\nA00,R2\n")
    plan = tmp_path / "plan.csv"
    code = run(
        ["design", "--from-store", "--balance", "potential=90%", "--locked", str(locked),
         "--max", "accounts=13", "--time-limit", "20", "--out", str(plan), "--database", url]
    )  # fmt: skip
    assert code == 0
    df = pd.read_csv(plan)
    assert df.set_index("id").loc["A00", "territory"] == "R2"
    assert df["territory"].value_counts().max() <= 13


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--centers", "c.csv"], "--centers"),
        (["--method", "heuristic"], "--solver"),
        (["--max-moves", "3"], "--max-moves needs a current plan"),
        (["--balance", "potential"], "MEASURE=VALUE"),
        (["--territories", "3", "--territory-reps", "R1"], "not both"),
        (["--current-plan", "next"], "plan id or 'active'"),
    ],
)
def test_options_it_cannot_use_are_refused(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code = run(["design", "--from-store", *extra, "--out", str(tmp_path / "p.csv"),
                "--database", url])  # fmt: skip
    assert code != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("flag", [["--unit", "h3"], ["--specialties"], ["--save-as", "x"],
                                  ["--current-plan", "1"], ["--no-capacity"]])  # fmt: skip
def test_store_options_without_from_store_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    units = tmp_path / "units.csv"
    units.write_text("id,x,y,accounts\na,0,0,1\nb,1,0,1\n")
    code = run(["design", str(units), "-k", "2", *flag, "--out", str(tmp_path / "p.csv")])
    assert code != 0 and "add --from-store" in capsys.readouterr().err


def test_a_design_job_makes_the_same_plan_as_the_cli(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from territorial.store import open_store

    engine = open_store(url)
    options = {"balance": {"accounts": 0.1, "potential": 0.1}, "seed": 5, "time_limit": 20}
    job_id = jobs.enqueue(engine, kind="design", payload={"options": options, "save_as": "job"})
    assert jobs.run_worker(engine, once=True, scheduled_every=0) == 1
    job = jobs.get_job(engine, job_id=job_id)
    assert job["status"] == "done", job["error"]
    from_job = load_plan(engine, plan_id=job["result"]["plan_id"])["assignments"]
    assert run(
        ["design", "--from-store", "--balance", "accounts=10%", "--balance", "potential=10%",
         "--seed", "5", "--time-limit", "20", "--save-as", "cli", "--database", url]
    ) == 0  # fmt: skip
    cli_id = int(capsys.readouterr().out.strip().splitlines()[-1].split()[1])
    from_cli = load_plan(engine, plan_id=cli_id)["assignments"]
    assert from_job[["account_id", "territory_id"]].equals(from_cli[["account_id", "territory_id"]])
    bad = jobs.enqueue(engine, kind="design", payload={"options": {"colour": 1}, "save_as": "x"})
    jobs.run_worker(engine, once=True, scheduled_every=0)
    failed = jobs.get_job(engine, job_id=bad)
    assert failed["status"] == "failed" and "colour" in failed["error"]
    engine.dispose()
