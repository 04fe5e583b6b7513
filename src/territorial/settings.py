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
    "smtp_host": (
        "SMTP server that delivers e-mail alerts (routing rules' `email:` alerts). "
        "Environment: TERRITORIAL_SMTP_HOST. Default: none (e-mail alerts stay queued "
        "in the outbox, webhooks are still delivered)."
    ),
    "smtp_port": (
        "TCP port of the SMTP server. Environment: TERRITORIAL_SMTP_PORT. Default: 25 "
        "(587 is usual with smtp_starttls)."
    ),
    "smtp_from": (
        "Sender address (From:) of e-mail alerts. Environment: TERRITORIAL_SMTP_FROM. "
        "Default: territorial@localhost."
    ),
    "smtp_username": (
        "User name to log in to the SMTP server. Environment: TERRITORIAL_SMTP_USERNAME. "
        "Default: none (no login)."
    ),
    "smtp_password": (
        "Password to log in to the SMTP server (with smtp_username). Environment: "
        "TERRITORIAL_SMTP_PASSWORD. Default: none."
    ),
    "smtp_starttls": (
        "Upgrade the SMTP connection to TLS with STARTTLS before logging in and sending. "
        "Environment: TERRITORIAL_SMTP_STARTTLS (true/false, 1/0, yes/no). Default: false."
    ),
    "import_replace_max_share": (
        "Largest share of a table (0-1) that `territorial import --replace` may delete "
        "without --force; a file that would delete more (a truncated or header-only export) "
        "is refused with the numbers. Environment: TERRITORIAL_IMPORT_REPLACE_MAX_SHARE. "
        "Default: 0.2 (20%)."
    ),
}

_ENV = {
    "home": "TERRITORIAL_HOME",
    "database_url": "TERRITORIAL_DATABASE_URL",
    "api_token": "TERRITORIAL_API_TOKEN",
    "secret_key": "TERRITORIAL_SECRET_KEY",
    "log_level": "TERRITORIAL_LOG_LEVEL",
    "smtp_host": "TERRITORIAL_SMTP_HOST",
    "smtp_port": "TERRITORIAL_SMTP_PORT",
    "smtp_from": "TERRITORIAL_SMTP_FROM",
    "smtp_username": "TERRITORIAL_SMTP_USERNAME",
    "smtp_password": "TERRITORIAL_SMTP_PASSWORD",
    "smtp_starttls": "TERRITORIAL_SMTP_STARTTLS",
    "import_replace_max_share": "TERRITORIAL_IMPORT_REPLACE_MAX_SHARE",
}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime settings; build with :func:`load_settings`."""

    home: Path = field(default_factory=lambda: Path.home() / ".territorial")
    database_url: str | None = None
    api_token: str | None = None
    secret_key: str | None = None
    log_level: str = "WARNING"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "territorial@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    import_replace_max_share: float = 0.2

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


def _convert(name: str, value: object, *, source: str) -> object:
    """A raw setting (environment text or keyword) as the type of its field."""
    if name == "home":
        return Path(str(value)).expanduser()
    if name == "smtp_port":
        if isinstance(value, bool) or not str(value).strip().isdigit():
            raise ConfigError(f"{source} must be a TCP port number 1-65535, not {value!r}")
        port = int(str(value).strip())
        if not 1 <= port <= 65535:
            raise ConfigError(f"{source} must be a TCP port number 1-65535, not {port}")
        return port
    if name == "import_replace_max_share":
        try:
            share = float(str(value).strip().rstrip("%")) / (100 if "%" in str(value) else 1)
        except ValueError:
            share = -1.0
        if not 0.0 <= share <= 1.0:
            raise ConfigError(
                f"{source} must be a share between 0 and 1 (or 0%-100%), not {value!r}"
            )
        return share
    if name == "smtp_starttls":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigError(f"{source} must be true or false (1/0, yes/no), not {value!r}")
    return value


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; keyword overrides win (``None`` is ignored)."""
    values: dict[str, object] = {}
    for f in fields(Settings):
        env = os.environ.get(_ENV[f.name])
        if env:
            values[f.name] = _convert(f.name, env, source=_ENV[f.name])
    for key, value in overrides.items():
        if key not in _ENV:
            raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(_ENV))}")
        if value is not None:
            values[key] = _convert(key, value, source=f"setting {key}")
    return Settings(**values)  # type: ignore[arg-type]
