"""One utilisation setting: ``territorial capacity``, ``territorial score``'s capacity plan
and design's rep limits read the scoring configuration's ``capacity`` section."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from territorial.cli import main
from territorial.design.capacity import reps_needed as design_reps_needed
from territorial.scoring import load_config
from territorial.scoring.workload import capacity_plan
from territorial.scoring.workload import reps_needed as score_reps_needed


def test_capacity_and_score_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cap = load_config(None).capacity
    hours = 20_000.0
    by_score = score_reps_needed(
        hours,
        hours_per_week=cap.hours_per_week,
        weeks_per_year=cap.weeks_per_year,
        utilisation=cap.utilisation,
    )
    assert design_reps_needed(hours).exact == pytest.approx(by_score)
    book = tmp_path / "book.csv"
    book.write_text(f"id,workload_hours\na,{hours / 2}\nb,{hours / 2}\n")
    try:
        main(["capacity", str(book)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert f"{by_score:.2f}" in capsys.readouterr().out
    config = tmp_path / "scoring.yaml"
    config.write_text("capacity:\n  utilisation: 0.5\n")
    try:
        main(["capacity", str(book), "--config", str(config)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert f"{hours / (cap.hours_per_week * cap.weeks_per_year * 0.5):.2f}" in (
        capsys.readouterr().out
    )


def test_reps_available_are_those_who_carry_territories() -> None:
    reps = pd.DataFrame(
        {
            "id": ["R1", "M1", "S1"],
            "role": ["Account Executive", "Manager", "SDR"],
            "active": [True, True, True],
            "capacity_hours": [40.0, 20.0, 40.0],
            "max_accounts": [200, None, 0],
        }
    )
    frame = pd.DataFrame({"workload_hours": [100.0, 200.0]})
    plan = capacity_plan(frame, config=load_config(None).capacity, reps=reps, by=None)
    assert plan.loc[0, "reps_available"] == 1
