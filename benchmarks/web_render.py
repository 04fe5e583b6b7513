"""Workspace map in Chromium with the sample company: map ready, hover, move + balance.

Usage::

    .venv/bin/python benchmarks/web_render.py                  # 100k accounts, 200 reps
    .venv/bin/python benchmarks/web_render.py --accounts 5000 --reps 30 --runs 3

Builds (once, cached under --cache) a SQLite store with the generated sample company and
its CRM owners saved as a draft plan (one territory per owning rep), serves the workspace
with uvicorn on a free local port and measures in headless Chromium (Debian's):

* **map ready**: navigation to ``#map[data-ready=1]`` (base map, territory areas, account
  clusters drawn); first load after log-in, then the median of the next ones;
* **hover**: a ``mousemove`` over the map until the tooltip is in the page and the next
  frame is painted, measured inside the page, median and worst over points on a grid;
* **move + balance**: clicking Move with one account selected until the balance panel is
  redrawn with the new figures (includes the server's move and the panel's HTML).

Targets (issue 15): 100k accounts, 200 territories: map ready < 1.5 s, hover < 50 ms,
move + balance redraw < 300 ms. The load average is printed with the figures.
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

import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))

from web_seed import PASSWORD, load_generated_sample, make_app  # noqa: E402

from territorial.store import open_store  # noqa: E402
from territorial.store.workspace import get_user  # noqa: E402
from territorial.web import auth, services  # noqa: E402

CHROMIUM = "/usr/bin/chromium"

HOVER_JS = """async ([x, y]) => {
    const el = document.querySelector('#map');
    const target = document.elementFromPoint(x, y);
    const tips = () => document.querySelectorAll('.leaflet-tooltip').length;
    const before = tips();
    const t0 = performance.now();
    target.dispatchEvent(new MouseEvent('mousemove', {clientX: x, clientY: y, bubbles: true}));
    await new Promise((r) => requestAnimationFrame(() => r()));
    const answered = tips() > 0;
    return [performance.now() - t0, answered, before];
}"""


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}; load {load}"


def build_store(path: Path, accounts: int, reps: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = open_store(f"sqlite:///{path}")
    print(f"building the sample store ({accounts:,} accounts) at {path} ...", file=sys.stderr)
    load_generated_sample(engine, accounts=accounts, reps=reps, seed=0)
    auth.add_user(engine, email="planner@example.com", role="planner", password=PASSWORD)
    services.save_owners_as_plan(
        engine, get_user(engine, email="planner@example.com"), name="Owners"
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/territorial-bench"))
    args = parser.parse_args()

    db = args.cache / f"web_{args.accounts}_{args.reps}.db"
    build_store(db, args.accounts, args.reps)
    engine = open_store(f"sqlite:///{db}")
    plan = services.list_plans(engine)[-1]["id"]
    view = services.plan_view(engine, plan)
    base, server, thread = serve(engine)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/workspace/login")
        page.fill("input[name=email]", "planner@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/workspace/")

        ready = []
        for _ in range(args.runs):
            start = time.perf_counter()
            page.goto(f"{base}/workspace/map?plan={plan}")
            page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
            ready.append(time.perf_counter() - start)

        box = page.locator("#map").bounding_box()
        hovers, answered = [], 0
        for i in range(1, 8):
            for j in range(1, 6):
                x, y = box["x"] + box["width"] * i / 8, box["y"] + box["height"] * j / 6
                ms, hit, _ = page.evaluate(HOVER_JS, [x, y])
                hovers.append(ms)
                answered += bool(hit)

        moves = []
        ids = view.data.frame["id"].to_numpy()[view.codes >= 0]
        for run in range(args.runs):
            page.fill("[data-testid=account-search]", str(ids[run]))
            page.wait_for_selector(f"#account-results input[value='{ids[run]}']")
            page.check(f"#account-results input[value='{ids[run]}']")
            target = view.territory_ids[(run + 1) % view.k]
            page.select_option("[data-testid=move-to]", target)
            page.evaluate(
                """() => { window.__redrawn = false;
                new MutationObserver(() => { window.__redrawn = true; })
                  .observe(document.querySelector('#balance-panel'), {childList: true}); }"""
            )
            start = time.perf_counter()
            page.click("[data-testid=move-btn]")
            page.wait_for_function("() => window.__redrawn === true", timeout=60_000)
            moves.append(time.perf_counter() - start)
            page.wait_for_selector("[data-testid=undo-btn]:not([disabled])")
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)

    print(f"Workspace map in Chromium: {args.accounts:,} accounts, {view.k} territories")
    print(f"machine: {machine()}")
    print(f"{'measure':<34} {'first':>9} {'median':>9} {'worst':>9} target")
    print(
        f"{'map ready (s)':<34} {ready[0]:>9.3f} {statistics.median(ready[1:] or ready):>9.3f}"
        f" {max(ready):>9.3f} < 1.5 s"
    )
    print(
        f"{'hover answered (ms)':<34} {hovers[0]:>9.1f} {statistics.median(hovers):>9.1f}"
        f" {max(hovers):>9.1f} < 50 ms ({answered}/{len(hovers)} points had a tooltip)"
    )
    print(
        f"{'move + balance redrawn (s)':<34} {moves[0]:>9.3f} {statistics.median(moves):>9.3f}"
        f" {max(moves):>9.3f} < 0.3 s"
    )
    if errors:
        print(f"console errors: {errors[:3]}")


if __name__ == "__main__":
    main()
