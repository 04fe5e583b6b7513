"""In real Chromium: the API pages render offline and no workspace page breaks its CSP.

Every request must go to the local server (others are aborted and recorded), and the
console must show no error: a Content-Security-Policy violation is reported there.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from web_seed import PASSWORD, make_app, seed_company, seed_users

from territorial.store import open_store

pytestmark = pytest.mark.browser
playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
LOCAL = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("csp") / "territorial.db"
    engine = open_store(f"sqlite:///{db}")
    seed_company(engine, n_accounts=300)
    seed_users(engine)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = uvicorn.Server(
        uvicorn.Config(make_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Watch:
    """A page that records requests leaving the server and console errors."""

    def __init__(self, browser: Any) -> None:
        self.foreign: list[str] = []
        self.errors: list[str] = []
        context = browser.new_context(viewport={"width": 1300, "height": 850})
        context.route("**/*", self._guard)
        self.page = context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    def _guard(self, route: Any, request: Any) -> None:
        if request.url.startswith(("data:", "blob:", "about:")) or (
            urlparse(request.url).hostname in LOCAL
        ):
            route.continue_()
        else:
            self.foreign.append(request.url)
            route.abort()


def test_swagger_ui_and_redoc_render_offline(server: str, browser: Any) -> None:
    watch = Watch(browser)
    watch.page.goto(f"{server}/docs")
    watch.page.wait_for_selector(".swagger-ui .opblock-tag", timeout=30_000)
    assert "route" in watch.page.inner_text(".swagger-ui")
    watch.page.goto(f"{server}/redoc")
    watch.page.wait_for_selector("h1", timeout=30_000)
    assert "Territorial" in watch.page.inner_text("h1")
    icon = watch.page.request.get(f"{server}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/png"
    assert watch.foreign == []
    assert [e for e in watch.errors if "Content Security Policy" in e or "Refused" in e] == []


def test_workspace_pages_raise_no_csp_violation(server: str, browser: Any) -> None:
    watch = Watch(browser)
    page = watch.page
    page.goto(f"{server}/workspace/login")
    page.fill("input[name=email]", "planner@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/workspace/$"))  # each role's home page
    page.goto(f"{server}/workspace/map")
    page.wait_for_selector("#map[data-ready='1']")
    # (the rep plan page needs scores, which this store has not: tests/repplan covers it)
    for path in ("dashboard", "scenarios", "compare", "audit", "performance", "flags"):
        page.goto(f"{server}/workspace/{path}")
        page.wait_for_load_state("networkidle")
    # The plan picker submits on change through forms.js, not an inline handler.
    page.goto(f"{server}/workspace/dashboard")
    picker = page.locator("[data-testid=plan-picker]")
    if picker.count() and picker.locator("option").count() > 1:
        value = picker.locator("option").nth(1).get_attribute("value")
        picker.select_option(value)
        page.wait_for_url(re.compile(r".*plan=.*"))
    assert watch.foreign == []
    assert watch.errors == [], watch.errors
