"""The performance pages in real headless Chromium: leader, manager and rep views, the
sortable table, the trend chart and the downloads; nothing leaves the local server.

Set ``TERRITORIAL_SCREENSHOTS=folder`` to keep PNGs of the three views."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import uvicorn

pytestmark = pytest.mark.browser
playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "goals-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sample_files: Path) -> Iterator[str]:
    from territorial.api.app import create_app
    from territorial.goals.quotas import plan_quotas, save_quotas
    from territorial.goals.smart import apply_derived, derive_targets
    from territorial.io import import_paths
    from territorial.scoring.store_adapter import score_store
    from territorial.settings import load_settings
    from territorial.store import open_store
    from territorial.web import auth

    home = tmp_path_factory.mktemp("home")
    url = f"sqlite:///{home / 'territorial.db'}"
    engine = open_store(url)
    import_paths([sample_files], engine=engine)
    score_store(engine)
    save_quotas(engine, result=plan_quotas(engine, target=6_000_000, period="FY2026"))
    apply_derived(engine, targets=derive_targets(engine))
    import pandas as pd

    reps = pd.read_csv(sample_files / "reps.csv")
    manager = str(reps.loc[reps["role"] == "Manager", "id"].iloc[0])
    rep = str(reps.loc[reps["manager_id"] == manager, "id"].iloc[0])
    for email, role, rep_id in [
        ("leader@example.com", "admin", None),
        ("manager@example.com", "manager", manager),
        ("rep@example.com", "rep", rep),
    ]:
        auth.add_user(engine, email=email, role=role, password=PASSWORD, rep_id=rep_id)
    settings = load_settings(database_url=url, home=str(home))
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}|{rep}|{manager}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _page(browser, foreign: list[str], errors: list[str]):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on(
        "request",
        lambda r: (
            None
            if urlparse(r.url).hostname in ("127.0.0.1", "localhost")
            or r.url.startswith(("data:", "about:"))
            else foreign.append(r.url)
        ),
    )
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def _log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/workspace/login?next=/workspace/performance")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/workspace/performance.*"))


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("TERRITORIAL_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_leader_manager_and_rep_views(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    base, rep, manager = server.split("|")
    foreign: list[str] = []
    errors: list[str] = []

    page = _page(browser, foreign, errors)
    _log_in(page, base, "leader@example.com")
    rows = page.locator("[data-testid=standings] tbody tr")
    assert rows.count() >= 5
    assert "Performance · all territories" in page.inner_text("h1")
    # Sort by bookings (descending): the first row has the largest bookings.
    page.click("[data-testid=standings] thead th:nth-child(4)")
    values = page.eval_on_selector_all(
        "[data-testid=standings] tbody tr td:nth-child(4)",
        "cells => cells.map(c => Number(c.dataset.value))",
    )
    assert values == sorted(values, reverse=True)
    _shot(page, "performance-leader")
    download = page.request.get(f"{base}/workspace/performance/standings.xlsx")
    assert download.ok and download.body()[:2] == b"PK"

    page = _page(browser, foreign, errors)
    _log_in(page, base, "manager@example.com")
    assert f"team {manager}" in page.inner_text("h1")
    keys = page.eval_on_selector_all(
        "[data-testid=standings] tbody tr td:first-child",
        "cells => cells.map(c => c.dataset.value)",
    )
    assert rep in keys
    _shot(page, "performance-manager")

    page = _page(browser, foreign, errors)
    _log_in(page, base, "rep@example.com")
    assert page.url.endswith(f"/workspace/performance/rep/{rep}")
    assert page.locator("[data-testid=goals] tbody tr").count() >= 3
    assert page.evaluate(
        "() => document.querySelector('img.trend').complete && "
        "document.querySelector('img.trend').naturalWidth > 0"
    )
    other = page.request.get(f"{base}/workspace/performance/rep/{manager}")
    assert other.status == 403
    _shot(page, "performance-rep")
    assert foreign == []
    assert errors == []


def test_market_page_sorts_and_is_not_for_reps(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    base, _, _ = server.split("|")
    foreign: list[str] = []
    errors: list[str] = []
    page = _page(browser, foreign, errors)
    _log_in(page, base, "leader@example.com")
    page.click("[data-testid=nav] a:has-text('Market')")
    page.wait_for_url(re.compile(r".*/workspace/market$"))
    rows = page.locator("[data-testid=market] tbody tr")
    assert rows.count() >= 5
    assert page.locator("[data-testid=products] tbody tr").count() >= rows.count()
    # Sort by white space (descending), then by territory (text).
    page.click("[data-testid=market] thead th:nth-child(6)")
    values = page.eval_on_selector_all(
        "[data-testid=market] tbody tr td:nth-child(6)",
        "cells => cells.map(c => Number(c.dataset.value))",
    )
    assert values == sorted(values, reverse=True)
    page.select_option("select[name=by]", "state")
    page.click("[data-testid=market-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*by=state.*"))
    assert "Market per state" in page.inner_text("h1")
    _shot(page, "market-leader")

    page = _page(browser, foreign, errors)
    _log_in(page, base, "rep@example.com")
    assert page.locator("[data-testid=nav] a:has-text('Market')").count() == 0
    assert page.request.get(f"{base}/workspace/market").status == 403
    assert foreign == []
    assert errors == []
