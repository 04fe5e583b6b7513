"""A small real company in a throw-away store (SQLite and PostgreSQL), and a helper that
designs and saves a plan, for the territory-model tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from territorial.io import import_paths
from territorial.sample import write_sample_company
from territorial.store import open_store

ACCOUNTS = 400
REPS = 8


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("company")
    write_sample_company(folder, accounts=ACCOUNTS, reps=REPS, seed=3)
    return folder


@pytest.fixture
def company(store_url: str, sample_files: Path) -> Iterator[Engine]:
    """The sample company imported into an empty store."""
    engine = open_store(store_url)
    import_paths([sample_files], engine=engine)
    yield engine
    engine.dispose()


SavePlan = Callable[..., int]


@pytest.fixture
def save_designed_plan(company: Engine) -> SavePlan:
    """``save(name, seed=..., created_by=...)``: design the company's book (account count
    balanced ±25%) and save it as a draft; returns the plan id."""
    from territorial.design.adapters import problem_from_store
    from territorial.design.engine import design
    from territorial.store.plans import save_plan

    def save(name: str = "FY27", *, seed: int = 1, created_by: str | None = None) -> int:
        problem, units = problem_from_store(company, measures=("accounts",), tolerance=0.25)
        result = design(problem, time_limit=10, seed=seed)
        return save_plan(
            company,
            name=name,
            result=result,
            parameters={"seed": seed},
            account_units=units,
            created_by=created_by,
        )

    return save
