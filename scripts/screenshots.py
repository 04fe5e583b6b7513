"""Screenshots of every workspace page, per role, for docs/screenshots/.

Usage::

    .venv/bin/python scripts/screenshots.py                 # 20k-account sample, 24 reps
    .venv/bin/python scripts/screenshots.py --accounts 5000 --out /tmp/shots

Builds a throw-away store with the generated sample company and scores it, then runs the
cycle through the library: the CRM owners saved, submitted, approved and activated; a
designed scenario submitted for approval; a move on the active plan (which makes a
draft). It serves the workspace on a free local port and photographs each page as the
planner, the admin, a manager and a rep with headless Chromium (Debian's).
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))

from web_seed import PASSWORD, load_generated_sample, make_app  # noqa: E402

from territorial.goals.performance import data_as_of, load_extract  # noqa: E402
from territorial.goals.periods import parse_period  # noqa: E402
from territorial.goals.quotas import plan_quotas, save_quotas, suggested_target  # noqa: E402
from territorial.planning import jobs, lifecycle  # noqa: E402
from territorial.planning.activation import activate  # noqa: E402
from territorial.store import open_store  # noqa: E402
from territorial.store.workspace import get_user  # noqa: E402
from territorial.web import auth, services  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
#: Where the lasso is photographed while being drawn (set from --out in main).
LASSO_DRAWING = Path("map-lasso-drawing.png")
log = logging.getLogger("screenshots")


def prepare(engine, accounts: int, reps: int, time_limit: float) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Sample data, users of every role, an active plan, a scenario awaiting approval and
    a draft made by a move on the active plan."""
    load_generated_sample(engine, accounts=accounts, reps=reps, seed=0)
    from territorial.scoring.store_adapter import score_store

    score_store(engine)
    data = services.account_data(engine)
    managed = data.reps["manager_id"].dropna()
    manager_id = str(managed.mode().iloc[0]) if len(managed) else None
    rep_row = data.reps[data.reps["manager_id"] == manager_id].iloc[0]
    users = [
        ("admin@example.com", "admin", None, "Alex Admin"),
        ("planner@example.com", "planner", None, "Pat Planner"),
        ("manager@example.com", "manager", manager_id, "Morgan Manager"),
        ("rep@example.com", "rep", str(rep_row["id"]), str(rep_row["name"])),
    ]
    for email, role, rep_id, name in users:
        auth.add_user(engine, email=email, role=role, password=PASSWORD, rep_id=rep_id, name=name)
    planner = get_user(engine, email="planner@example.com")
    admin = lifecycle.actor_for(engine, "admin@example.com")
    author = lifecycle.actor_for(engine, "planner@example.com")
    # the design form's request, run as the worker would (one job, this thread)
    queued = services.start_design(
        engine,
        planner,
        name="Territories FY26",
        options={
            "balance": {"potential": 0.05, "workload_hours": 0.05},
            "unit": "county",  # the form's default: territories of whole (or split) counties
            "time_limit": time_limit,
            # the sample's reps carry about a tenth of the accounts their capacity allows
            "capacity": False,
        },
    )
    job = jobs.claim(engine, kinds=("design",))
    if job is None or int(job["id"]) != int(queued["id"]):
        raise SystemExit(f"design job {queued['id']} was not claimed")
    done = jobs.run_job(engine, job)
    if done["status"] != "done" or not (done.get("result") or {}).get("plan_id"):
        raise SystemExit(f"design failed: {done.get('error')}")
    active = int(done["result"]["plan_id"])
    lifecycle.submit(engine, plan_id=active, actor=author)
    lifecycle.approve(engine, plan_id=active, actor=admin)
    activate(engine, plan_id=active, actor=admin)
    # quotas for the data's fiscal year on the active plan: attainment and signals show
    year = data_as_of(load_extract(engine)).year
    quotas = plan_quotas(engine, target=quota_target(engine, year), period=f"FY{year}")
    save_quotas(engine, result=quotas, name=f"FY{year} quotas")
    # the CRM owners as a scenario someone submitted, to compare and approve
    owners = services.save_owners_as_plan(engine, planner, name="CRM owners as they are")
    lifecycle.submit(engine, plan_id=owners, actor=author, note="for comparison")
    view = services.plan_view(engine, active)
    moved = services.move_accounts(
        engine,
        planner,
        plan_id=active,
        account_ids=view.data.frame["id"][view.codes >= 0].iloc[:3].tolist(),
        to_territory=view.territory_ids[0],
        lock=True,
    )
    return {"active": str(active), "design": str(owners), "draft": str(moved["plan_id"])}


def quota_target(engine, year: int) -> float:  # type: ignore[no-untyped-def]
    """The fiscal year's suggested company target (the year before's bookings plus 15%)."""
    return suggested_target(engine, period=parse_period(f"FY{year}", fiscal_start_month=1))


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
    return f"http://127.0.0.1:{port}/workspace", server, thread


def shots_for(plans: dict[str, str]) -> dict[str, list[tuple[str, str, str, str | None]]]:
    """Per user: (file name, path, selector that says the page is ready, extra step)."""
    drawn = "#map[data-ready='1']"
    return {
        "planner@example.com": [
            ("planner-home", "/", "[data-testid=home-planner]", None),
            ("map", "/map", drawn, None),
            ("map-zoomed", "/map", drawn, "zoom"),
            ("map-hover", "/map", drawn, "hover"),
            ("map-draft-selection", f"/map?plan={plans['draft']}", drawn, "select"),
            ("map-potential", "/map", drawn, "potential"),
            ("map-attainment", "/map", drawn, "attainment"),
            ("map-signals", "/map", drawn, "signals"),
            ("map-lasso", f"/map?plan={plans['draft']}", drawn, "lasso"),
            ("dashboard", f"/dashboard?plan={plans['design']}", "[data-testid=balance]", None),
            ("scenarios", "/scenarios", "main", None),
            (
                "compare",
                f"/compare?a={plans['active']}&b={plans['design']}",
                ".map[data-ready='1'] >> nth=1",
                None,
            ),
            ("audit", "/audit", "main", None),
            ("not-found", "/map?plan=999999", "[data-testid=error-page]", None),
        ],
        "admin@example.com": [
            ("admin-home", "/", "[data-testid=home-admin]", None),
            ("users", "/users", "main", None),
            ("tokens", "/tokens", "main", None),
        ],
        "manager@example.com": [
            ("manager-home", "/", "[data-testid=home-manager]", None),
            ("manager-map", "/map", drawn, None),
        ],
        "rep@example.com": [
            ("rep-home", "/", "[data-testid=home-rep]", None),
            ("rep-map", "/map", drawn, None),
            ("forbidden", "/scenarios", "[data-testid=error-page]", None),
        ],
    }


def extra_step(page, extra: str | None) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("#map").bounding_box() if extra else None
    if extra in ("potential", "attainment", "signals"):
        page.select_option("#color-by", extra)
        page.wait_for_selector(f"#map[data-colored='{extra}']", timeout=60_000)
        page.wait_for_timeout(500)
    elif extra == "lasso" and box:
        # a free-form loop around the middle of the country (a star-like outline)
        import math

        page.click("[data-testid=lasso]")
        cx, cy = box["x"] + box["width"] * 0.52, box["y"] + box["height"] * 0.5
        ring = [
            (cx + r * math.cos(a) * 1.4, cy + r * math.sin(a))
            for i in range(24)
            for a, r in [(2 * math.pi * i / 24, 120 if i % 2 else 80)]
        ]
        page.mouse.move(*ring[0])
        page.mouse.down()
        for x, y in ring[1:] + ring[:1]:
            page.mouse.move(x, y, steps=3)
        # show the loop while it is drawn, then let go
        page.screenshot(path=str(LASSO_DRAWING))
        page.mouse.up()
        page.wait_for_selector("[data-testid=move-status]:has-text('in the lasso')")
        page.mouse.move(box["x"] + box["width"] + 40, box["y"] + 40)  # no tooltip in the shot
        page.wait_for_timeout(500)
    elif extra == "zoom" and box:
        page.evaluate("() => { document.querySelector('#map')._map.setView([40.2, -75.5], 7); }")
        page.wait_for_timeout(2000)
    elif extra == "hover" and box:
        # hover the middle of the map until a territory tooltip shows
        for dx, dy in ((0.5, 0.5), (0.45, 0.55), (0.6, 0.45), (0.35, 0.4)):
            page.mouse.move(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
            page.wait_for_timeout(250)
            if page.locator(".leaflet-tooltip").count():
                break
    elif extra == "select" and box:
        page.click("[data-testid=select-area]")
        x0, y0 = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.35
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x0 + 120, y0 + 90, steps=5)
        page.mouse.up()
        page.wait_for_selector("[data-testid=move-status]:has-text('Selected')")
        page.wait_for_timeout(500)


def plan_pages(engine, rep_email: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    """The first two pages of the rep's plan PDF (as ``territorial rep-plan`` writes it),
    rendered by poppler's pdftoppm: rep-plan-title.png and rep-plan-targets.png."""
    from territorial.repplan import rep_plan
    from territorial.repplan.pdf import pdf_bytes

    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm is not installed (Debian: apt-get install poppler-utils)")
    rep_id = get_user(engine, email=rep_email).rep_id
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "plan.pdf"
        pdf.write_bytes(pdf_bytes(rep_plan(engine, rep_id=str(rep_id))))
        for number, name in ((1, "rep-plan-title"), (2, "rep-plan-targets")):
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", "-f", str(number), "-l", str(number),
                 "-singlefile", str(pdf), str(out / name)],
                check=True,
            )  # fmt: skip
            log.info("wrote %s", out / f"{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=24)
    parser.add_argument("--time-limit", type=float, default=15.0, help="design seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    global LASSO_DRAWING
    LASSO_DRAWING = args.out / "map-lasso-drawing.png"

    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(f"sqlite:///{Path(tmp) / 'territorial.db'}")
        plans = prepare(engine, args.accounts, args.reps, args.time_limit)
        base, server, thread = serve(engine)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            for email, shots in shots_for(plans).items():
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(f"{base}/login")
                if email == "planner@example.com":
                    page.screenshot(path=str(args.out / "login.png"))
                page.fill("input[name=email]", email)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(re.escape(base) + r"/(plan)?$"))  # reps: their plan
                for name, path, ready, extra in shots:
                    page.goto(base + path)
                    page.wait_for_selector(ready, timeout=60_000)
                    extra_step(page, extra)
                    page.wait_for_timeout(300)
                    full = not name.startswith(("map", "manager-map", "rep-map"))
                    page.screenshot(path=str(args.out / f"{name}.png"), full_page=full)
                    log.info("wrote %s", args.out / f"{name}.png")
                page.close()
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)
        plan_pages(engine, "rep@example.com", args.out)


if __name__ == "__main__":
    main()
