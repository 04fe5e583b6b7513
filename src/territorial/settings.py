"""One typed settings object (pydantic-settings).

Every setting is documented in ``SETTINGS_DOC`` (a test fails when one is not), can
be set by an environment variable ``TERRITORIAL_<NAME>``, and has a sensible default
for a laptop. A wrong value is a :class:`~territorial.errors.ConfigError` naming the
variable (or the setting) and the value.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from territorial.errors import ConfigError

ENV_PREFIX = "TERRITORIAL_"

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
        "Bootstrap bearer token of the REST API: it acts as an admin, for setting up "
        "before per-user tokens exist (`territorial tokens create`). Environment: "
        "TERRITORIAL_API_TOKEN. Default: none (only per-user tokens are accepted)."
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
    "max_request_mb": (
        "Largest HTTP request body the server reads, in MiB (1 MiB = 1,048,576 bytes); "
        "larger bodies are answered 413 before they are read. Environment: "
        "TERRITORIAL_MAX_REQUEST_MB. Default: 64 (a batch of 200,000 records fits)."
    ),
    "login_max_failures": (
        "Wrong passwords for one account within login_window_minutes after which the "
        "account is locked for login_window_minutes (even the right password is refused, "
        "answered 429 with Retry-After). Environment: TERRITORIAL_LOGIN_MAX_FAILURES. "
        "Default: 10."
    ),
    "login_max_failures_per_address": (
        "Failed log-ins from one network address (any account) within "
        "login_window_minutes after which that address is refused for the same time. "
        "Environment: TERRITORIAL_LOGIN_MAX_FAILURES_PER_ADDRESS. Default: 50."
    ),
    "login_window_minutes": (
        "Window in which failed log-ins are counted, and the length of a lockout, in "
        "minutes. Environment: TERRITORIAL_LOGIN_WINDOW_MINUTES. Default: 15."
    ),
    "token_days": (
        "Days a new API token stays valid unless `territorial tokens create --days N` "
        "says otherwise. Environment: TERRITORIAL_TOKEN_DAYS. Default: 90."
    ),
    "webhook_allowed_networks": (
        "Comma-separated networks (CIDR, e.g. 10.1.0.0/16,127.0.0.1/32) that alert "
        "webhooks may reach although they are loopback, link-local or private. "
        "Environment: TERRITORIAL_WEBHOOK_ALLOWED_NETWORKS. Default: none (webhooks go "
        "only to public addresses)."
    ),
    "forwarded_allow_ips": (
        "Proxies (comma-separated addresses or networks, or *) trusted to set "
        "X-Forwarded-For and X-Forwarded-Proto for `territorial serve`; "
        "`serve --forwarded-allow-ips` overrides it. Environment: "
        "TERRITORIAL_FORWARDED_ALLOW_IPS. Default: 127.0.0.1."
    ),
    "import_replace_max_share": (
        "Largest share of a table (0-1) that `territorial import --replace` may delete "
        "without --force; a file that would delete more (a truncated or header-only export) "
        "is refused with the numbers. Environment: TERRITORIAL_IMPORT_REPLACE_MAX_SHARE. "
        "Default: 0.2 (20%)."
    ),
    "territory_roles": (
        "Comma-separated rep roles (case-insensitive) that carry a territory in design "
        "from the store; reps with another role (managers, SDRs, overlay specialists) get "
        "none, and so do reps whose max_accounts is 0. Reps with no role recorded carry "
        "one. `*` means every active rep. Environment: TERRITORIAL_TERRITORY_ROLES. "
        "Default: Account Executive,Senior AE,Senior Account Executive,AE."
    ),
    "sqlite_busy_timeout_seconds": (
        "How long a SQLite writer waits for another writer's lock before failing, in "
        "seconds. Environment: TERRITORIAL_SQLITE_BUSY_TIMEOUT_SECONDS. Default: 30."
    ),
}


class Settings(BaseSettings):
    """Runtime settings; build with :func:`load_settings` (environment + overrides)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        frozen=True,
        extra="forbid",
        validate_default=False,
    )

    home: Path = Field(default_factory=lambda: Path.home() / ".territorial")
    database_url: str | None = None
    api_token: str | None = Field(default=None, repr=False)
    secret_key: str | None = Field(default=None, repr=False)
    log_level: str = "WARNING"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "territorial@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = False
    max_request_mb: float = 64.0
    login_max_failures: int = 10
    login_max_failures_per_address: int = 50
    login_window_minutes: float = 15.0
    token_days: int = 90
    webhook_allowed_networks: str = ""
    forwarded_allow_ips: str = "127.0.0.1"
    sqlite_busy_timeout_seconds: float = 30.0
    import_replace_max_share: float = 0.2
    territory_roles: str = "Account Executive,Senior AE,Senior Account Executive,AE"

    @field_validator("home", mode="before")
    @classmethod
    def _home(cls, value: Any) -> Path:
        return Path(str(value)).expanduser()

    @field_validator("smtp_port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> int:
        if isinstance(value, bool) or not str(value).strip().isdigit():
            raise ValueError(f"must be a TCP port number 1-65535, not {value!r}")
        port = int(str(value).strip())
        if not 1 <= port <= 65535:
            raise ValueError(f"must be a TCP port number 1-65535, not {port}")
        return port

    @field_validator("smtp_starttls", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"must be true or false (1/0, yes/no), not {value!r}")

    @field_validator(
        "login_max_failures", "login_max_failures_per_address", "token_days", mode="before"
    )
    @classmethod
    def _positive_count(cls, value: Any) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
            raise ValueError(f"must be a whole number >= 1, not {value!r}")
        return int(text)

    @field_validator(
        "max_request_mb", "login_window_minutes", "sqlite_busy_timeout_seconds", mode="before"
    )
    @classmethod
    def _positive_number(cls, value: Any) -> float:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"must be a positive number, not {value!r}") from None
        if isinstance(value, bool) or not number > 0 or number == float("inf"):
            raise ValueError(f"must be a positive number, not {value!r}")
        return number

    @field_validator("import_replace_max_share", mode="before")
    @classmethod
    def _share(cls, value: Any) -> float:
        text = str(value).strip()
        try:
            share = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
        except ValueError:
            share = -1.0
        if isinstance(value, bool) or not 0.0 <= share <= 1.0:
            raise ValueError(f"must be a share between 0 and 1 (or 0%-100%), not {value!r}")
        return share

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> str:
        text = str(value or "").strip()
        for item in filter(None, (p.strip() for p in text.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"must list networks such as 10.0.0.0/8 separated by commas; "
                    f"{item!r} is not one"
                ) from None
        return text

    @property
    def territory_role_names(self) -> tuple[str, ...]:
        """``territory_roles`` parsed (lower case; ``("*",)`` for everyone)."""
        return tuple(p.strip().lower() for p in self.territory_roles.split(",") if p.strip())

    @property
    def resolved_database_url(self) -> str:
        """The database URL, falling back to the embedded SQLite file under ``home``."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{self.home / 'territorial.db'}"

    @property
    def max_request_bytes(self) -> int:
        """``max_request_mb`` in bytes."""
        return int(self.max_request_mb * 1024 * 1024)

    @property
    def webhook_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``webhook_allowed_networks`` parsed."""
        return tuple(
            ipaddress.ip_network(p.strip(), strict=False)
            for p in self.webhook_allowed_networks.split(",")
            if p.strip()
        )


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
    known = set(Settings.model_fields)
    for key in overrides:
        if key not in known:
            raise ConfigError(f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "settings"
            source = f"setting {name}" if name in given else f"{ENV_PREFIX}{name.upper()}"
            reason = str(err["msg"]).removeprefix("Value error, ")
            messages.append(f"{source} {reason}")
        raise ConfigError("; ".join(messages)) from None
