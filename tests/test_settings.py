from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from territorial.errors import ConfigError
from territorial.settings import SETTINGS_DOC, Settings, load_settings


def test_every_setting_is_documented() -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    assert names == set(SETTINGS_DOC), "document every setting in SETTINGS_DOC (and nothing else)"
    assert all(len(text) > 20 for text in SETTINGS_DOC.values())


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TERRITORIAL_HOME", str(tmp_path))
    monkeypatch.setenv("TERRITORIAL_DATABASE_URL", "postgres://u@h/db")
    settings = load_settings()
    assert settings.home == tmp_path
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/db"


def test_default_database_is_sqlite_under_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORIAL_HOME", str(tmp_path))
    assert load_settings().resolved_database_url == f"sqlite:///{tmp_path / 'territorial.db'}"


def test_override_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORIAL_DATABASE_URL", "sqlite:///a.db")
    assert load_settings(database_url="sqlite:///b.db").database_url == "sqlite:///b.db"


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings(colour="red")
