"""Access tables: per-user API tokens and log-in attempts (migration ``0008_access``).

Keyword-only data access, no hashing and no HTTP (the token hash and the rate-limit
policy live in :mod:`territorial.web.auth`). Nothing here is ever deleted: a revoked
token keeps its row (``revoked_at``), every log-in attempt stays (the rate limiter
counts recent ones; the audit trail reads them all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    func,
    insert,
    select,
    update,
)

from territorial.errors import NotFoundError
from territorial.store.tables import metadata

#: What a token may do: ``write`` = everything its user's role may do; ``read`` = GET only.
TOKEN_SCOPES: tuple[str, ...] = ("write", "read")

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", String(120), nullable=False, doc="what the token is for, e.g. 'CRM sync'"),
    Column("token_hash", String(64), nullable=False, unique=True, doc="sha256 of the token"),
    Column("prefix", String(16), nullable=False, doc="first characters, shown in lists"),
    Column("scope", String(16), nullable=False, doc="'write' or 'read'"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)
Index(None, api_tokens.c.user_id)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("email", String(255), nullable=False, doc="as typed, lower-cased"),
    Column("address", String(64), nullable=False, doc="client network address"),
    Column("succeeded", Boolean, nullable=False),
    Column("reason", String(32), nullable=False, doc="ok, wrong, disabled, locked"),
)
Index(None, login_attempts.c.email, login_attempts.c.at)
Index(None, login_attempts.c.address, login_attempts.c.at)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they are UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A per-user API token (without its secret)."""

    id: int
    user_id: int
    user_email: str
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        now = now or _now()
        if self.revoked_at is not None:
            return "revoked"
        if _aware(self.expires_at) <= now:  # type: ignore[operator]
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user_email,
            "name": self.name,
            "prefix": self.prefix,
            "scope": self.scope,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
            "status": self.status(),
        }


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        user_email=row.email,
        name=row.name,
        prefix=row.prefix,
        scope=row.scope,
        created_at=_aware(row.created_at),  # type: ignore[arg-type]
        expires_at=_aware(row.expires_at),  # type: ignore[arg-type]
        last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
    )


def _token_query() -> Any:
    from territorial.store.workspace import users

    return select(api_tokens, users.c.email).join(users, users.c.id == api_tokens.c.user_id)


# --- tokens -------------------------------------------------------------------------
def create_token(
    engine: Engine,
    *,
    user_id: int,
    name: str,
    token_hash: str,
    prefix: str,
    scope: str,
    expires_at: datetime,
) -> ApiToken:
    with engine.begin() as conn:
        token_id = conn.execute(
            insert(api_tokens).values(
                user_id=user_id,
                name=name,
                token_hash=token_hash,
                prefix=prefix,
                scope=scope,
                created_at=_now(),
                expires_at=expires_at,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        row = conn.execute(_token_query().where(api_tokens.c.id == token_id)).one()
    return _token(row)


def token_by_hash(engine: Engine, *, token_hash: str) -> ApiToken | None:
    with engine.connect() as conn:
        row = conn.execute(_token_query().where(api_tokens.c.token_hash == token_hash)).first()
    return None if row is None else _token(row)


def list_tokens(engine: Engine, *, user_id: int | None = None) -> list[ApiToken]:
    query = _token_query().order_by(api_tokens.c.id)
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    with engine.connect() as conn:
        return [_token(r) for r in conn.execute(query)]


def get_token(engine: Engine, *, token_id: int) -> ApiToken:
    with engine.connect() as conn:
        row = conn.execute(_token_query().where(api_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFoundError(f"no API token with id {token_id}")
    return _token(row)


def revoke_token(engine: Engine, *, token_id: int) -> ApiToken:
    """Mark a token revoked now (idempotent: a revoked token keeps its first date)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
        if done.rowcount == 0 and (
            conn.execute(select(api_tokens.c.id).where(api_tokens.c.id == token_id)).first() is None
        ):
            raise NotFoundError(f"no API token with id {token_id}")
    return get_token(engine, token_id=token_id)


def revoke_user_tokens(engine: Engine, *, user_id: int) -> int:
    """Revoke every active token of a user; returns how many."""
    with engine.begin() as conn:
        done = conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
    return int(done.rowcount or 0)


def touch_token(engine: Engine, *, token_id: int, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at))


# --- log-in attempts ----------------------------------------------------------------
def record_attempt(
    engine: Engine, *, email: str, address: str, succeeded: bool, reason: str
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(login_attempts).values(
                at=_now(),
                email=email.strip().lower()[:255],
                address=address[:64],
                succeeded=succeeded,
                reason=reason,
            )
        )


def recent_failures(
    engine: Engine, *, since: datetime, email: str | None = None, address: str | None = None
) -> list[datetime]:
    """Times of failed attempts (wrong password) since ``since``, oldest first.

    For an e-mail, only the failures after its last successful log-in count.
    """
    with engine.connect() as conn:
        query = select(login_attempts.c.at).where(
            login_attempts.c.at >= since, login_attempts.c.reason == "wrong"
        )
        if email is not None:
            email = email.strip().lower()
            last_ok = conn.execute(
                select(func.max(login_attempts.c.at)).where(
                    login_attempts.c.email == email, login_attempts.c.succeeded.is_(True)
                )
            ).scalar()
            query = query.where(login_attempts.c.email == email)
            if last_ok is not None:
                query = query.where(login_attempts.c.at > last_ok)
        if address is not None:
            query = query.where(login_attempts.c.address == address)
        times = conn.execute(query.order_by(login_attempts.c.at)).scalars().all()
    return [_aware(t) for t in times]  # type: ignore[misc]


def list_attempts(engine: Engine, *, limit: int = 200) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(login_attempts).order_by(login_attempts.c.id.desc()).limit(limit)
        )
        return [dict(r._mapping) for r in rows]
