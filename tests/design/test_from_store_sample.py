"""The sample company at its own head count: designed from the store with
workload ±10% and reps' capacity on, every territory stays within
its rep's hours and book, and managers and SDRs carry none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from territorial.design.service import design_from_store
from territorial.io import import_paths
from territorial.sample import default_reps, write_sample_company
from territorial.scoring import load_config
from territorial.scoring.store_adapter import score_store
from territorial.store import open_store
from territorial.store.records import read_reps


@pytest.mark.parametrize("accounts", [2000])
def test_sample_is_designed_within_capacity(tmp_path: Path, accounts: int) -> None:
    write_sample_company(tmp_path / "s", accounts=accounts, reps=default_reps(accounts), seed=0)
    engine = open_store(f"sqlite:///{tmp_path / 't.db'}")
    import_paths([tmp_path / "s"], engine=engine)
    run = score_store(engine, config=load_config(None))
    overall = run.capacity.iloc[0]
    assert overall["reps_needed"] <= overall["reps_available"]  # score agrees: staffed
    done = design_from_store(engine, {"balance": {"workload_hours": 0.1}, "time_limit": 60})
    result = done.result
    assert result.feasible
    reps = read_reps(engine).set_index("id")
    roles = set(reps.loc[list(result.problem.territory_ids), "role"])
    assert roles <= {"Account Executive", "Senior AE"}
    hours = result.totals[:, result.problem.measure_names.index("workload_hours")]
    (limit,) = [lim for lim in result.problem.limits if lim.measure == "workload_hours"]
    assert np.all(hours <= limit.upper + 1e-6)
    engine.dispose()
