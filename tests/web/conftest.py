"""Fixtures for the workspace tests."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from web_seed import seed_company, seed_users

from territorial.store import open_store


@pytest.fixture
def seeded_engine(sqlite_url: str) -> Engine:
    engine = open_store(sqlite_url)
    seed_company(engine, n_accounts=300)
    seed_users(engine)
    return engine
