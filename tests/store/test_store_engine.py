from __future__ import annotations

import pytest
from sqlalchemy import inspect

from territorial.errors import ConfigError
from territorial.settings import normalize_database_url
from territorial.store import open_store


def test_open_store_creates_core_schema(store_url: str) -> None:
    engine = open_store(store_url)
    names = set(inspect(engine).get_table_names())
    assert {"accounts", "reps", "opportunities", "activities", "imports", "plans"} <= names
    # Opening again is a no-op migration, not an error.
    open_store(store_url)


@pytest.mark.parametrize(
    ("given", "expected_prefix"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_database_url(given: str, expected_prefix: str) -> None:
    assert normalize_database_url(given) == expected_prefix


def test_unsupported_database_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not supported"):
        open_store("mysql://root@127.0.0.1/test")
