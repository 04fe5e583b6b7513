"""Colour the map by attainment (pace to date), signals, tier and potential: figures from
the goals package through one function, legends, and the page switching between them in
real Chromium without a console error."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from sqlalchemy import Engine, insert
from test_workspace import _client
from web_seed import PACES, make_app, seed_company, seed_performance, seed_users

from territorial.goals.signals import detect_signals
from territorial.goals.standings import standings
from territorial.planning import lifecycle
from territorial.planning.activation import activate
from territorial.store import open_store
from territorial.store.tables import opportunities
from territorial.store.workspace import get_user
from territorial.web import services


@pytest.fixture(scope="module")
def performing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, int]]:
    """500 accounts, the CRM owners active, scores, quotas and won deals (see PACES)."""
    db = tmp_path_factory.mktemp("colors") / "territorial.db"
    engine = open_store(f"sqlite:///{db}")
    seed_company(engine, n_accounts=500)
    seed_users(engine)
    planner = get_user(engine, email="planner@example.com")
    active = services.save_owners_as_plan(engine, planner, name="FY territories")
    lifecycle.submit(engine, plan_id=active, actor=lifecycle.actor_for(engine, planner.email))
    admin = lifecycle.actor_for(engine, "admin@example.com")
    lifecycle.approve(engine, plan_id=active, actor=admin)
    activate(engine, plan_id=active, actor=admin)
    seed_performance(engine)
    yield engine, active
    engine.dispose()


def test_performance_comes_from_the_goals_package(performing) -> None:  # type: ignore[no-untyped-def]
    engine, active = performing
    view = services.plan_view(engine, active)
    perf = services.territory_performance(engine, view)
    table = standings(engine, by="territory").set_index("key")
    signals = detect_signals(engine)
    for j, (tid, row) in enumerate(zip(view.territory_ids, perf["territories"], strict=True)):
        assert row["id"] == tid
        assert row["pace"] == pytest.approx(table.loc[tid, "pace"], abs=1e-4)
        assert row["pace"] == pytest.approx(PACES[tid], abs=0.01)  # the seed's intent
        assert row["bookings"] == pytest.approx(table.loc[tid, "bookings"], abs=1e-2)
        mine = signals[signals["territory_id"] == tid]
        assert row["signals"] == len(mine)
        if len(mine):
            assert row["worst"]["message"] in set(mine["message"])
        # pace classes: under 70%, 70-85, 85-100, 100-115, 115 and over
        edges = [0.70, 0.85, 1.0, 1.15]
        expected = services.PACE_COLORS[sum(row["pace"] >= e for e in edges)]
        assert perf["colors"]["attainment"][j] == expected
        assert perf["colors"]["signals"][j] == services.SIGNAL_COLORS[min(len(mine), 4)]
    assert perf["quota_set_id"] is not None
    # every pace class but one holds a territory with this seed
    assert len(set(perf["colors"]["attainment"])) == 5


def test_performance_is_cached_per_data_fingerprint(performing, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine, active = performing
    view = services.plan_view(engine, active)
    services.territory_performance(engine, view)
    calls: list[int] = []
    import territorial.goals.standings as goal_standings

    real = goal_standings.standings
    monkeypatch.setattr(
        goal_standings, "standings", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    services.territory_performance(engine, view)
    assert calls == []  # same data: the cached figures
    key = services._performance_key(engine)
    monkeypatch.setattr(services, "_performance_key", lambda e: (*key, "changed"))
    services.territory_performance(engine, view)
    assert calls  # new data: computed again (signals read standings too)


def test_a_new_deal_changes_the_fingerprint(seeded_engine: Engine) -> None:
    before = services._performance_key(seeded_engine)
    with seeded_engine.begin() as conn:
        conn.execute(
            insert(opportunities).values(
                id="X1",
                account_id="A0001",
                amount=1.0,
                currency="USD",
                stage="Closed Won",
                created_date=date(2026, 1, 2),
                close_date=date(2026, 1, 3),
                is_closed=True,
                is_won=True,
                import_id=1,
            )
        )
    assert services._performance_key(seeded_engine) != before


def test_without_quotas_attainment_is_grey_and_says_why(seeded_engine: Engine) -> None:
    client, _ = _client(seeded_engine, "planner@example.com")
    got = client.get("/workspace/api/map-colors?by=attainment").json()
    assert set(got["fills"]) == {services.NO_FIGURE}
    assert "no quota set" in got["note"]
    assert client.get("/workspace/api/map-colors?by=colour").status_code == 400
    assert client.get("/workspace/api/accounts.geojson?color=nonsense").status_code == 400


def test_legends_and_accounts_per_colour(performing, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine, active = performing
    monkeypatch.setattr(services, "POINT_LIMIT", 100)  # 500 accounts cluster at zoom 3
    client, _ = _client(engine, "planner@example.com")
    view = services.plan_view(engine, active)
    for by, unit, total in (
        ("tier", "accounts", view.data.n),
        ("potential", "accounts", view.data.n),
    ):
        got = client.get(f"/workspace/api/map-colors?by={by}").json()
        assert got["fills"] is None and {c["unit"] for c in got["classes"]} == {unit}
        assert sum(c["count"] for c in got["classes"]) == total
    got = client.get("/workspace/api/map-colors?by=signals").json()
    assert sum(c["count"] for c in got["classes"]) == view.k
    # accounts (points when zoomed in) take their territory's fill
    layer = client.get("/workspace/api/accounts.geojson?zoom=12&color=attainment").json()
    fills = client.get("/workspace/api/map-colors?by=attainment").json()["fills"]
    for f in layer["features"][:50]:
        j = view.territory_ids.index(f["properties"]["territory"])
        assert f["properties"]["color"] == fills[j]
    # clusters too: each coloured like one of the territories
    clusters = client.get("/workspace/api/accounts.geojson?zoom=3&color=signals").json()
    assert clusters["clustered"] and {
        f["properties"]["color"] for f in clusters["features"]
    } <= set(client.get("/workspace/api/map-colors?by=signals").json()["fills"])


def test_a_rep_sees_only_their_figures(performing) -> None:  # type: ignore[no-untyped-def]
    engine, active = performing
    ana, _ = _client(engine, "ana@example.com")
    got = ana.get("/workspace/api/map-colors?by=attainment").json()
    view = services.plan_view(engine, active)
    mine = view.territory_ids.index("R01")
    assert [j for j, f in enumerate(got["fills"]) if f is not None] == [mine]
    assert [t["id"] for t in got["territories"] if t["id"]] == ["R01"]
    assert sum(c["count"] for c in got["classes"]) == 1
    tiers = ana.get("/workspace/api/map-colors?by=tier").json()
    assert sum(c["count"] for c in tiers["classes"]) == int(np.sum(view.codes == mine))


# --- in the browser ---------------------------------------------------------------------
playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def served(performing) -> Iterator[str]:  # type: ignore[no-untyped-def]
    engine, _ = performing
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
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.browser
def test_switching_colour_changes_map_and_legend(served, browser) -> None:  # type: ignore[no-untyped-def]
    from test_walkthrough import Watch, _hover_area, _log_in, _map_ready

    w = Watch(browser)
    page = w.page
    _log_in(page, served, "planner@example.com")
    page.goto(f"{served}/workspace/map")
    _map_ready(page)
    legend = "[data-testid=legend]"
    assert page.get_attribute(legend, "data-mode") == "territory"
    assert page.locator(f"{legend} tr[data-territory]").count() == 10

    def fills() -> set[str]:
        return set(
            page.evaluate(
                """() => { const out = [];
                document.querySelector('#map')._map.eachLayer(l => {
                  if (l.feature && l.feature.properties && l.feature.properties.fips)
                    out.push(l.options.fillColor); });
                return out; }"""
            )
        )

    territory_fills = fills()
    for by, title in (
        ("attainment", "Pace to date"),
        ("signals", "Signals"),
        ("tier", "Account tier"),
    ):
        page.select_option("[data-testid=color-by]", by)
        page.wait_for_selector(f"#map[data-colored='{by}']")
        assert page.get_attribute(legend, "data-mode") == by
        assert title in page.inner_text(legend)
        assert page.locator(f"{legend} tr.class").count() >= 4
        if by == "attainment":
            assert fills() <= set(services.PACE_COLORS) and len(fills()) == 5
            assert page.locator(f"{legend} table.by-territory tr[data-territory]").count() == 10
            # worst first: R01 (pace 40%) heads the list
            first = page.locator(f"{legend} table.by-territory tr[data-territory]").first
            assert first.get_attribute("data-territory") == "R01"
            _, _, text = _hover_area(page)
            assert "pace to date" in text
        if by == "signals":
            assert fills() <= set(services.SIGNAL_COLORS)
            _, _, text = _hover_area(page)
            assert "signal" in text and "worst:" in text
        if by == "tier":
            assert fills() == territory_fills  # areas keep their colours, faded
    page.select_option("[data-testid=color-by]", "territory")
    page.wait_for_selector("#map[data-colored='territory']")
    assert page.locator(f"{legend} tr[data-territory]").count() == 10
    assert fills() == territory_fills
    w.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()
