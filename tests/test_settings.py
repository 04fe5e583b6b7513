from __future__ import annotations

from pathlib import Path

import pytest

from territorial.errors import ConfigError
from territorial.settings import SETTINGS_DOC, Settings, load_settings


def test_every_setting_is_documented() -> None:
    names = set(Settings.model_fields)
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


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {"smtp_host": None, "smtp_port": 25, "smtp_starttls": False}),
        (
            {"TERRITORIAL_SMTP_HOST": "mail.example.com", "TERRITORIAL_SMTP_PORT": "587"},
            {"smtp_host": "mail.example.com", "smtp_port": 587},
        ),
        ({"TERRITORIAL_SMTP_STARTTLS": "yes"}, {"smtp_starttls": True}),
        ({"TERRITORIAL_SMTP_STARTTLS": "0"}, {"smtp_starttls": False}),
        (
            {"TERRITORIAL_SMTP_USERNAME": "router", "TERRITORIAL_SMTP_PASSWORD": "pw"},
            {"smtp_username": "router", "smtp_password": "pw"},
        ),
        ({"TERRITORIAL_SMTP_FROM": "routing@acme.test"}, {"smtp_from": "routing@acme.test"}),
    ],
)
def test_smtp_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: dict[str, object]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert {name: getattr(settings, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TERRITORIAL_SMTP_PORT": "smtp"}, "TERRITORIAL_SMTP_PORT must be a TCP port number"),
        ({"TERRITORIAL_SMTP_PORT": "70000"}, "1-65535, not 70000"),
        ({"TERRITORIAL_SMTP_STARTTLS": "maybe"}, "TERRITORIAL_SMTP_STARTTLS must be true or false"),
    ],
)
def test_bad_smtp_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_smtp_password_is_not_shown() -> None:
    assert "hunter2" not in repr(load_settings(smtp_password="hunter2"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TERRITORIAL_MAX_REQUEST_MB": "-1"}, "TERRITORIAL_MAX_REQUEST_MB must be a positive"),
        ({"TERRITORIAL_LOGIN_MAX_FAILURES": "0"}, "TERRITORIAL_LOGIN_MAX_FAILURES must be a whole"),
        ({"TERRITORIAL_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8,nope"}, "'nope' is not one"),
        ({"TERRITORIAL_IMPORT_REPLACE_MAX_SHARE": "150%"}, "must be a share between 0 and 1"),
    ],
)
def test_bad_access_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_access_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORIAL_MAX_REQUEST_MB", "2")
    monkeypatch.setenv("TERRITORIAL_WEBHOOK_ALLOWED_NETWORKS", "10.1.0.0/16, 127.0.0.1/32")
    monkeypatch.setenv("TERRITORIAL_IMPORT_REPLACE_MAX_SHARE", "15%")
    settings = load_settings()
    assert settings.max_request_bytes == 2 * 1024 * 1024
    assert [str(n) for n in settings.webhook_networks] == ["10.1.0.0/16", "127.0.0.1/32"]
    assert settings.import_replace_max_share == pytest.approx(0.15)
    assert "secret" not in repr(load_settings(api_token="secret"))
