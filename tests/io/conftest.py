"""Fixtures for import tests: a seeded store and a fingerprint of its contents."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from territorial.io import import_paths
from territorial.store import open_store
from territorial.store.tables import ENTITY_TABLES, imports

GOOD_FILES: dict[str, str] = {
    "accounts.csv": (
        "id,name,postal_code,industry,employees,annual_revenue,owner_id\n"
        "A1,Acme,02139,Software,120,1000000,R1\n"
        "A2,Beta,10001,Retail,5,,R1\n"
    ),
    "reps.csv": "id,name,email,home_postal_code\nR1,Rita,rita@example.com,10001\n",
    "opportunities.csv": (
        "id,account_id,owner_id,amount,stage,created_date,is_closed,is_won\n"
        "O1,A1,R1,5000,Closed Won,2024-01-15,true,true\n"
    ),
    "activities.csv": (
        "id,account_id,rep_id,channel,occurred_at,duration_minutes\n"
        "T1,A1,R1,call,2024-02-01 10:00,15\n"
    ),
}


def write_files(folder: Path, files: dict[str, str | bytes]) -> list[Path]:
    """Write ``{name: text or bytes}`` into ``folder`` and return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths.append(path)
    return paths


def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every imported table (ordered by primary key)."""
    out = {}
    with engine.connect() as conn:
        for name, table in [*ENTITY_TABLES.items(), ("imports", imports)]:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[name] = (len(rows), digest)
    return out


@pytest.fixture
def seeded(store_url: str, tmp_path: Path) -> Engine:
    """A store (SQLite or PostgreSQL) holding one good import of every entity."""
    engine = open_store(store_url)
    import_paths(write_files(tmp_path / "seed", dict(GOOD_FILES)), engine=engine)
    return engine


@pytest.fixture
def files(tmp_path: Path) -> Callable[[dict[str, str | bytes]], list[Path]]:
    """Write files for one test into a fresh folder."""
    counter = iter(range(1000))

    def write(content: dict[str, str | bytes]) -> list[Path]:
        return write_files(tmp_path / f"in{next(counter)}", content)

    return write


@pytest.fixture
def snapshot() -> Callable[[Engine], dict[str, tuple[int, str]]]:
    """The :func:`fingerprint` function, for before/after comparisons."""
    return fingerprint
