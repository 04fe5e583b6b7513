"""End to end in real headless Chromium: log in, map, design, move, balance, compare, rep scope.

Every request the pages make must go to the local server: a route handler aborts and
records anything else, and the module fails if one was seen.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import uvicorn
from web_seed import PASSWORD, make_app, seed_company, seed_users

from territorial.store import open_store

pytestmark = pytest.mark.browser

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("web") / "territorial.db"
    engine = open_store(f"sqlite:///{db}")
    seed_company(engine, n_accounts=500)
    seed_users(engine)
    port = _free_port()
    config = uvicorn.Config(make_app(engine), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    # the worker `territorial serve` starts: design jobs are rows it runs
    from territorial.planning.jobs import run_worker

    stop_worker = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(engine,),
        kwargs={"stop": stop_worker, "poll_seconds": 0.2, "scheduled_every": 0},
        daemon=True,
    )
    worker.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    stop_worker.set()
    thread.join(timeout=10)
    worker.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def foreign() -> list[str]:
    """URLs of requests that tried to leave the local server (must stay empty)."""
    return []


def _page(browser, foreign: list[str]):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900})

    def guard(route, request) -> None:  # type: ignore[no-untyped-def]
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            foreign.append(request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on(
        "request",
        lambda r: (
            None
            if urlparse(r.url).hostname in LOCAL_HOSTS
            or r.url.startswith(("data:", "blob:", "about:"))
            else foreign.append(r.url)
        ),
    )
    return page


def _log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/workspace/map")
    assert "/workspace/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/workspace/map.*"))
    page.wait_for_selector("#map[data-ready='1']")


_ACCOUNTS_JS = """([territory, expected]) => {
    const cell = document.querySelector(
        `#balance-panel tr[data-territory='${territory}'] td[data-measure='accounts']`);
    return cell !== null && Number(cell.dataset.value) === expected;
}"""


def _cell(page, territory: str, measure: str) -> float:  # type: ignore[no-untyped-def]
    sel = f"#balance-panel tr[data-territory='{territory}'] td[data-measure='{measure}']"
    return float(page.get_attribute(sel, "data-value"))


def _run_design(page, base: str, name: str, tolerance: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/workspace/scenarios")
    page.fill("input[name=name]", name)
    # the seeded company is not scored: balance accounts and revenue
    page.uncheck("input[name=balance][value=potential]")
    page.uncheck("input[name=balance][value=workload_hours]")
    page.check("input[name=balance][value=accounts]")
    page.fill("input[name=tolerance-accounts]", tolerance)
    page.fill("input[name=time_limit]", "5")
    page.click("[data-testid=run-design]")
    link = page.wait_for_selector("[data-testid=job-result]", timeout=60_000)
    href = link.get_attribute("href")
    assert href and "plan=" in href
    return href.split("plan=")[1]


def test_planner_designs_moves_and_compares(server: str, browser, foreign: list[str]) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, foreign)
    _log_in(page, server, "planner@example.com")
    assert "accounts in view" in page.inner_text("[data-testid=map-status]")
    assert page.locator("#map .leaflet-overlay-pane path, #map canvas").count() > 0

    first = _run_design(page, server, "Balanced 10%", "10")
    second = _run_design(page, server, "Balanced 5%", "5")

    # move an account on the first scenario's map and watch the balance change
    page.goto(f"{server}/workspace/map?plan={first}")
    page.wait_for_selector("#map[data-ready='1']")
    page.fill("[data-testid=account-search]", "Company 0001")
    row = page.wait_for_selector("#account-results tr[data-id='A0001']")
    current = row.query_selector(".terr").inner_text().strip()
    designed = row.query_selector(".why").inner_text()  # the design's reason, on the account
    assert designed.startswith("why: ") and "moved by hand" not in designed
    options = page.eval_on_selector_all("#move-to option", "os => os.map(o => [o.value, o.text])")
    target, _ = next((v, t) for v, t in options if t != current)
    before = _cell(page, target, "accounts")
    row.query_selector("input[type=checkbox]").check()
    page.select_option("[data-testid=move-to]", target)
    page.check("#move-lock")
    page.click("[data-testid=move-btn]")
    page.wait_for_selector("[data-testid=move-status]:has-text('Moved 1')")
    page.wait_for_function(_ACCOUNTS_JS, arg=[target, before + 1])
    assert _cell(page, target, "accounts") == before + 1
    assert page.inner_text("[data-testid=moved]").strip() not in ("", "-")
    page.wait_for_selector(
        "#account-results tr[data-id='A0001'] .why:has-text('moved by hand by planner@example.com')"
    )
    page.click("[data-testid=undo-btn]")
    page.wait_for_selector("[data-testid=move-status]:has-text('Undid')")
    page.wait_for_function(_ACCOUNTS_JS, arg=[target, before])
    page.wait_for_selector(f"#account-results tr[data-id='A0001'] .why:has-text('{designed[5:]}')")

    # the dashboard draws one SVG bar per territory and measure
    page.goto(f"{server}/workspace/dashboard?plan={first}")
    assert page.locator("[data-testid=balance] svg").count() == 10 * 4

    # compare the two scenarios side by side
    page.goto(f"{server}/workspace/compare?a={first}&b={second}")
    page.wait_for_selector(".map[data-ready='1'] >> nth=1")
    assert page.locator("[data-testid=compare-table] tbody tr").count() == 10
    assert "accounts change territory" in page.inner_text("[data-testid=compare-moved]")
    page.context.close()
    assert foreign == [], f"requests left the local server: {foreign[:5]}"


def test_rep_sees_only_their_own_accounts(server: str, browser, foreign: list[str]) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, foreign)
    _log_in(page, server, "ana@example.com")
    assert page.locator("a[href='/workspace/scenarios']").count() == 0
    page.wait_for_selector("#account-results tr")
    territories = set(
        page.eval_on_selector_all("#account-results .terr", "es => es.map(e => e.innerText)")
    )
    assert territories == {"Ana Ortiz"}
    # Ben's accounts do not exist for Ana, whichever way she asks
    api = page.request
    ben = api.get(f"{server}/workspace/api/accounts?q=&limit=500").json()
    assert all(a["territory"] == "R01" for a in ben["accounts"])
    others = [i for i in range(500) if f"A{i:04d}" not in {a["id"] for a in ben["accounts"]}]
    assert api.get(f"{server}/workspace/api/accounts/A{others[0]:04d}").status == 404
    layer = api.get(f"{server}/workspace/api/accounts.geojson?zoom=12").json()
    assert {f["properties"]["territory"] for f in layer["features"]} == {"R01"}
    assert api.get(f"{server}/workspace/scenarios").status == 403
    page.context.close()
    assert foreign == [], f"requests left the local server: {foreign[:5]}"
