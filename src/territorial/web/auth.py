"""Who is asking: password hashing, sessions, CSRF tokens and role scopes.

* Passwords: ``hashlib.scrypt`` (N=2^14, r=8, p=1) with a 16-byte random salt per user,
  compared with :func:`hmac.compare_digest`.
* Sessions: a random token in an HttpOnly, SameSite=Lax cookie; the store keeps only
  its SHA-256 (``web_sessions``), with a per-session CSRF token and an expiry.
* CSRF: every state-changing request carries the session's CSRF token, in the
  ``X-CSRF-Token`` header (fetch calls) or the ``csrf_token`` form field (forms). The
  log-in form, which has no session yet, uses a double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from territorial.errors import AuthenticationError, ConfigError, PermissionDeniedError
from territorial.store import workspace
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


def log_in(engine: Engine, *, email: str, password: str) -> tuple[User, str]:
    """Check credentials and open a session; returns the user and the cookie token."""
    found = workspace.user_credentials(engine, email=email)
    if found is None:
        verify_password(password, _DUMMY_HASH)
        raise AuthenticationError("wrong e-mail or password")
    user, stored = found
    if not verify_password(password, stored) or not user.active:
        raise AuthenticationError("wrong e-mail or password")
    token = secrets.token_urlsafe(32)
    workspace.create_session(
        engine,
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=datetime.now(UTC) + timedelta(hours=SESSION_HOURS),
    )
    workspace.record_event(engine, action="login", user=user)
    return user, token


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
