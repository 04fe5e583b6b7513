"""The job queue: jobs are rows; workers claim each once, report progress, finish or fail
with the message; a worker that dies loses nothing; cancellation."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update

from territorial.errors import ConfigError, ConflictError, InfeasibleError
from territorial.planning import jobs
from territorial.store import open_store
from territorial.store.planning import jobs as jobs_table
from territorial.store.planning import utcnow

CALLS: list[dict[str, Any]] = []


def echo_job(engine: Engine, payload: Mapping[str, Any], progress: jobs.Progress) -> dict:
    progress(0.5, "half way")
    CALLS.append(dict(payload))
    if payload.get("fail") == "input":
        raise InfeasibleError("tolerance ±0.1% is tighter than the largest unit")
    if payload.get("fail") == "bug":
        raise ZeroDivisionError("division by zero")
    return {"echo": payload.get("value")}


def slow_job(engine: Engine, payload: Mapping[str, Any], progress: jobs.Progress) -> dict:
    started = payload["started"]
    started.set()
    for _ in range(200):
        progress(0.1, "working")
        threading.Event().wait(0.05)
    return {}


@pytest.fixture
def engine(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setitem(jobs.HANDLERS, "echo", f"{__name__}:echo_job")
    CALLS.clear()
    store = open_store(store_url)
    yield store
    store.dispose()


def test_a_job_runs_to_done(engine: Engine) -> None:
    job_id = jobs.enqueue(engine, kind="echo", payload={"value": 42}, created_by="pat")
    assert jobs.get_job(engine, job_id=job_id)["status"] == "queued"
    assert jobs.run_worker(engine, once=True, scheduled_every=0) == 1
    job = jobs.get_job(engine, job_id=job_id)
    assert (job["status"], job["result"], job["progress"]) == ("done", {"echo": 42}, 1.0)
    assert job["attempts"] == 1 and job["worker"] and job["finished_at"] is not None


def test_failures_keep_the_message(engine: Engine) -> None:
    user_error = jobs.enqueue(engine, kind="echo", payload={"fail": "input"})
    bug = jobs.enqueue(engine, kind="echo", payload={"fail": "bug"})
    jobs.run_worker(engine, once=True, scheduled_every=0)
    first = jobs.get_job(engine, job_id=user_error)
    assert first["status"] == "failed"
    assert first["error"] == "tolerance ±0.1% is tighter than the largest unit"
    second = jobs.get_job(engine, job_id=bug)
    assert second["status"] == "failed" and second["error"].startswith("ZeroDivisionError")


def test_unknown_kind_is_refused(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="unknown job kind"):
        jobs.enqueue(engine, kind="nope", payload={})
    assert jobs.list_jobs(engine) == []


def test_each_job_is_claimed_once(engine: Engine) -> None:
    ids = [jobs.enqueue(engine, kind="echo", payload={"value": i}) for i in range(12)]
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (job := jobs.claim(engine, worker=name)) is not None:
            with lock:
                claimed.append(int(job["id"]))

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids


def test_a_dead_worker_loses_nothing(engine: Engine) -> None:
    job_id = jobs.enqueue(engine, kind="echo", payload={"value": 7})
    job = jobs.claim(engine, worker="host:1")  # ... and the worker dies
    assert job is not None and job["status"] == "running"
    assert jobs.requeue_stale(engine) == 0  # its heartbeat is fresh
    with engine.begin() as conn:
        conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id)
            .values(heartbeat_at=utcnow() - jobs.STALE_AFTER - timedelta(seconds=1))
        )
    assert jobs.requeue_stale(engine) == 1
    assert jobs.get_job(engine, job_id=job_id)["status"] == "queued"
    jobs.run_worker(engine, once=True, scheduled_every=0)
    job = jobs.get_job(engine, job_id=job_id)
    assert (job["status"], job["attempts"], job["result"]) == ("done", 2, {"echo": 7})


def test_cancel(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    queued = jobs.enqueue(engine, kind="echo", payload={})
    assert jobs.cancel(engine, job_id=queued)["status"] == "cancelled"
    with pytest.raises(ConflictError):
        jobs.cancel(engine, job_id=queued)
    # a running job stops at its next progress report
    monkeypatch.setitem(jobs.HANDLERS, "slow", f"{__name__}:slow_job")
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    started = threading.Event()
    running = jobs.enqueue(engine, kind="slow", payload={})
    job = jobs.claim(engine)
    assert job is not None
    job = {**job, "payload": {"started": started}}
    thread = threading.Thread(target=jobs.run_job, args=(engine, job))
    thread.start()
    started.wait(5)
    jobs.cancel(engine, job_id=running)
    thread.join(10)
    assert jobs.get_job(engine, job_id=running)["status"] == "cancelled"
    assert CALLS == []  # the echo job never ran
