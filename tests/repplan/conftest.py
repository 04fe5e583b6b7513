"""A small scored sample company, built once per session and copied for each test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from territorial.io import import_paths
from territorial.sample import write_sample_company
from territorial.store import open_store

ACCOUNTS = 600
REPS = 10


def _build(url: str, files: Path) -> Engine:
    from territorial.scoring import load_config
    from territorial.scoring.store_adapter import score_store

    engine = open_store(url)
    import_paths([files], engine=engine)
    score_store(engine, config=load_config(None))
    return engine


@pytest.fixture(scope="session")
def company_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("repplan_company")
    write_sample_company(folder, accounts=ACCOUNTS, reps=REPS, seed=11)
    return folder


@pytest.fixture(scope="session")
def scored_db(tmp_path_factory: pytest.TempPathFactory, company_files: Path) -> Path:
    path = tmp_path_factory.mktemp("repplan_db") / "scored.db"
    _build(f"sqlite:///{path}", company_files).dispose()
    return path


@pytest.fixture
def scored(tmp_path: Path, scored_db: Path) -> Iterator[Engine]:
    """The scored sample company on SQLite (a fresh copy per test)."""
    copy = tmp_path / "store.db"
    shutil.copy(scored_db, copy)
    engine = open_store(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


@pytest.fixture
def scored_any(
    store_url: str, company_files: Path, tmp_path: Path, scored_db: Path
) -> Iterator[Engine]:
    """The scored sample company on SQLite and on PostgreSQL."""
    if store_url.startswith("sqlite"):
        copy = tmp_path / "store.db"
        shutil.copy(scored_db, copy)
        engine = open_store(f"sqlite:///{copy}")
    else:
        engine = _build(store_url, company_files)
    yield engine
    engine.dispose()
