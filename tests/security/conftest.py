"""An app on a throw-away SQLite store with the example rules active, and helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from territorial.api.app import create_app
from territorial.settings import load_settings

TOKEN = "bootstrap-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "examples" / "rules.yaml"


def make_client(tmp_path: Path, **settings: Any) -> TestClient:
    values = {"database_url": f"sqlite:///{tmp_path / 't.db'}", "api_token": TOKEN, **settings}
    return TestClient(create_app(load_settings(**values)), raise_server_exceptions=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as c:
        created = c.post("/api/rules", json={"source": EXAMPLE_RULES.read_text()}, headers=AUTH)
        assert created.status_code == 201, created.text
        assert (
            c.post(f"/api/rules/{created.json()['id']}/activate", headers=AUTH).status_code == 200
        )
        yield c
