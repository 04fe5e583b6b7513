"""One typed settings object.

Every setting is documented in ``SETTINGS_DOC`` (a test fails when one is not), can
be set by an environment variable, and has a sensible default for a laptop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from territorial.errors import ConfigError

#: What each setting means; ``tests/test_settings.py`` checks every field is here.
SETTINGS_DOC: dict[str, str] = {
    "home": (
        "Folder for Territorial's own files (embedded database, generated samples, "
        "reports). Environment: TERRITORIAL_HOME. Default: ~/.territorial."
    ),
    "database_url": (
        "SQLAlchemy URL of the store. Environment: TERRITORIAL_DATABASE_URL; every "
        "command that touches the store also takes --database URL. Default: an "
        "embedded SQLite file, HOME/territorial.db. PostgreSQL example: "
        "postgresql+psycopg://user@127.0.0.1:5432/territorial."
    ),
    "api_token": (
        "Bearer token the REST API requires on write and routing calls. "
        "Environment: TERRITORIAL_API_TOKEN. Default: none (the API then refuses "
        "token-protected calls until one is set, except in the bundled demo)."
    ),
    "secret_key": (
        "Secret used to sign web sessions and CSRF tokens. Environment: "
        "TERRITORIAL_SECRET_KEY. Default: a random key kept in HOME/secret.key."
    ),
    "log_level": "Python logging level name. Environment: TERRITORIAL_LOG_LEVEL. Default: WARNING.",
}

_ENV = {
    "home": "TERRITORIAL_HOME",
    "database_url": "TERRITORIAL_DATABASE_URL",
    "api_token": "TERRITORIAL_API_TOKEN",
    "secret_key": "TERRITORIAL_SECRET_KEY",
    "log_level": "TERRITORIAL_LOG_LEVEL",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime settings; build with :func:`load_settings`."""

    home: Path = field(default_factory=lambda: Path.home() / ".territorial")
    database_url: str | None = None
    api_token: str | None = None
    secret_key: str | None = None
    log_level: str = "WARNING"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, falling back to the embedded SQLite file under ``home``."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{self.home / 'territorial.db'}"


def normalize_database_url(url: str) -> str:
    """Accept the URL spellings people paste and return one SQLAlchemy understands.

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://`` (the
    driver we ship); a bare file path becomes a SQLite URL.
    """
    url = url.strip()
    if not url:
        raise ConfigError("the database URL is empty")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (``None`` is ignored)."""
    values: dict[str, object] = {}
    for f in fields(Settings):
        env = os.environ.get(_ENV[f.name])
        if env:
            values[f.name] = Path(env).expanduser() if f.name == "home" else env
    for key, value in overrides.items():
        if key not in _ENV:
            raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(_ENV))}")
        if value is not None:
            values[key] = Path(str(value)).expanduser() if key == "home" else value
    return Settings(**values)  # type: ignore[arg-type]
