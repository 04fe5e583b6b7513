"""Workspace tables: users, web sessions, the audit trail and manual plan moves.

Declared on the shared ``metadata``; the schema ships as migration ``0004_workspace``
on its own branch. Functions here are keyword-only data access: no hashing, no HTTP
(password hashing lives in :mod:`territorial.web.auth`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)

from territorial.errors import ConflictError, NotFoundError
from territorial.store.tables import ID, metadata, plan_assignments, plans

#: Roles, most powerful first. ``planner`` edits scenarios; ``manager`` reads their
#: team's territories; ``rep`` reads only their own territory.
ROLES: tuple[str, ...] = ("admin", "planner", "manager", "rep")

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(255), nullable=False, unique=True),
    Column("name", Text),
    Column("role", String(16), nullable=False, doc="'admin', 'planner', 'manager' or 'rep'"),
    Column("rep_id", ID, doc="the rep this user is (rep) or manages as (manager)"),
    Column("password_hash", String(255), nullable=False, doc="scrypt$n$r$p$salt$hash (hex)"),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column(
        "status",
        String(16),
        nullable=False,
        default="active",
        server_default="active",
        doc="'active', 'disabled' or 'removed' (soft delete; migration 0008_access)",
    ),
    Column("status_changed_at", DateTime(timezone=True)),
)

#: What a user's ``status`` may be. Only ``active`` users log in or use tokens.
USER_STATUSES: tuple[str, ...] = ("active", "disabled", "removed")

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True, doc="sha256 of the cookie token"),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer),
    Column("actor", String(255), doc="e-mail of the user, or 'cli'"),
    Column("action", String(64), nullable=False, doc="e.g. 'login', 'move', 'design', 'undo'"),
    Column("plan_id", Integer),
    Column("details", JSON),
)
Index(None, audit_events.c.at)

plan_moves = Table(
    "plan_moves",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", Integer, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False),
    Column("batch", Integer, nullable=False, doc="moves made by one action share a batch"),
    Column("account_id", ID, nullable=False),
    Column("from_territory", ID),
    Column("to_territory", ID, nullable=False),
    Column("was_locked", Boolean, nullable=False),
    Column("locked", Boolean, nullable=False),
    Column("moved_by", String(255)),
    Column("moved_at", DateTime(timezone=True), nullable=False),
    Column("undone_at", DateTime(timezone=True)),
    Column("from_reason", Text, doc="the assignment's reason before the move (undo restores it)"),
)
Index(None, plan_moves.c.plan_id, plan_moves.c.batch)


def _now() -> datetime:
    return datetime.now(UTC)


def _naive_utc(value: datetime) -> datetime:
    """SQLite drops time zones: compare in naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@dataclass(frozen=True, slots=True)
class User:
    """A person who logs in to the workspace."""

    id: int
    email: str
    name: str | None
    role: str
    rep_id: str | None
    active: bool
    status: str = "active"

    @property
    def can_edit(self) -> bool:
        """Admins and planners change scenarios; managers and reps only read."""
        return self.role in ("admin", "planner")


def _user(row: Any) -> User:
    status = getattr(row, "status", None) or ("active" if row.active else "disabled")
    return User(
        row.id,
        row.email,
        row.name,
        row.role,
        row.rep_id,
        bool(row.active) and status == "active",
        status,
    )


# --- users -------------------------------------------------------------------------
def create_user(
    engine: Engine,
    *,
    email: str,
    role: str,
    password_hash: str,
    name: str | None = None,
    rep_id: str | None = None,
) -> User:
    """Store a new user; a ConflictError if the e-mail is taken."""
    email = email.strip().lower()
    with engine.begin() as conn:
        taken = conn.execute(select(users.c.status).where(users.c.email == email)).first()
        if taken is not None and taken.status == "removed":
            raise ConflictError(
                f"a removed user had the e-mail {email!r}; removed users stay in the audit "
                "trail and their e-mail cannot be reused"
            )
        if taken is not None:
            raise ConflictError(f"a user with e-mail {email!r} already exists")
        uid = conn.execute(
            insert(users).values(
                email=email,
                name=name,
                role=role,
                rep_id=rep_id,
                password_hash=password_hash,
                active=True,
                status="active",
                created_at=_now(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    return User(int(uid), email, name, role, rep_id, True)


def set_password_hash(engine: Engine, *, email: str, password_hash: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            update(users)
            .where(users.c.email == email.strip().lower())
            .values(password_hash=password_hash)
        )
        if done.rowcount == 0:
            raise NotFoundError(f"no user with e-mail {email!r}")


def user_credentials(engine: Engine, *, email: str) -> tuple[User, str] | None:
    """The user and stored password hash for ``email``, or ``None``."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    return None if row is None else (_user(row), row.password_hash)


def list_users(engine: Engine, *, include_removed: bool = False) -> list[User]:
    query = select(users).order_by(users.c.email)
    if not include_removed:
        query = query.where(users.c.status != "removed")
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(query)]


def get_user(engine: Engine, *, email: str | None = None, user_id: int | None = None) -> User:
    """One user by e-mail or id (removed users too); a NotFoundError otherwise."""
    query = select(users)
    if email is not None:
        query = query.where(users.c.email == email.strip().lower())
    if user_id is not None:
        query = query.where(users.c.id == user_id)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"no user with e-mail {email!r}" if email else f"no user {user_id}")
    return _user(row)


def set_user_status(engine: Engine, *, user_id: int, status: str) -> User:
    """Set a user's status; anything but ``active`` also ends their web sessions at once."""
    if status not in USER_STATUSES:
        raise ValueError(f"status must be one of {USER_STATUSES}")
    with engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(status=status, active=status == "active", status_changed_at=_now())
        )
        if status != "active":
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
    return get_user(engine, user_id=user_id)


def end_sessions(engine: Engine, *, user_id: int) -> int:
    """End every web session of a user (password reset, disable); returns how many."""
    with engine.begin() as conn:
        done = conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
    return int(done.rowcount or 0)


# --- sessions ----------------------------------------------------------------------
def create_session(
    engine: Engine, *, token_hash: str, user_id: int, csrf_token: str, expires_at: datetime
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(web_sessions).values(
                token_hash=token_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=_now(),
                expires_at=expires_at,
            )
        )


def session_user(engine: Engine, *, token_hash: str) -> tuple[User, str] | None:
    """The active user and CSRF token of an unexpired session, or ``None``."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users, web_sessions.c.csrf_token, web_sessions.c.expires_at)
            .join(web_sessions, web_sessions.c.user_id == users.c.id)
            .where(web_sessions.c.token_hash == token_hash)
        ).first()
    if row is None or not row.active or row.status != "active":
        return None
    if _naive_utc(row.expires_at) < _naive_utc(_now()):
        return None
    return _user(row), row.csrf_token


def delete_session(engine: Engine, *, token_hash: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))


# --- audit -------------------------------------------------------------------------
def record_event(
    engine: Engine,
    *,
    action: str,
    user: User | None,
    plan_id: int | None = None,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """Append who did what and when to the audit trail.

    ``actor`` names who acted when there is no user (default ``cli``; a failed log-in
    names the e-mail that was tried).
    """
    with engine.begin() as conn:
        conn.execute(
            insert(audit_events).values(
                at=_now(),
                user_id=None if user is None else user.id,
                actor=(actor or "cli") if user is None else user.email,
                action=action,
                plan_id=plan_id,
                details=details or {},
            )
        )


def list_events(engine: Engine, *, limit: int = 200) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_events).order_by(audit_events.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


# --- manual moves ------------------------------------------------------------------
def move_accounts(
    engine: Engine,
    *,
    plan_id: int,
    account_ids: Sequence[str],
    to_territory: str,
    lock: bool,
    moved_by: str | None,
) -> int:
    """Move accounts of a stored plan to ``to_territory`` (optionally locked); log the batch.

    A moved account's reason becomes who moved it and when (:func:`moved_reason`); the
    reason it had is kept with the move, so undo restores it. Returns the number of
    accounts whose territory or lock changed.
    """
    ids = list(dict.fromkeys(account_ids))
    with engine.begin() as conn:
        if conn.execute(select(plans.c.id).where(plans.c.id == plan_id)).first() is None:
            raise NotFoundError(f"plan {plan_id} does not exist")
        current: dict[str, tuple[str, bool, str | None]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for r in conn.execute(
                select(
                    plan_assignments.c.account_id,
                    plan_assignments.c.territory_id,
                    plan_assignments.c.locked,
                    plan_assignments.c.reason,
                ).where(
                    plan_assignments.c.plan_id == plan_id,
                    plan_assignments.c.account_id.in_(chunk),
                )
            ):
                current[r.account_id] = (r.territory_id, bool(r.locked), r.reason)
        missing = [a for a in ids if a not in current]
        if missing:
            raise NotFoundError(
                f"{len(missing)} account(s) are not in plan {plan_id}: {', '.join(missing[:5])}"
            )
        batch = (
            conn.execute(
                select(func.max(plan_moves.c.batch)).where(plan_moves.c.plan_id == plan_id)
            ).scalar()
            or 0
        ) + 1
        now = _now()
        rows = []
        for a in ids:
            territory, was_locked, reason = current[a]
            if territory == to_territory and was_locked == lock:
                continue
            moved = territory != to_territory
            rows.append(
                {
                    "plan_id": plan_id,
                    "batch": batch,
                    "account_id": a,
                    "from_territory": territory,
                    "to_territory": to_territory,
                    "was_locked": was_locked,
                    "locked": lock,
                    "moved_by": moved_by,
                    "moved_at": now,
                    "from_reason": reason,
                }
            )
            conn.execute(
                update(plan_assignments)
                .where(plan_assignments.c.plan_id == plan_id, plan_assignments.c.account_id == a)
                .values(
                    territory_id=to_territory,
                    locked=lock,
                    reason=moved_reason(moved_by, now) if moved else reason,
                )
            )
        if rows:
            conn.execute(insert(plan_moves), rows)
    return len(rows)


def assignment_reasons(
    engine: Engine, *, plan_id: int, account_ids: Sequence[str]
) -> dict[str, Any]:
    """``{account id: reason}`` of some accounts of a stored plan."""
    out: dict[str, Any] = {}
    ids = list(dict.fromkeys(account_ids))
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for r in conn.execute(
                select(plan_assignments.c.account_id, plan_assignments.c.reason).where(
                    plan_assignments.c.plan_id == plan_id,
                    plan_assignments.c.account_id.in_(chunk),
                )
            ):
                out[r.account_id] = r.reason
    return out


def moved_reason(moved_by: str | None, moved_at: Any) -> str:
    """The reason of an account moved by hand: who moved it, on which day."""
    day = moved_at.date().isoformat() if hasattr(moved_at, "date") else str(moved_at)[:10]
    return f"moved by hand by {moved_by or 'a planner'} on {day}"


def _replay_batch(conn: Any, plan_id: int, batch: int, *, undo: bool) -> int:
    """Put a batch's accounts back where they were (``undo``) or where the batch moved
    them (redo), and mark the batch undone or applied; returns the accounts changed."""
    moves = conn.execute(
        select(plan_moves).where(plan_moves.c.plan_id == plan_id, plan_moves.c.batch == batch)
    ).all()
    for m in moves:
        conn.execute(
            update(plan_assignments)
            .where(
                plan_assignments.c.plan_id == plan_id,
                plan_assignments.c.account_id == m.account_id,
            )
            .values(
                territory_id=m.from_territory if undo else m.to_territory,
                locked=m.was_locked if undo else m.locked,
                reason=(
                    m.from_reason
                    if undo or m.from_territory == m.to_territory
                    else moved_reason(m.moved_by, m.moved_at)
                ),
            )
        )
    conn.execute(
        update(plan_moves)
        .where(plan_moves.c.plan_id == plan_id, plan_moves.c.batch == batch)
        .values(undone_at=_now() if undo else None)
    )
    return len(moves)


def undo_last_move(engine: Engine, *, plan_id: int) -> int:
    """Revert the newest batch of moves not yet undone; returns accounts restored."""
    with engine.begin() as conn:
        batch = conn.execute(
            select(func.max(plan_moves.c.batch)).where(
                plan_moves.c.plan_id == plan_id, plan_moves.c.undone_at.is_(None)
            )
        ).scalar()
        if batch is None:
            raise NotFoundError(f"plan {plan_id} has no move to undo")
        return _replay_batch(conn, plan_id, batch, undo=True)


def _redo_batch(conn: Any, plan_id: int) -> int | None:
    """The batch a redo re-applies: the undone batch undone last, if no move came after.

    Undo walks back from the newest batch, so the redoable batches are the undone ones
    numbered above every batch still applied; the lowest of them was undone last. A new
    move takes a higher number than all of them, which ends redo (as in any editor).
    """
    applied = conn.execute(
        select(func.max(plan_moves.c.batch)).where(
            plan_moves.c.plan_id == plan_id, plan_moves.c.undone_at.is_(None)
        )
    ).scalar()
    query = select(func.min(plan_moves.c.batch)).where(
        plan_moves.c.plan_id == plan_id, plan_moves.c.undone_at.is_not(None)
    )
    if applied is not None:
        query = query.where(plan_moves.c.batch > applied)
    return conn.execute(query).scalar()


def redo_move(engine: Engine, *, plan_id: int) -> int:
    """Re-apply the batch of moves undone last (see :func:`_redo_batch`); returns accounts
    moved again. A NotFoundError when there is nothing to redo."""
    with engine.begin() as conn:
        batch = _redo_batch(conn, plan_id)
        if batch is None:
            raise NotFoundError(f"plan {plan_id} has no undone move to redo")
        return _replay_batch(conn, plan_id, batch, undo=False)


def move_history(engine: Engine, *, plan_id: int) -> dict[str, int]:
    """How many batches of moves can be undone and redone on ``plan_id`` now."""
    with engine.connect() as conn:
        undo = conn.execute(
            select(func.count(func.distinct(plan_moves.c.batch))).where(
                plan_moves.c.plan_id == plan_id, plan_moves.c.undone_at.is_(None)
            )
        ).scalar()
        applied = conn.execute(
            select(func.max(plan_moves.c.batch)).where(
                plan_moves.c.plan_id == plan_id, plan_moves.c.undone_at.is_(None)
            )
        ).scalar()
        query = select(func.count(func.distinct(plan_moves.c.batch))).where(
            plan_moves.c.plan_id == plan_id, plan_moves.c.undone_at.is_not(None)
        )
        if applied is not None:
            query = query.where(plan_moves.c.batch > applied)
        redo = conn.execute(query).scalar()
    return {"undo": int(undo or 0), "redo": int(redo or 0)}


def plan_version(engine: Engine, *, plan_id: int) -> tuple[int, int]:
    """A value that changes whenever the plan's assignments change by a move or undo."""
    with engine.connect() as conn:
        row = conn.execute(
            select(func.count(plan_moves.c.id), func.count(plan_moves.c.undone_at)).where(
                plan_moves.c.plan_id == plan_id
            )
        ).first()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))
