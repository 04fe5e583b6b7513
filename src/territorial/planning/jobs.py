"""Long work as rows in the store, run by worker processes: jobs outlive any process.

A job (a design run started from the workspace or the API, say) is a row of ``jobs``:
``queued`` → ``running`` (with progress, a message and a heartbeat) → ``done`` (with its
result) or ``failed`` (with the error), or ``cancelled``. Any number of worker processes
(``territorial worker``, or the one ``territorial serve`` starts) on any number of
machines share the queue:

* on PostgreSQL a worker claims the oldest queued job with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` (two workers never take the same job and never
  wait for each other);
* on SQLite one ``UPDATE ... RETURNING`` claims it (SQLite serialises writers).

A worker that dies leaves its job ``running`` with a stale heartbeat; the next claim puts
it back in the queue (up to ``max_attempts`` tries), so a restart loses nothing.

Handlers are named by import path in :data:`HANDLERS` (``kind`` → ``module:function``),
each ``handler(engine, payload, progress) -> dict`` where ``progress(fraction, message)``
reports and raises :class:`JobCancelled` once the job is cancelled.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, insert, select, update

from territorial.errors import ConfigError, ConflictError, NotFoundError, TerritorialError
from territorial.store.planning import aware, jobs, utcnow

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Handler = Callable[[Engine, Mapping[str, Any], Progress], Mapping[str, Any]]

#: Job kinds and the function that runs each (``module:function``).
HANDLERS: dict[str, str] = {
    "design": "territorial.design.service:run_design_job",
    "scheduled": "territorial.planning.jobs:run_scheduled_work",
}

STATUSES = ("queued", "running", "done", "failed", "cancelling", "cancelled")

#: A running job whose heartbeat is older than this is taken to have lost its worker.
STALE_AFTER = timedelta(seconds=120)
#: Tries before a job whose workers keep dying is failed.
MAX_ATTEMPTS = 3
#: Seconds between heartbeats of a running job (also the progress write throttle).
HEARTBEAT_SECONDS = 5.0


class JobCancelled(TerritorialError):
    """Raised by ``progress`` when the job has been cancelled; the worker stops it."""

    http_status = 409
    exit_code = 5


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _public(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("created_at", "started_at", "finished_at", "heartbeat_at"):
        out[key] = aware(out.get(key))
    return out


# --- queue ------------------------------------------------------------------------------------
def enqueue(
    engine: Engine,
    *,
    kind: str,
    payload: Mapping[str, Any],
    created_by: str | None = None,
) -> int:
    """Queue a job; returns its id. Unknown kinds are refused at once."""
    if kind not in HANDLERS:
        raise ConfigError(f"unknown job kind {kind!r}; known: {', '.join(sorted(HANDLERS))}")
    with engine.begin() as conn:
        job_id = conn.execute(
            insert(jobs).values(
                kind=kind,
                status="queued",
                payload=dict(payload),
                created_at=utcnow(),
                created_by=created_by,
                attempts=0,
                progress=0.0,
                message="queued",
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    return int(job_id)


def get_job(engine: Engine, *, job_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no job {job_id}")
    return _public(row)


def list_jobs(
    engine: Engine,
    *,
    status: str | None = None,
    kind: str | None = None,
    created_by: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Jobs, newest first."""
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(jobs.c.status == status)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    if created_by is not None:
        query = query.where(jobs.c.created_by == created_by)
    with engine.connect() as conn:
        return [_public(r) for r in conn.execute(query).mappings()]


def cancel(engine: Engine, *, job_id: int) -> dict[str, Any]:
    """Cancel a queued job at once, or ask a running one to stop at its next progress."""
    with engine.begin() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no job {job_id}")
        if row["status"] == "queued":
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "queued")
                .values(status="cancelled", finished_at=utcnow(), message="cancelled")
            )
        elif row["status"] == "running":
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == "running")
                .values(status="cancelling", message="cancelling")
            )
        else:
            raise ConflictError(f"job {job_id} is {row['status']} and cannot be cancelled")
    return get_job(engine, job_id=job_id)


def requeue_stale(engine: Engine, *, now: datetime | None = None) -> int:
    """Put back in the queue (or fail, after ``MAX_ATTEMPTS``) running jobs whose worker
    stopped sending heartbeats; returns how many."""
    now = now or utcnow()
    limit = now - STALE_AFTER
    with engine.begin() as conn:
        stale = conn.execute(
            select(jobs.c.id, jobs.c.attempts, jobs.c.worker).where(
                jobs.c.status.in_(("running", "cancelling")), jobs.c.heartbeat_at < limit
            )
        ).all()
        for job_id, attempts, worker in stale:
            if attempts >= MAX_ATTEMPTS:
                values: dict[str, Any] = {
                    "status": "failed",
                    "finished_at": now,
                    "error": f"its worker ({worker}) stopped {attempts} times; gave up",
                }
            else:
                values = {
                    "status": "queued",
                    "worker": None,
                    "message": f"requeued: worker {worker} stopped answering",
                }
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status.in_(("running", "cancelling")))
                .values(**values)
            )
    return len(stale)


def claim(
    engine: Engine, *, worker: str | None = None, kinds: Sequence[str] | None = None
) -> dict[str, Any] | None:
    """Take the oldest queued job (of ``kinds``) for ``worker``; ``None`` when idle."""
    worker = worker or worker_name()
    now = utcnow()
    conditions = [jobs.c.status == "queued"]
    if kinds:
        conditions.append(jobs.c.kind.in_(list(kinds)))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            row = conn.execute(
                select(jobs.c.id)
                .where(and_(*conditions))
                .order_by(jobs.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            job_id = int(row[0])
        else:
            oldest = select(jobs.c.id).where(and_(*conditions)).order_by(jobs.c.id).limit(1)
            got = conn.execute(
                update(jobs)
                .where(jobs.c.id == oldest.scalar_subquery(), jobs.c.status == "queued")
                .values(status="claimed")
                .returning(jobs.c.id)
            ).first()
            if got is None:
                return None
            job_id = int(got[0])
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(
                status="running",
                worker=worker,
                started_at=now,
                heartbeat_at=now,
                attempts=jobs.c.attempts + 1,
                message="started",
                error=None,
            )
        )
        claimed = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return None if claimed is None else _public(claimed)


def _finish(engine: Engine, job_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(finished_at=utcnow(), heartbeat_at=utcnow(), **values)
        )


class _Reporter:
    """The ``progress`` callback of a running job: throttled writes, heartbeat, cancel."""

    def __init__(self, engine: Engine, job_id: int) -> None:
        self.engine = engine
        self.job_id = job_id
        self._last = 0.0
        self._lock = threading.Lock()
        self.fraction = 0.0
        self.message = "started"

    def __call__(self, fraction: float, message: str = "", *_: Any, **__: Any) -> None:
        self.fraction = min(1.0, max(0.0, float(fraction)))
        self.message = str(message)[:500]
        if time.monotonic() - self._last >= min(1.0, HEARTBEAT_SECONDS):
            self.beat()

    def beat(self) -> None:
        with self._lock:
            self._last = time.monotonic()
            with self.engine.begin() as conn:
                status = conn.execute(
                    select(jobs.c.status).where(jobs.c.id == self.job_id)
                ).scalar()
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == self.job_id)
                    .values(heartbeat_at=utcnow(), progress=self.fraction, message=self.message)
                )
        if status == "cancelling":
            raise JobCancelled(f"job {self.job_id} was cancelled")


def handler_for(kind: str) -> Handler:
    """The function that runs jobs of ``kind`` (imported on first use)."""
    target = HANDLERS.get(kind)
    if target is None:
        raise ConfigError(f"unknown job kind {kind!r}")
    module_name, _, function = target.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), function)
    return handler


def run_job(engine: Engine, job: Mapping[str, Any]) -> dict[str, Any]:
    """Run a claimed job to its end; its row says how it ended. Returns the final row."""
    job_id = int(job["id"])
    reporter = _Reporter(engine, job_id)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                reporter.beat()
            except JobCancelled:
                return  # the job's own progress call raises it in the job's thread

    beating = threading.Thread(target=heartbeat, name=f"job-{job_id}-heartbeat", daemon=True)
    beating.start()
    try:
        handler = handler_for(str(job["kind"]))
        result = handler(engine, dict(job["payload"] or {}), reporter)
    except JobCancelled:
        _finish(engine, job_id, status="cancelled", message="cancelled")
    except TerritorialError as exc:  # the user's input or data: a clear message, no trace
        _finish(engine, job_id, status="failed", error=exc.message, message="failed")
    except Exception as exc:  # a bug: keep the trace for whoever reads the job
        log.exception("job %s (%s) failed", job_id, job["kind"])
        _finish(
            engine,
            job_id,
            status="failed",
            error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=20)}",
            message="failed",
        )
    else:
        _finish(
            engine, job_id, status="done", progress=1.0, message="done", result=dict(result or {})
        )
    finally:
        stop.set()
        beating.join(timeout=1.0)
    return get_job(engine, job_id=job_id)


def run_scheduled_work(
    engine: Engine, payload: Mapping[str, Any], progress: Progress
) -> dict[str, Any]:
    """Activate scheduled versions whose date has come and hand over expired holdovers."""
    from territorial.planning.activation import activate_due, release_holdovers

    today = date.fromisoformat(payload["today"]) if payload.get("today") else None
    progress(0.1, "activating scheduled versions")
    activated = activate_due(engine, today=today)
    progress(0.6, "releasing holdovers")
    released = release_holdovers(engine, today=today)
    from territorial.goals.signals import scheduled_signals

    progress(0.8, "queueing signals")
    return {
        "activated": [r.plan_id for r in activated],
        "released_holdovers": released,
        "signals_queued": scheduled_signals(engine, today=today),
    }


def run_worker(
    engine: Engine,
    *,
    stop: threading.Event | None = None,
    poll_seconds: float = 1.0,
    once: bool = False,
    kinds: Sequence[str] | None = None,
    scheduled_every: float = 60.0,
    worker: str | None = None,
) -> int:
    """Claim and run jobs until ``stop`` is set (or, with ``once``, until the queue is
    empty); every ``scheduled_every`` seconds also run the scheduled work (activations
    due, holdover releases). Returns the number of jobs run."""
    stop = stop or threading.Event()
    worker = worker or worker_name()
    ran = 0
    next_scheduled = 0.0
    while not stop.is_set():
        if scheduled_every > 0 and time.monotonic() >= next_scheduled:
            next_scheduled = time.monotonic() + scheduled_every
            try:
                run_scheduled_work(engine, {}, lambda *_: None)
            except TerritorialError as exc:
                log.warning("scheduled work: %s", exc.message)
            requeue_stale(engine)
        job = claim(engine, worker=worker, kinds=kinds)
        if job is None:
            if once:
                break
            stop.wait(poll_seconds)
            continue
        log.info("worker %s runs job %s (%s)", worker, job["id"], job["kind"])
        run_job(engine, job)
        ran += 1
    return ran


__all__ = [
    "HANDLERS",
    "STATUSES",
    "JobCancelled",
    "cancel",
    "claim",
    "enqueue",
    "get_job",
    "handler_for",
    "list_jobs",
    "requeue_stale",
    "run_job",
    "run_scheduled_work",
    "run_worker",
]
