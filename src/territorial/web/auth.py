"""Who is asking: password hashing, sessions, CSRF tokens and role scopes.

* Passwords: ``hashlib.scrypt`` (N=2^14, r=8, p=1) with a 16-byte random salt per user,
  compared with :func:`hmac.compare_digest`.
* Sessions: a random token in an HttpOnly, SameSite=Lax cookie; the store keeps only
  its SHA-256 (``web_sessions``), with a per-session CSRF token and an expiry.
* CSRF: every state-changing request carries the session's CSRF token, in the
  ``X-CSRF-Token`` header (fetch calls) or the ``csrf_token`` form field (forms). The
  log-in form, which has no session yet, uses a double-submit cookie.
* Log-in rate limits (:class:`LoginPolicy`): after ``login_max_failures`` wrong
  passwords for one account within ``login_window_minutes``, or
  ``login_max_failures_per_address`` from one address, log-ins are refused (even with
  the right password) until the window has passed: :class:`LockedOutError` (HTTP 429)
  carries the seconds to wait. Every attempt is kept (``login_attempts``) and failed
  ones go to the audit trail.
* Users are disabled, enabled, removed (a soft delete: the row and the audit trail
  stay) and have their password reset here; each ends their sessions at once.
* Personal API tokens: ``trl_`` and 43 random characters, stored as SHA-256, named,
  ``write`` or ``read`` scope, with an expiry, last-used time and revocation.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from territorial.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from territorial.store import access, workspace
from territorial.store.access import TOKEN_SCOPES, ApiToken
from territorial.store.tables import reps
from territorial.store.workspace import ROLES, User

SESSION_COOKIE = "territorial_session"
LOGIN_CSRF_COOKIE = "territorial_login_csrf"
SESSION_HOURS = 12
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 8


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex) for ``password`` with a fresh 16-byte salt."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, bytes.fromhex(digest))


# A hash to burn the same time on unknown e-mails (no user enumeration by timing).
_DUMMY_HASH = hash_password("not a real password", salt=b"\0" * 16)


def add_user(
    engine: Engine,
    *,
    email: str,
    role: str,
    password: str,
    name: str | None = None,
    rep_id: str | None = None,
    by: User | None = None,
) -> User:
    """Create a user with a hashed password; recorded in the audit trail."""
    if role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if "@" not in email:
        raise ConfigError(f"{email!r} is not an e-mail address")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must have at least {MIN_PASSWORD} characters")
    if role in ("rep", "manager") and not rep_id:
        raise ConfigError(f"a {role} user needs --rep-id (the rep id in the store)")
    if rep_id:
        with engine.connect() as conn:
            if conn.execute(select(reps.c.id).where(reps.c.id == rep_id)).first() is None:
                known = conn.execute(select(reps.c.manager_id).where(reps.c.manager_id == rep_id))
                if known.first() is None:
                    raise ConfigError(f"rep id {rep_id!r} is neither a rep nor a manager id")
    user = workspace.create_user(
        engine,
        email=email,
        role=role,
        password_hash=hash_password(password),
        name=name,
        rep_id=rep_id,
    )
    workspace.record_event(
        engine, action="user.add", user=by, details={"email": user.email, "role": role}
    )
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """How many failed log-ins are allowed before a lockout, and for how long.

    ``max_failures`` wrong passwords for one account, or ``max_failures_per_address``
    failed log-ins from one network address, within ``window``: further log-ins are
    refused until the oldest of those failures is ``window`` old.
    """

    max_failures: int = 10
    max_failures_per_address: int = 50
    window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Any) -> LoginPolicy:
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_address=settings.login_max_failures_per_address,
            window=timedelta(minutes=settings.login_window_minutes),
        )


class LockedOutError(AuthenticationError):
    """Too many failed log-ins: refused until ``retry_after`` seconds have passed."""

    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out["retry_after"] = self.retry_after
        return out


def _locked_until(failures: list[datetime], limit: int, window: timedelta) -> datetime | None:
    if len(failures) < limit:
        return None
    return failures[-limit] + window


def _wait_text(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def log_in(
    engine: Engine,
    *,
    email: str,
    password: str,
    address: str = "unknown",
    policy: LoginPolicy | None = None,
) -> tuple[User, str]:
    """Check credentials and open a session; returns the user and the cookie token.

    Refused with :class:`LockedOutError` while the account or the address is locked
    out (see :class:`LoginPolicy`), with :class:`AuthenticationError` on a wrong
    e-mail or password (the same message for both) or a disabled account. Every
    attempt is recorded; failed ones also in the audit trail.
    """
    policy = policy or LoginPolicy()
    email = email.strip().lower()[:255]
    now = datetime.now(UTC)
    since = now - policy.window
    until = max(
        (
            t
            for t in (
                _locked_until(
                    access.recent_failures(engine, since=since, email=email),
                    policy.max_failures,
                    policy.window,
                ),
                _locked_until(
                    access.recent_failures(engine, since=since, address=address),
                    policy.max_failures_per_address,
                    policy.window,
                ),
            )
            if t is not None
        ),
        default=None,
    )
    if until is not None and until > now:
        wait = max(1, math.ceil((until - now).total_seconds()))
        _failed(engine, email=email, address=address, reason="locked")
        raise LockedOutError(
            f"too many failed log-ins for this account or from this address; "
            f"try again in {_wait_text(wait)}",
            retry_after=wait,
        )
    found = workspace.user_credentials(engine, email=email)
    if found is None:
        verify_password(password, _DUMMY_HASH)
        _failed(engine, email=email, address=address, reason="wrong")
        raise AuthenticationError("wrong e-mail or password")
    user, stored = found
    if not verify_password(password, stored):
        _failed(engine, email=email, address=address, reason="wrong", user=user)
        raise AuthenticationError("wrong e-mail or password")
    if not user.active:
        _failed(engine, email=email, address=address, reason="disabled", user=user)
        raise AuthenticationError(
            f"this account is {user.status if user.status != 'active' else 'disabled'}; "
            "ask an admin"
        )
    token = secrets.token_urlsafe(32)
    workspace.create_session(
        engine,
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=datetime.now(UTC) + timedelta(hours=SESSION_HOURS),
    )
    access.record_attempt(engine, email=email, address=address, succeeded=True, reason="ok")
    workspace.record_event(engine, action="login", user=user, details={"address": address})
    return user, token


def _failed(
    engine: Engine, *, email: str, address: str, reason: str, user: User | None = None
) -> None:
    access.record_attempt(engine, email=email, address=address, succeeded=False, reason=reason)
    workspace.record_event(
        engine,
        action="login.failed",
        user=None,
        actor=email or "(empty e-mail)",
        details={
            "email": email,
            "address": address,
            "reason": reason,
            "user_id": None if user is None else user.id,
        },
    )


def log_out(engine: Engine, *, token: str) -> None:
    workspace.delete_session(engine, token_hash=_token_hash(token))


@dataclass(frozen=True, slots=True)
class Session:
    """The logged-in user of one request and the CSRF token their forms must echo."""

    user: User
    csrf_token: str

    def check_csrf(self, given: str | None) -> None:
        if not given or not hmac.compare_digest(given.encode(), self.csrf_token.encode()):
            raise PermissionDeniedError("missing or wrong CSRF token; reload the page")

    def require_editor(self) -> None:
        if not self.user.can_edit:
            raise PermissionDeniedError(f"a {self.user.role} may not change scenarios")

    def require_admin(self) -> None:
        if self.user.role != "admin":
            raise PermissionDeniedError("only an admin may do this")


def session_for_token(engine: Engine, token: str | None) -> Session | None:
    if not token:
        return None
    found = workspace.session_user(engine, token_hash=_token_hash(token))
    return None if found is None else Session(*found)


def visible_territories(engine: Engine, user: User) -> frozenset[str] | None:
    """Territory ids ``user`` may read; ``None`` means all.

    Territories are identified by the owning rep's id. A rep sees their own; a manager
    sees every rep whose ``manager_id`` is theirs (and their own id).
    """
    if user.role in ("admin", "planner"):
        return None
    if not user.rep_id:
        return frozenset()
    if user.role == "rep":
        return frozenset({user.rep_id})
    with engine.connect() as conn:
        team = conn.execute(select(reps.c.id).where(reps.c.manager_id == user.rep_id)).scalars()
        return frozenset({user.rep_id, *team})


# --- user administration ------------------------------------------------------------
def _require_admin(by: User | None) -> None:
    if by is not None and by.role != "admin":
        raise PermissionDeniedError("only an admin may manage users")


def _keep_an_admin(engine: Engine, user: User) -> None:
    if user.role != "admin" or not user.active:
        return
    admins = [u for u in workspace.list_users(engine) if u.role == "admin" and u.active]
    if len(admins) <= 1:
        raise ConflictError(
            f"{user.email} is the last active admin; add or enable another admin first"
        )


def disable_user(engine: Engine, *, email: str, by: User | None = None) -> User:
    """Stop a user from logging in or using their tokens; their sessions end at once."""
    _require_admin(by)
    user = workspace.get_user(engine, email=email)
    if user.status == "removed":
        raise ConflictError(f"{user.email} was removed; a removed user cannot be changed")
    _keep_an_admin(engine, user)
    done = workspace.set_user_status(engine, user_id=user.id, status="disabled")
    workspace.record_event(engine, action="user.disable", user=by, details={"email": user.email})
    return done


def enable_user(engine: Engine, *, email: str, by: User | None = None) -> User:
    """Let a disabled user log in again (their unexpired, unrevoked tokens work again)."""
    _require_admin(by)
    user = workspace.get_user(engine, email=email)
    if user.status == "removed":
        raise ConflictError(f"{user.email} was removed; add a new user instead")
    done = workspace.set_user_status(engine, user_id=user.id, status="active")
    workspace.record_event(engine, action="user.enable", user=by, details={"email": user.email})
    return done


def remove_user(engine: Engine, *, email: str, by: User | None = None) -> User:
    """Remove a user: a soft delete. Sessions end and tokens are revoked at once; the row
    stays so the audit trail keeps naming who did what."""
    _require_admin(by)
    user = workspace.get_user(engine, email=email)
    if user.status == "removed":
        raise ConflictError(f"{user.email} was already removed")
    _keep_an_admin(engine, user)
    done = workspace.set_user_status(engine, user_id=user.id, status="removed")
    revoked = access.revoke_user_tokens(engine, user_id=user.id)
    workspace.record_event(
        engine,
        action="user.remove",
        user=by,
        details={"email": user.email, "tokens_revoked": revoked},
    )
    return done


def reset_password(engine: Engine, *, email: str, password: str, by: User | None = None) -> User:
    """Set a new password; every session of the user ends at once."""
    _require_admin(by)
    user = workspace.get_user(engine, email=email)
    if user.status == "removed":
        raise ConflictError(f"{user.email} was removed; a removed user cannot be changed")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must have at least {MIN_PASSWORD} characters")
    workspace.set_password_hash(engine, email=user.email, password_hash=hash_password(password))
    ended = workspace.end_sessions(engine, user_id=user.id)
    workspace.record_event(
        engine,
        action="user.reset_password",
        user=by,
        details={"email": user.email, "sessions_ended": ended},
    )
    return user


# --- API tokens -----------------------------------------------------------------------
TOKEN_PREFIX = "trl_"
#: Roles whose tokens may use the REST API, and what they may do there.
API_WRITE_ROLES = frozenset({"admin", "planner"})
API_READ_ROLES = frozenset({"admin", "planner", "manager"})
#: ``last_used_at`` is written at most this often per token (a write per request
#: would compete with routing for the store).
TOKEN_TOUCH_SECONDS = 60.0
_touched: dict[tuple[str, int], float] = {}  # (store, token id) -> last write
_touch_lock = threading.Lock()


def create_api_token(
    engine: Engine,
    *,
    email: str,
    name: str,
    days: int = 90,
    scope: str = "write",
    by: User | None = None,
) -> tuple[ApiToken, str]:
    """A new personal API token for ``email``; returns it and its secret (shown once).

    ``by`` (when given) must be that user or an admin. The token acts with its user's
    role at the time of each call; ``read`` tokens may only read.
    """
    user = workspace.get_user(engine, email=email)
    if by is not None and by.id != user.id and by.role != "admin":
        raise PermissionDeniedError("you may create tokens only for yourself")
    if not user.active:
        raise ConflictError(f"{user.email} is {user.status}; tokens need an active user")
    if scope not in TOKEN_SCOPES:
        raise ConfigError(f"scope must be one of {', '.join(TOKEN_SCOPES)}, got {scope!r}")
    name = name.strip()
    if not name or len(name) > 120:
        raise ConfigError("a token needs a name of 1 to 120 characters (what it is for)")
    if not 1 <= days <= 3650:
        raise ConfigError(f"a token lasts 1 to 3650 days, not {days}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = access.create_token(
        engine,
        user_id=user.id,
        name=name,
        token_hash=_token_hash(secret),
        prefix=secret[:8],
        scope=scope,
        expires_at=datetime.now(UTC) + timedelta(days=days),
    )
    workspace.record_event(
        engine,
        action="token.create",
        user=by,
        details={"token_id": token.id, "for": user.email, "name": name, "scope": scope},
    )
    return token, secret


def revoke_api_token(engine: Engine, *, token_id: int, by: User | None = None) -> ApiToken:
    """Revoke a token now; ``by`` must own it or be an admin (``None``: the CLI)."""
    token = access.get_token(engine, token_id=token_id)
    if by is not None and by.id != token.user_id and by.role != "admin":
        raise NotFoundError(f"no API token with id {token_id}")
    done = access.revoke_token(engine, token_id=token_id)
    workspace.record_event(
        engine,
        action="token.revoke",
        user=by,
        details={"token_id": token_id, "for": token.user_email},
    )
    return done


def authenticate_token(engine: Engine, secret: str) -> tuple[User, ApiToken]:
    """The user and token of a bearer secret; :class:`AuthenticationError` says why not."""
    if not secret.startswith(TOKEN_PREFIX):
        raise AuthenticationError("wrong bearer token")
    token = access.token_by_hash(engine, token_hash=_token_hash(secret))
    if token is None:
        raise AuthenticationError("wrong bearer token")
    now = datetime.now(UTC)
    state = token.status(now)
    if state != "active":
        raise AuthenticationError(f"this API token is {state}; create a new one")
    user = workspace.get_user(engine, user_id=token.user_id)
    if not user.active:
        raise AuthenticationError(f"the user of this API token is {user.status}")
    _touch(engine, token, now)
    return user, token


def _touch(engine: Engine, token: ApiToken, now: datetime) -> None:
    clock = now.timestamp()
    key = (engine.url.render_as_string(hide_password=True), token.id)
    with _touch_lock:
        if clock - _touched.get(key, 0.0) < TOKEN_TOUCH_SECONDS:
            return
        _touched[key] = clock
    access.touch_token(engine, token_id=token.id, at=now)
