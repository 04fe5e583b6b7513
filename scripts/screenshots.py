"""Screenshots of the workspace's main pages, for docs/screenshots/.

Usage::

    .venv/bin/python scripts/screenshots.py                 # 20k-account sample, 16 reps
    .venv/bin/python scripts/screenshots.py --accounts 5000 --out /tmp/shots

Builds a throw-away store with the generated sample company, saves the CRM owners as
the active plan, runs two designs and a manual move through the library, then serves
the workspace on a free local port and photographs each page with headless Chromium.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))

from web_seed import PASSWORD, load_generated_sample, make_app  # noqa: E402

from territorial.store import open_store  # noqa: E402
from territorial.store.workspace import user_credentials  # noqa: E402
from territorial.web import auth, services  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def prepare(engine, accounts: int, reps: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Sample data, users, an active plan, two designed scenarios and one manual move."""
    load_generated_sample(engine, accounts=accounts, reps=reps, seed=0)
    try:  # real potential, workload and tiers when the scoring library is there
        from territorial.scoring.store_adapter import score_store

        score_store(engine)
    except Exception as exc:  # the workspace falls back to revenue-based stand-ins
        print(f"scoring skipped: {exc}", file=sys.stderr)
    data = services.account_data(engine)
    rep_id = str(data.reps["id"].iloc[0])
    auth.add_user(
        engine, email="planner@example.com", role="planner", password=PASSWORD, name="Pat Planner"
    )
    auth.add_user(
        engine,
        email="rep@example.com",
        role="rep",
        password=PASSWORD,
        rep_id=rep_id,
        name=str(data.reps["name"].iloc[0]),
    )
    found = user_credentials(engine, email="planner@example.com")
    assert found is not None
    planner = found[0]
    owners = services.save_owners_as_plan(engine, planner, name="Current owners")
    services.activate_plan(engine, planner, plan_id=owners)
    plans = {}
    for name, tol, moves in (
        ("Balanced ±10%", 0.10, None),
        ("Low disruption", 0.15, accounts // 10),
    ):
        job = services.start_design(
            engine,
            planner,
            services.DesignRequest(
                name=name,
                measures=("potential", "workload"),
                tolerance=tol,
                n_territories=None,
                max_moves=moves,
                time_limit=20,
            ),
        )
        while job.status not in ("done", "failed"):
            time.sleep(0.2)
        if job.status == "failed":
            raise SystemExit(f"design {name!r} failed: {job.error}")
        assert job.plan_id is not None
        plans[name] = str(job.plan_id)
    view = services.plan_view(engine, int(plans["Balanced ±10%"]))
    moved = view.data.frame["id"].iloc[:3].tolist()
    services.move_accounts(
        engine,
        planner,
        plan_id=int(plans["Balanced ±10%"]),
        account_ids=moved,
        to_territory=view.territory_ids[0],
        lock=True,
    )
    return {"a": plans["Balanced ±10%"], "b": plans["Low disruption"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=16)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(f"sqlite:///{Path(tmp) / 'territorial.db'}")
        plans = prepare(engine, args.accounts, args.reps)
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
        base = f"http://127.0.0.1:{port}/workspace"

        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            for email, shots in (
                (
                    "planner@example.com",
                    [
                        ("map", f"/map?plan={plans['a']}", "#map[data-ready='1']", None),
                        (
                            "map-potential",
                            f"/map?plan={plans['a']}",
                            "#map[data-ready='1']",
                            "potential",
                        ),
                        ("map-zoomed", f"/map?plan={plans['a']}", "#map[data-ready='1']", "zoom"),
                        (
                            "dashboard",
                            f"/dashboard?plan={plans['a']}",
                            "[data-testid=balance]",
                            None,
                        ),
                        ("scenarios", "/scenarios", "[data-testid=scenario-list]", None),
                        (
                            "compare",
                            f"/compare?a={plans['a']}&b={plans['b']}",
                            ".map[data-ready='1'] >> nth=1",
                            None,
                        ),
                    ],
                ),
                ("rep@example.com", [("rep-map", "/map", "#map[data-ready='1']", None)]),
            ):
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(f"{base}/login")
                if email == "planner@example.com":
                    page.screenshot(path=str(args.out / "login.png"))
                page.fill("input[name=email]", email)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url("**/workspace/map*")
                for name, path, ready, extra in shots:
                    page.goto(base + path)
                    page.wait_for_selector(ready, timeout=60_000)
                    if extra == "potential":
                        page.select_option("#color-by", "potential")
                        page.wait_for_timeout(800)
                    if extra == "zoom":
                        page.evaluate("document.querySelector('#map').dataset.ready = '0'")
                        page.dblclick("#map", position={"x": 700, "y": 380})
                        page.wait_for_timeout(600)
                        page.dblclick("#map", position={"x": 500, "y": 400})
                        page.wait_for_timeout(600)
                        page.dblclick("#map", position={"x": 500, "y": 400})
                        page.wait_for_timeout(1500)
                    page.wait_for_timeout(400)
                    page.screenshot(path=str(args.out / f"{name}.png"), full_page=name != "map")
                    print(f"wrote {args.out / (name + '.png')}")
                page.close()
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
