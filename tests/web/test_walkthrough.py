"""Each role's main path in real headless Chromium (Debian's), as a new user would walk it.

Log in, hover and click the map at real screen coordinates (territory areas, counties,
single accounts), select by county and by rectangle, move (which makes a draft of the
active plan), undo and redo, compare, submit, approve, download an export; a manager's
team and a rep's book. Every test FAILS on any console error or uncaught page error, and
on any request to a host other than the local server.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import uvicorn
from web_seed import PASSWORD, make_app, seed_company, seed_users

from territorial.planning import lifecycle
from territorial.planning.activation import activate
from territorial.scoring.store_adapter import score_store
from territorial.store import open_store
from territorial.store.workspace import get_user
from territorial.web import services

pytestmark = pytest.mark.browser

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A served store of 500 accounts whose CRM owners are the active plan."""
    db = tmp_path_factory.mktemp("walk") / "territorial.db"
    engine = open_store(f"sqlite:///{db}")
    seed_company(engine, n_accounts=500)
    seed_users(engine)
    score_store(engine)  # rep plans rank targets by score
    planner = get_user(engine, email="planner@example.com")
    active = services.save_owners_as_plan(engine, planner, name="FY26 territories")
    lifecycle.submit(engine, plan_id=active, actor=lifecycle.actor_for(engine, planner.email))
    admin = lifecycle.actor_for(engine, "admin@example.com")
    lifecycle.approve(engine, plan_id=active, actor=admin)
    activate(engine, plan_id=active, actor=admin)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = uvicorn.Server(
        uvicorn.Config(make_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
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
    yield {"base": f"http://127.0.0.1:{port}", "active": active, "engine": engine}
    srv.should_exit = True
    stop_worker.set()
    thread.join(timeout=10)
    worker.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class Watch:
    """A page that records console errors, page errors and requests leaving the server."""

    def __init__(self, browser: Any) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _guard(self, route: Any, request: Any) -> None:
        if request.url.startswith(("data:", "blob:", "about:")) or (
            urlparse(request.url).hostname in LOCAL_HOSTS
        ):
            route.continue_()
        else:
            self.foreign.append(request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], f"console errors: {self.errors[:5]}"
        assert self.foreign == [], f"requests left the local server: {self.foreign[:5]}"


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/workspace/")
    assert "/workspace/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    # a rep lands on their plan, everyone else on their home page
    page.wait_for_url(re.compile(re.escape(base) + r"/workspace/(plan)?$"))


def _map_ready(page: Any) -> None:
    page.wait_for_selector("#map[data-ready='1']")


def _screen(page: Any, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates of (lat, lon) on the map."""
    box = page.locator("#map").bounding_box()
    pt = page.evaluate(
        "([lat, lon]) => { const p = document.querySelector('#map')._map"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    return box["x"] + pt[0], box["y"] + pt[1]


def _tooltip(page: Any) -> str:
    page.wait_for_timeout(150)
    tips = page.locator(".leaflet-tooltip")
    return tips.last.inner_text() if tips.count() else ""


def _hover_area(page: Any) -> tuple[float, float, str]:
    """Hover territory labels' points until a county area answers; returns where."""
    areas = page.evaluate(
        "() => fetch(location.pathname.replace(/map$/, 'api/territory-areas') + location.search)"
        ".then(r => r.json())"
    )
    for t in areas["territories"]:
        if not t.get("label"):
            continue
        x, y = _screen(page, *t["label"])
        for dx, dy in ((0, 0), (12, 0), (-12, 0), (0, 12), (0, -12), (20, 20)):
            page.mouse.move(x + dx, y + dy)
            text = _tooltip(page)
            if " county:" in text:
                return x + dx, y + dy, text
    raise AssertionError("no territory area answered a hover")


def _hover_county_with_accounts(page: Any, x: float, y: float) -> tuple[float, float]:
    """Around (x, y), then around every territory label: a point whose county tooltip
    offers to select its accounts."""
    areas = page.evaluate(
        "() => fetch(location.pathname.replace(/map$/, 'api/territory-areas') + location.search)"
        ".then(r => r.json())"
    )
    starts = [(x, y)] + [_screen(page, *t["label"]) for t in areas["territories"] if t.get("label")]
    offsets = [(dx, dy) for dx in (0, 8, -8, 16, -16, 24) for dy in (0, 8, -8, 16, -16)]
    for sx, sy in starts:
        for dx, dy in offsets:
            page.mouse.move(sx + dx, sy + dy)
            if "click to select them" in _tooltip(page):
                return sx + dx, sy + dy
    raise AssertionError("no county with accounts answered a hover")


def test_planner_walks_map_moves_undo_redo_compare_and_submits(server, browser) -> None:  # type: ignore[no-untyped-def]
    base, active = server["base"], server["active"]
    w = Watch(browser)
    page = w.page
    _log_in(page, base, "planner@example.com")
    assert page.locator("[data-testid=home-planner]").count() == 1
    page.click("nav >> text=Map")
    _map_ready(page)
    assert page.locator("[data-testid=legend] tr[data-territory]").count() == 10
    assert page.locator(".terr-label").count() == 10
    assert page.locator(".city").count() > 3  # the largest cities, named

    # hover a territory area (not swallowed by the accounts' canvas) and click its county
    x, y, text = _hover_area(page)
    assert "accounts" in text and "potential" in text
    # click a county holding accounts (the label may sit in a county without any)
    cx, cy = _hover_county_with_accounts(page, x, y)
    page.mouse.click(cx, cy)
    page.wait_for_selector("[data-testid=move-status]:has-text('county')")
    page.click("[data-testid=clear-btn]")
    assert page.inner_text("[data-testid=selection-count]") == "0"

    # zoom to single accounts: hover and click one (it is drawn above its county)
    target = page.evaluate(
        "() => fetch('/workspace/api/accounts?limit=1&territory=R09').then(r => r.json())"
    )["accounts"][0]
    where = page.evaluate(
        "(id) => fetch('/workspace/api/accounts.geojson?zoom=12').then(r => r.json())"
        ".then(g => g.features.find(f => f.properties.id === id).geometry.coordinates)",
        target["id"],
    )
    page.evaluate(
        """([lon, lat]) => { document.querySelector('#map').dataset.ready = '0';
        document.querySelector('#map')._map.setView([lat, lon], 12, {animate: false}); }""",
        where,
    )
    page.wait_for_function(
        "() => document.querySelector('#map-status').innerText.indexOf('clustered') < 0"
    )
    page.wait_for_timeout(400)
    ax, ay = _screen(page, where[1], where[0])
    page.mouse.move(ax, ay)
    assert target["name"] in _tooltip(page)
    page.mouse.click(ax, ay)
    page.wait_for_selector(f"#selection .chip[data-id='{target['id']}']")

    # a rectangle adds the accounts around it
    page.click("[data-testid=select-area]")
    page.mouse.move(ax - 150, ay - 120)
    page.mouse.down()
    page.mouse.move(ax + 150, ay + 120, steps=4)
    page.mouse.up()
    page.wait_for_selector("[data-testid=move-status]:has-text('in the rectangle')")
    page.wait_for_timeout(300)  # the mouse-up's click must not select a county as well
    assert "in the rectangle" in page.inner_text("[data-testid=move-status]")
    assert int(page.inner_text("[data-testid=selection-count]").replace(",", "")) >= 1

    # move: the active plan is frozen, so the move makes a draft and the page goes there
    page.select_option("[data-testid=move-to]", "R01")
    page.click("[data-testid=move-btn]")
    page.wait_for_selector("[data-testid=draft-notice]")
    draft = int(re.search(r"plan=(\d+)", page.url).group(1))
    assert draft != active
    _map_ready(page)
    page.wait_for_selector("[data-testid=undo-btn]:not([disabled])")
    assert page.is_disabled("[data-testid=redo-btn]")
    r01 = "#balance-panel tr[data-territory='R01'] td[data-measure='accounts']"
    after = float(page.get_attribute(r01, "data-value"))

    # undo, redo, undo: buttons follow; a second undo is not offered (no 404, no error)
    page.click("[data-testid=undo-btn]")
    page.wait_for_selector("[data-testid=move-status]:has-text('Undid')")
    page.wait_for_selector("[data-testid=redo-btn]:not([disabled])")
    assert page.is_disabled("[data-testid=undo-btn]")
    assert float(page.get_attribute(r01, "data-value")) < after
    page.click("[data-testid=redo-btn]")
    page.wait_for_selector("[data-testid=move-status]:has-text('Redid')")
    page.wait_for_selector("[data-testid=undo-btn]:not([disabled])")
    assert float(page.get_attribute(r01, "data-value")) == after
    assert page.is_disabled("[data-testid=redo-btn]")

    # compare the active plan with the draft: two maps drawn, the moved accounts counted
    page.goto(f"{base}/workspace/compare?a={active}&b={draft}")
    page.wait_for_selector(".map[data-ready='1'] >> nth=1")
    assert "accounts change territory" in page.inner_text("[data-testid=compare-moved]")

    # submit the draft from the home page
    page.goto(f"{base}/workspace/")
    page.click(f"[data-testid=submit-{draft}]")
    page.wait_for_selector(f"[data-testid=approve-{draft}]")
    server["draft"] = draft
    w.close()


def test_admin_approves_and_downloads_the_export(server, browser) -> None:  # type: ignore[no-untyped-def]
    draft = server.get("draft")
    if draft is None:  # the planner's walk ran on another xdist worker: submit a draft
        engine = server["engine"]
        planner = get_user(engine, email="planner@example.com")
        view = services.plan_view(engine, server["active"])
        moved = services.move_accounts(
            engine,
            planner,
            plan_id=server["active"],
            account_ids=view.data.frame["id"][view.codes >= 0].iloc[:2].tolist(),
            to_territory=view.territory_ids[0],
            lock=False,
        )
        draft = int(moved["plan_id"])
        lifecycle.submit(engine, plan_id=draft, actor=lifecycle.actor_for(engine, planner.email))
    w = Watch(browser)
    page = w.page
    _log_in(page, server["base"], "admin@example.com")
    page.click(f"[data-testid=approve-{draft}]")
    page.wait_for_selector("[data-testid=done]:has-text('approved')")
    with page.expect_download() as got:
        page.click(f"[data-testid=export-csv-{draft}]")
    path = got.value.path()
    header = Path(path).read_text().splitlines()[0]
    assert "account" in header.lower()
    w.close()


def test_manager_sees_the_team_and_its_map(server, browser) -> None:  # type: ignore[no-untyped-def]
    w = Watch(browser)
    page = w.page
    _log_in(page, server["base"], "manager@example.com")
    team = set(
        page.eval_on_selector_all("tr[data-territory]", "rs => rs.map(r => r.dataset.territory)")
    )
    assert team == {"R01", "R02", "R03", "R04", "R05"}
    assert page.locator("nav >> text=Scenarios").count() == 0
    page.click("nav >> text=Map")
    _map_ready(page)
    _, _, text = _hover_area(page)
    assert any(
        name in text for name in ("Ana Ortiz", "Ben Li", "Cora Diaz", "Dev Patel", "Eli Stone")
    )
    # from the team on the home page to one rep's plan, and only the team's
    page.click("nav >> text=My team")
    assert page.locator("[data-testid^=rep-plan-]").count() == 5
    page.click("[data-testid=rep-plan-R02]")
    page.wait_for_selector("[data-testid=rep-plan]")
    assert "Ben Li" in page.inner_text("h1") and "rep=R02" in page.url
    refused = page.request.get(
        f"{server['base']}/workspace/plan?rep=R09", headers={"accept": "text/html"}
    )
    assert refused.status in (403, 404)
    w.close()


def test_rep_sees_their_book_and_a_page_for_what_is_not_theirs(server, browser) -> None:  # type: ignore[no-untyped-def]
    w = Watch(browser)
    page = w.page
    _log_in(page, server["base"], "ana@example.com")
    assert page.url.endswith("/workspace/plan")  # a rep lands on their plan
    assert "Ana Ortiz" in page.inner_text("h1")
    page.click("nav >> text=My book")
    assert page.locator("[data-testid=home-rep]").count() == 1
    assert int(page.inner_text("[data-testid=book-accounts]")) > 0
    page.click("nav >> text=Map")
    _map_ready(page)
    # the map opens on Ana's accounts around Seattle, not the whole country
    west, east = page.evaluate(
        "() => { const b = document.querySelector('#map')._map.getBounds();"
        " return [b.getWest(), b.getEast()]; }"
    )
    assert west < -122.3 < east and east - west < 50
    _, _, text = _hover_area(page)
    assert "Ana Ortiz" in text
    refused = page.request.get(
        f"{server['base']}/workspace/scenarios", headers={"accept": "text/html"}
    )
    assert refused.status == 403 and "error-page" in refused.text()
    w.close()


def _inside_ring(x: float, y: float, ring: list[tuple[float, float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_planner_lassos_accounts_at_real_coordinates(server, browser) -> None:  # type: ignore[no-untyped-def]
    """A free-form lasso drawn with the mouse selects exactly the accounts inside it on
    screen (checked here on pixels, independently of the server's projection)."""
    w = Watch(browser)
    page = w.page
    _log_in(page, server["base"], "planner@example.com")
    page.goto(f"{server['base']}/workspace/map?plan={server['active']}")
    _map_ready(page)
    cx, cy = _screen(page, 47.61, -122.33)  # Seattle, Ana's home
    cx, cy = cx + 20, cy + 40
    box = page.locator("#map").bounding_box()
    # a concave, five-pointed lasso around Seattle (page pixels)
    shape = [(0, -110), (40, -30), (120, -20), (50, 30), (80, 110), (0, 50), (-80, 110)]
    shape += [(-50, 30), (-120, -20), (-40, -30)]
    ring = [(cx + dx, cy + dy) for dx, dy in shape]
    page.click("[data-testid=lasso]")
    page.mouse.move(*ring[0])
    page.mouse.down()
    for x, y in ring[1:] + ring[:1]:
        page.mouse.move(x, y, steps=6)
    page.mouse.up()
    page.wait_for_selector("[data-testid=move-status]:has-text('in the lasso')")
    got = int(page.inner_text("[data-testid=selection-count]").replace(",", ""))
    # every account's pixel on the map, then the textbook point-in-polygon on pixels
    points = page.evaluate(
        """() => fetch('/workspace/api/accounts.geojson?zoom=12').then(r => r.json()).then(g => {
          const m = document.querySelector('#map')._map;
          return g.features.map(f => { const [lon, lat] = f.geometry.coordinates;
            const p = m.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }); })"""
    )
    local = [(x - box["x"], y - box["y"]) for x, y in ring]
    expected = sum(_inside_ring(x, y, local) for x, y in points)
    assert got == expected > 5
    assert page.locator("#selection .chip").count() == min(got, 40)
    assert page.get_attribute("#map", "data-tool") == ""  # the tool disarms itself
    w.close()


def test_planner_runs_a_scenario_and_the_list_and_buttons_refresh(server, browser) -> None:  # type: ignore[no-untyped-def]
    """Run a design from the browser: the new scenario joins the list and the choices
    without a reload, the Run button comes back, and the list's own buttons work."""
    w = Watch(browser)
    page = w.page
    _log_in(page, server["base"], "planner@example.com")
    page.click("nav >> text=Scenarios")
    rows = page.locator("[data-testid=scenario-list] tbody tr[data-plan]")
    before = rows.count()
    page.evaluate("() => { window.__sameDocument = true; }")  # gone after any reload
    page.fill("input[name=name]", "Browser run")
    page.uncheck("input[name=balance][value=potential]")
    page.uncheck("input[name=balance][value=workload_hours]")
    page.check("input[name=balance][value=accounts]")
    page.fill("input[name=time_limit]", "5")
    page.click("[data-testid=run-design]")
    assert page.is_disabled("[data-testid=run-design]")
    link = page.wait_for_selector("[data-testid=job-result]", timeout=90_000)
    plan_id = link.get_attribute("href").split("plan=")[1]
    page.wait_for_selector(f"[data-testid=scenario-list] tr[data-plan='{plan_id}']")
    page.wait_for_selector("[data-testid=run-design]:not([disabled])")
    assert rows.count() == before + 1
    assert "Browser run" in page.inner_text(f"tr[data-plan='{plan_id}']")
    assert page.locator(f"[data-testid=base-plan] option[value='{plan_id}']").count() == 1
    assert page.evaluate("() => window.__sameDocument === true")  # no reload
    assert page.input_value("input[name=name]") != "Browser run"  # a fresh name offered
    # submit it from the list: the row is drawn again with its new status
    page.click(f"tr[data-plan='{plan_id}'] button[data-action=submit]")
    page.wait_for_selector(f"tr[data-plan='{plan_id}'] button[data-action=approve]")
    assert "submitted" in page.inner_text(f"tr[data-plan='{plan_id}']")
    assert page.evaluate("() => window.__sameDocument === true")
    w.close()
