"""Routing latency under load: alone, during a design run, during a large import.

For each store (SQLite, then PostgreSQL unless ``--backends sqlite``):

1. a throw-away store with ``--accounts`` accounts (20,000), 50 active reps and
   ``--territories`` routing rules, activated;
2. the server (``uvicorn --factory territorial.api.app:create_app``) in its own process;
3. this process drives it open loop at ``--rate`` single ``POST /api/route`` requests per
   second (latency from each request's scheduled start, so queueing counts), in three
   phases:

   * **alone**: ``--requests`` requests;
   * **during a design run**: a ``territorial design --from-store`` process (another
     process, ``--design-seconds`` of search on the same store) runs while requests go
     on until it ends;
   * **during an import**: a ``territorial import`` process of an accounts file of
     ``--import-rows`` rows (1,000,000; ``--quick`` 100,000) into the same store runs
     while requests go on until it ends.

It prints the machine and the load average at the start and the end of each backend,
and a table of p50/p99/max and errors per phase; the same lines go to
``benchmarks/results/routing_load.txt`` (or ``--out``). Targets (issue 16): p99 under
20 ms alone and under 50 ms during a design run or an import, 0 errors.

    .venv/bin/python benchmarks/routing_load.py            # full: about 10 minutes
    .venv/bin/python benchmarks/routing_load.py --quick    # smaller import, shorter design
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from routing_eval import synthetic_book, synthetic_rules
from routing_http import TOKEN, free_port, lead, machine_line, percentile

RESULTS = Path(__file__).resolve().parent / "results" / "routing_load.txt"
PG_ADMIN = os.environ.get(
    "TERRITORIAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLI = [sys.executable, "-c", "from territorial.cli import main; main()"]


def prepare_store(url: str, *, accounts: int, territories: int, seed: int) -> str:
    """Accounts and reps in the store; returns the rules text to upload."""
    from sqlalchemy import insert

    from territorial.store import open_store
    from territorial.store.tables import accounts as accounts_table
    from territorial.store.tables import reps as reps_table

    book = synthetic_book(accounts, seed)
    book["name"] = "Company " + book["id"]
    book["domain"] = book["id"].str.lower() + ".example.com"
    rng = np.random.default_rng(seed)
    homes = book.sample(50, random_state=seed)
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(insert(accounts_table), book.to_dict(orient="records"))
        conn.execute(
            insert(reps_table),
            [
                {
                    "id": f"REP-{i:03d}",
                    "name": f"Rep {i}",
                    "role": "AE",
                    "home_latitude": float(row.latitude) + float(rng.normal(0, 0.1)),
                    "home_longitude": float(row.longitude) + float(rng.normal(0, 0.1)),
                    "home_state": row.state,
                    "active": True,
                }
                for i, row in enumerate(homes.itertuples())
            ],
        )
    engine.dispose()
    return synthetic_rules(territories, book, seed)


def write_import_file(path: Path, rows: int, seed: int) -> None:
    """An accounts CSV of ``rows`` new accounts (ids that the store does not hold)."""
    book = synthetic_book(rows, seed + 7)
    book["id"] = "IMP-" + book["id"].str.slice(4)
    book["name"] = "Imported " + book["id"]
    book.drop(columns=["latitude", "longitude"]).to_csv(path, index=False)


class Server:
    """The API server in its own process on a free port."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "TERRITORIAL_DATABASE_URL": url,
            "TERRITORIAL_API_TOKEN": TOKEN,
            "TERRITORIAL_HOME": str(workdir),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "territorial.api.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)

    def activate(self, rules: str) -> None:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        created = httpx.post(
            f"{self.base}/api/rules", json={"source": rules}, headers=auth, timeout=300
        )
        created.raise_for_status()
        httpx.post(
            f"{self.base}/api/rules/{created.json()['id']}/activate", headers=auth, timeout=300
        ).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
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


def _request(i: int, rng: np.random.Generator) -> bytes:
    import json

    body = json.dumps({"kind": "lead", "record": lead(i, rng)}).encode()
    return (
        b"POST /api/route HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


async def open_loop_while(
    port: int,
    rate: float,
    *,
    seed: int,
    count: int | None = None,
    running: Callable[[], bool] | None = None,
    connections: int = 64,
    limit: int = 200_000,
) -> tuple[list[float], int]:
    """Requests at ``rate`` per second, ``count`` of them or while ``running()``.

    Latency runs from each request's scheduled start (no coordinated omission); a
    request that fails or answers other than 200 is an error.
    """
    rng = np.random.default_rng(seed)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks = []

    async def one(i: int, request: bytes) -> None:
        nonlocal errors
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await pool.get()
        try:
            if await _post(*conn, request) != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn = await asyncio.open_connection("127.0.0.1", port)
        pool.put_nowait(conn)
        latencies.append((loop.time() - scheduled) * 1000.0)

    i = 0
    while i < limit:
        if count is not None and i >= count:
            break
        if count is None and running is not None and not running():
            break
        tasks.append(asyncio.create_task(one(i, _request(1_000_000 + seed * 100_000 + i, rng))))
        i += 1
        # Create tasks just ahead of their schedule (the check of running() stays current).
        ahead = start + i / rate - loop.time()
        if ahead > 0.05:
            await asyncio.sleep(ahead - 0.05)
    await asyncio.gather(*tasks)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return latencies, errors


def run_phase(
    port: int,
    rate: float,
    seed: int,
    *,
    count: int | None = None,
    other: list[str] | None = None,
    nice: int = 0,
) -> tuple[list[float], int, float, int | None]:
    """One phase; with ``other`` (a command) the load runs while that process runs.

    ``nice`` lowers the other process's CPU priority (``territorial serve`` starts its
    worker at nice 10).
    """
    if other is None:
        lat, err = asyncio.run(open_loop_while(port, rate, seed=seed, count=count))
        return lat, err, 0.0, None
    started = time.perf_counter()
    process = subprocess.Popen(
        other,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=(lambda: os.nice(nice)) if nice and hasattr(os, "nice") else None,
    )
    lat, err = asyncio.run(
        open_loop_while(port, rate, seed=seed, running=lambda: process.poll() is None)
    )
    _, stderr = process.communicate()
    if process.returncode != 0:
        print(f"  (the other process exited {process.returncode}: {stderr.decode()[-400:]})")
    return lat, err, time.perf_counter() - started, process.returncode


def pg_database() -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"territorial_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def bench_backend(backend: str, args: argparse.Namespace, out: list[str]) -> None:
    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    workdir = Path(tempfile.mkdtemp(prefix="territorial-load-"))
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'territorial.db'}"
    else:
        url, drop = pg_database()
    server = None
    try:
        say(f"== {backend}: {machine_line('start')}")
        rules = prepare_store(
            url, accounts=args.accounts, territories=args.territories, seed=args.seed
        )
        import_file = workdir / "accounts.csv"
        write_import_file(import_file, args.import_rows, args.seed)
        server = Server(url, workdir)
        server.activate(rules)
        asyncio.run(open_loop_while(server.port, args.rate, seed=args.seed + 9, count=200))
        db = ["--database", url]
        design = [
            *CLI,
            "design",
            "--from-store",
            "--territories",
            "50",
            "--balance",
            "accounts=5%",
            "--time-limit",
            str(args.design_seconds),
            "--save-as",
            "load benchmark",
            *db,
        ]
        load = [*CLI, "import", str(import_file), "--kind", "accounts", *db]
        phases = [
            ("alone", run_phase(server.port, args.rate, args.seed, count=args.requests)),
            (
                "during a design run",
                run_phase(server.port, args.rate, args.seed + 1, other=design, nice=args.nice),
            ),
            (
                f"during an import of {args.import_rows:,} rows",
                run_phase(server.port, args.rate, args.seed + 2, other=load, nice=args.nice),
            ),
        ]
        say(f"== {backend}: {machine_line('end')}")
        say(
            f"store: {backend}, {args.accounts:,} accounts, 50 reps; rules: "
            f"{args.territories:,} territories; {args.rate:.0f} req/s open loop; every "
            f"decision written to the audit log; design and import at nice {args.nice}"
        )
        say(
            f"{'phase':<34} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8} {'other process':>15}"
        )
        for name, (lat, err, seconds, code) in phases:
            other = "" if code is None else f"{seconds:.0f} s, exit {code}"
            say(
                f"{name:<34} {len(lat):>9,} {err:>7} {percentile(lat, 50):>8.2f} "
                f"{percentile(lat, 99):>8.2f} {max(lat, default=float('nan')):>8.1f} "
                f"{other:>15}"
            )
        say()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--requests", type=int, default=6000, help="requests of the alone phase")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--territories", type=int, default=1000)
    parser.add_argument("--design-seconds", type=float, default=60.0)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000-row import, 20 s design")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--nice",
        type=int,
        default=10,
        help="CPU niceness of the design and import processes (serve's worker: 10)",
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.import_rows = min(args.import_rows, 100_000)
        args.design_seconds = min(args.design_seconds, 20.0)
        args.requests = min(args.requests, 2000)
    out: list[str] = [f"$ benchmarks/routing_load.py {' '.join(sys.argv[1:])}".rstrip()]
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        bench_backend(backend, args, out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
