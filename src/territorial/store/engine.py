"""Opening the store and keeping its schema current.

``open_store(url)`` returns a SQLAlchemy engine whose schema has been brought up to
date with Alembic (``upgrade heads``: every area's migration branch). SQLite files
are created on first use, with foreign keys enforced and WAL journaling.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from territorial.errors import ConfigError
from territorial.settings import normalize_database_url

log = logging.getLogger(__name__)

_MIGRATIONS = str(Path(__file__).with_name("migrations"))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: How long a SQLite writer waits for another's lock (seconds) unless told otherwise.
DEFAULT_BUSY_TIMEOUT_SECONDS = 30.0


def create_store_engine(url: str, *, busy_timeout_seconds: float | None = None) -> Engine:
    """An engine for ``url`` (not migrated); SQLite parent folders are created.

    SQLite writers wait up to ``busy_timeout_seconds`` (default: the setting
    ``sqlite_busy_timeout_seconds``, 30 s) for another process's write lock instead of
    failing at once with "database is locked".
    """
    url = normalize_database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"cannot parse database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        timeout = busy_timeout_seconds
        if timeout is None:
            timeout = _busy_timeout_setting()
        engine = create_engine(url, connect_args={"timeout": timeout})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise ConfigError(
        f"database {parsed.get_backend_name()!r} is not supported; use SQLite or PostgreSQL"
    )


def _busy_timeout_setting() -> float:
    import os

    raw = os.environ.get("TERRITORIAL_SQLITE_BUSY_TIMEOUT_SECONDS", "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT_SECONDS
    from territorial.settings import load_settings

    return load_settings().sqlite_busy_timeout_seconds


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision of every migration branch."""
    try:
        with engine.begin() as connection:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "heads")
    except OperationalError as exc:
        raise ConfigError(
            f"cannot open the database at {describe_url(engine)}: {exc.orig}"
        ) from exc


def open_store(url: str) -> Engine:
    """Engine for ``url`` with the schema migrated; the one entry point for every shell."""
    engine = create_store_engine(url)
    migrate(engine)
    return engine


def describe_url(engine: Engine) -> str:
    """The database location with any password hidden, for messages and ``status``."""
    return engine.url.render_as_string(hide_password=True)


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
