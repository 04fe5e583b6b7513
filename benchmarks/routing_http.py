"""Routing over HTTP on loopback: latency at a fixed request rate, and batch throughput.

Starts ``uvicorn --factory territorial.api.app:create_app`` in a subprocess on a
throw-away SQLite store (synthetic accounts and rules, activated), then drives it from
this process:

1. an open-loop generator in this (second) process sends ``--requests`` single
   ``POST /api/route`` requests at a fixed ``--rate`` per second (latency measured
   from each request's scheduled start, so a slow server cannot hide behind a slow
   client), reporting median, p95 and p99;
2. ``POST /api/route/batch`` with ``--batch`` records, ``--batches`` times.

Every request writes its decision to the audit log. Loopback only; bounded in count
and time. The server runs uvicorn's defaults (``loop="auto"``, ``http="auto"``): uvloop
and httptools, which are dependencies. The machine and its load average are printed
at the start and the end so readers can judge the noise.

    .venv/bin/python benchmarks/routing_http.py
    .venv/bin/python benchmarks/routing_http.py --rate 200 --requests 3000 --batch 50000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from routing_eval import STATES, cpu_model, synthetic_book, synthetic_rules

TOKEN = "benchmark-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_store(url: str, *, accounts: int, territories: int, seed: int) -> str:
    """Accounts in the store and the rules text to upload."""
    from sqlalchemy import insert

    from territorial.store import open_store
    from territorial.store.tables import accounts as accounts_table

    book = synthetic_book(accounts, seed)
    book["name"] = "Company " + book["id"]
    book["domain"] = book["id"].str.lower() + ".example.com"
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(insert(accounts_table), book.to_dict(orient="records"))
    engine.dispose()
    return synthetic_rules(territories, book, seed)


def lead(i: int, rng: np.random.Generator) -> dict[str, object]:
    s = int(rng.integers(0, len(STATES)))
    return {
        "id": f"L-{i}",
        "company": f"Prospect {i}",
        "email": f"buyer{i}@prospect{i}.com" if i % 4 else f"buyer{i}@gmail.com",
        "state": STATES[s],
        "postal_code": f"{s * 20 + int(rng.integers(0, 20)):03d}{int(rng.integers(0, 100)):02d}",
        "employees": int(rng.lognormal(4.0, 1.6)),
        "industry": "Software",
        "attributes": {"tier": "A" if i % 10 == 0 else "B"},
    }


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One HTTP/1.1 keep-alive POST on an open connection; returns the status code."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def open_loop(
    port: int, rate: float, n: int, seed: int, connections: int = 32
) -> tuple[list[float], int]:
    """Send ``n`` requests at ``rate`` per second; latencies in ms and error count.

    A minimal HTTP/1.1 client on asyncio streams (a pool of keep-alive connections) so
    the load generator costs little CPU next to the server. Each request has a fixed
    scheduled start; latency runs from that start (no coordinated omission).
    """
    rng = np.random.default_rng(seed)
    requests = []
    for i in range(n):
        body = json.dumps({"kind": "lead", "record": lead(i, rng)}).encode()
        requests.append(
            b"POST /api/route HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    for i in range(20):  # warm-up: caches, matcher, connections
        conn = await pool.get()
        await _post(*conn, requests[i % n])
        pool.put_nowait(conn)
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await pool.get()
        try:
            if await _post(*conn, requests[i]) != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn = await asyncio.open_connection("127.0.0.1", port)
        pool.put_nowait(conn)
        latencies.append((loop.time() - scheduled) * 1000.0)

    await asyncio.gather(*(one(i) for i in range(n)))
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return latencies, errors


async def closed_loop(port: int, count: int, seed: int) -> list[float]:
    """``count`` requests one after another on one connection: the service time in ms."""
    rng = np.random.default_rng(seed + 2)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    for i in range(count):
        body = json.dumps({"kind": "lead", "record": lead(100_000 + i, rng)}).encode()
        request = (
            b"POST /api/route HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        t = time.perf_counter()
        await _post(reader, writer, request)
        out.append((time.perf_counter() - t) * 1000.0)
    writer.close()
    return out


def batch_run(base: str, size: int, repeats: int, seed: int) -> list[tuple[float, int]]:
    rng = np.random.default_rng(seed + 1)
    body = json.dumps({"kind": "lead", "records": [lead(i, rng) for i in range(size)]})
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    out = []
    with httpx.Client(base_url=base, timeout=600.0) as client:
        for _ in range(repeats):
            t = time.perf_counter()
            response = client.post("/api/route/batch", content=body, headers=headers)
            elapsed = time.perf_counter() - t
            response.raise_for_status()
            out.append((elapsed, response.json()["count"]))
    return out


def machine_line(when: str) -> str:
    """Cores, CPU, Python, the server's loop and HTTP parser, and the load average now."""
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    one, five, fifteen = os.getloadavg()
    return (
        f"machine ({when}): {os.cpu_count()} cores, {cpu_model()}, "
        f"Python {platform.python_version()}, uvicorn {loop}+{http}, "
        f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    )


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--requests", type=int, default=3000, help="single requests (open loop)")
    parser.add_argument("--batch", type=int, default=50_000, help="records per batch request")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=20_000, help="accounts in the store")
    parser.add_argument("--territories", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--sequential",
        type=int,
        default=300,
        help="requests sent one at a time first (service time)",
    )
    args = parser.parse_args()
    print(machine_line("start"), flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="territorial-http-"))
    url = f"sqlite:///{workdir / 'territorial.db'}"
    rules = prepare_store(url, accounts=args.accounts, territories=args.territories, seed=args.seed)
    port = free_port()
    env = {
        **os.environ,
        "TERRITORIAL_DATABASE_URL": url,
        "TERRITORIAL_API_TOKEN": TOKEN,
        "TERRITORIAL_HOME": str(workdir),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "territorial.api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        created = httpx.post(f"{base}/api/rules", json={"source": rules}, headers=auth, timeout=120)
        created.raise_for_status()
        httpx.post(
            f"{base}/api/rules/{created.json()['id']}/activate", headers=auth, timeout=60
        ).raise_for_status()

        sequential = asyncio.run(closed_loop(port, args.sequential, args.seed))
        latencies, errors = asyncio.run(open_loop(port, args.rate, args.requests, args.seed))
        batches = batch_run(base, args.batch, args.batches, args.seed)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    print(machine_line("end"))
    print(
        f"store: SQLite, {args.accounts:,} accounts; rules: {args.territories:,} territories; "
        "every decision written to the audit log"
    )
    rows = [
        ("sequential: requests", f"{len(sequential):,} one at a time, one connection"),
        ("sequential: median latency", f"{statistics.median(sequential):.2f} ms"),
        ("sequential: p99 latency", f"{percentile(sequential, 99):.2f} ms"),
        ("single: target rate", f"{args.rate:.0f} req/s, {args.requests:,} requests (open loop)"),
        ("single: requests / errors", f"{len(latencies):,} / {errors}"),
        ("single: median latency", f"{statistics.median(latencies):.2f} ms"),
        ("single: p95 latency", f"{percentile(latencies, 95):.2f} ms"),
        ("single: p99 latency", f"{percentile(latencies, 99):.2f} ms"),
        ("single: max latency", f"{max(latencies):.2f} ms"),
    ]
    for i, (elapsed, count) in enumerate(batches, 1):
        rows.append(
            (f"batch {i}: {count:,} records", f"{elapsed:.2f} s = {count / elapsed:,.0f} records/s")
        )
    best = max(count / elapsed for elapsed, count in batches)
    rows.append(("batch: best records/s", f"{best:,.0f}"))
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
