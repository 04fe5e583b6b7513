"""Workspace render times with the 100k-account sample: server response and browser load.

Usage::

    .venv/bin/python benchmarks/web_render.py                  # 100k accounts, 40 reps
    .venv/bin/python benchmarks/web_render.py --accounts 20000 --runs 3

Builds (once, cached under --cache) a SQLite store with the generated sample company,
starts the workspace with uvicorn on a free local port and measures, for the map and
the balance dashboard:

* server: wall time of the page's HTML and of each JSON call it makes (cold = first
  call after start and log-in, which waits for the 100k accounts to be read while the
  log-in's background warm-up runs; warm = median of the next runs);
* browser: headless Chromium (Playwright) from navigation to the page being usable
  (``load`` event for the dashboard; map drawn: base map, territories and account
  clusters, signalled by ``#map[data-ready=1]``).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))

from web_seed import PASSWORD, load_generated_sample, make_app  # noqa: E402

from territorial.store import open_store  # noqa: E402
from territorial.web import auth  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def build_store(path: Path, accounts: int, reps: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = open_store(f"sqlite:///{path}")
    print(f"building the sample store ({accounts:,} accounts) at {path} ...", file=sys.stderr)
    load_generated_sample(engine, accounts=accounts, reps=reps, seed=0)
    auth.add_user(engine, email="planner@example.com", role="planner", password=PASSWORD)
    engine.dispose()


def serve(engine) -> tuple[str, uvicorn.Server, threading.Thread]:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(make_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def timed(client: httpx.Client, url: str) -> tuple[float, int]:
    start = time.perf_counter()
    r = client.get(url)
    r.raise_for_status()
    return time.perf_counter() - start, len(r.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/territorial-bench"))
    args = parser.parse_args()

    db = args.cache / f"web_{args.accounts}_{args.reps}.db"
    build_store(db, args.accounts, args.reps)
    engine = open_store(f"sqlite:///{db}")
    base, server, thread = serve(engine)

    client = httpx.Client(base_url=base, headers={"accept-encoding": "gzip"}, timeout=120)
    login = client.get("/workspace/login")
    token = login.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/workspace/login",
        data={"email": "planner@example.com", "password": PASSWORD, "csrf_token": token},
    )
    urls = {
        "map page (HTML)": "/workspace/map",
        "dashboard page (HTML)": "/workspace/dashboard",
        "accounts.geojson (zoom 4, US)": "/workspace/api/accounts.geojson?zoom=4"
        "&bbox=-135,22,-57,52&color=territory",
        "accounts.geojson (zoom 10, points)": "/workspace/api/accounts.geojson?zoom=10"
        "&bbox=-74.1,40.6,-73.8,40.9",
        "territory-counties (regions)": "/workspace/api/territory-counties",
        "territories.geojson (hulls)": "/workspace/api/territories.geojson",
        "states-10m.json (gzip)": "/workspace/basemap/states-10m.json",
    }
    rows = []
    for label, url in urls.items():
        cold, size = timed(client, url)
        warm = statistics.median(timed(client, url)[0] for _ in range(args.runs))
        rows.append((label, cold, warm, size))

    browser_rows = []
    if Path(CHROMIUM).exists():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            cookie = client.cookies.get("territorial_session")
            context.add_cookies([{"name": "territorial_session", "value": cookie, "url": base}])
            page = context.new_page()
            for label, path, ready in (
                ("map (drawn)", "/workspace/map", "#map[data-ready='1']"),
                ("dashboard (load event)", "/workspace/dashboard", "[data-testid=balance]"),
            ):
                times = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    page.goto(base + path, wait_until="load")
                    page.wait_for_selector(ready, timeout=30_000)
                    times.append(time.perf_counter() - start)
                browser_rows.append((label, times[0], statistics.median(times[1:] or times)))
            browser.close()

    server.should_exit = True
    thread.join(timeout=10)
    print(f"Workspace render times, {args.accounts:,} accounts, {args.reps} reps")
    print(f"machine: {machine()}")
    print()
    print(f"{'server request':<38} {'cold s':>8} {'warm s':>8} {'bytes':>10}")
    for label, cold, warm, size in rows:
        print(f"{label:<38} {cold:>8.3f} {warm:>8.3f} {size:>10,}")
    if browser_rows:
        print()
        print(f"{'browser (Chromium, headless)':<38} {'first s':>8} {'median s':>8}")
        for label, first, med in browser_rows:
            print(f"{label:<38} {first:>8.3f} {med:>8.3f}")
    else:
        print("\n(no /usr/bin/chromium: browser times skipped)")


if __name__ == "__main__":
    main()
