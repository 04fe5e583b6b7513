"""The map's labels in real headless Chromium: city names and territory names never
overlap, the largest cities in view stay named, and every territory keeps its name, at
the opening zoom and after zooming in (the labels are re-placed at each zoom)."""

from __future__ import annotations

from typing import Any

import pytest
import test_walkthrough as walk
from test_walkthrough import Watch, _log_in, _map_ready

pytestmark = pytest.mark.browser
# the walk-through's served store (10 territories, 500 accounts) and Chromium
server = walk.server
browser = walk.browser

#: Every drawn label's box in page pixels, by kind and text.
BOXES = """() => [...document.querySelectorAll('#map .city span, #map .terr-label span')]
  .map((s) => { const r = s.getBoundingClientRect();
    return { kind: s.parentElement.className.includes('city') ? 'city' : 'territory',
             text: s.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom }; })
  .filter((b) => b.x1 > b.x0 && b.y1 > b.y0)"""

#: The eight most populous cities whose points are in the map's view and not under its
#: controls (zoom buttons, legend), largest first, with their points in page pixels.
TOP_IN_VIEW = """() => { const el = document.querySelector('#map'), map = el._map;
  const view = map.getBounds(), box = el.getBoundingClientRect();
  const controls = [...el.querySelectorAll('.leaflet-control')]
    .map((c) => c.getBoundingClientRect());
  const under = (x, y) => controls.some((r) => x >= r.left - 2 && x <= r.right && y >= r.top - 8
    && y <= r.bottom + 8);
  return fetch(location.pathname.replace(/map$/, 'basemap/cities.json')).then((r) => r.json())
    .then((list) => list.filter(([, , lat, lon]) => view.contains([lat, lon]))
      .map(([name, , lat, lon]) => { const p = map.latLngToContainerPoint([lat, lon]);
        return [name, box.left + p.x, box.top + p.y]; })
      .filter(([, x, y]) => !under(x, y)).slice(0, 8)); }"""


def _overlapping(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (a["text"], b["text"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]
    ]


def _labels_placed(page: Any) -> float:
    """Waits until the labels are placed for the map's current zoom; returns it."""
    page.wait_for_function(
        "() => { const el = document.querySelector('#map');"
        " return el.dataset.labels === String(el._map.getZoom()); }"
    )
    return float(page.evaluate("() => document.querySelector('#map')._map.getZoom()"))


def _check_labels(page: Any) -> list[str]:
    """No two labels overlap, and each of the 8 largest cities in view is named unless
    it sits right next to a larger one that is (Brooklyn by New York City); returns the
    territory names drawn."""
    boxes = page.evaluate(BOXES)
    assert _overlapping(boxes) == []
    named = {b["text"] for b in boxes if b["kind"] == "city"}
    top = page.evaluate(TOP_IN_VIEW)
    assert len(top) == 8
    for i, (name, x, y) in enumerate(top):
        larger = [(a, b) for n, a, b in top[:i] if n in named]
        assert name in named or any(abs(a - x) < 60 and abs(b - y) < 30 for a, b in larger), (
            f"{name} is not named: named {sorted(named)}"
        )
    assert len(named & {n for n, _, _ in top}) >= 5
    return [b["text"] for b in boxes if b["kind"] == "territory"]


def test_city_and_territory_labels_never_overlap(server, browser) -> None:  # type: ignore[no-untyped-def]
    w = Watch(browser)
    page = w.page
    _log_in(page, server["base"], "planner@example.com")
    page.goto(f"{server['base']}/workspace/map")
    _map_ready(page)
    first = _labels_placed(page)
    assert len(_check_labels(page)) == 10  # every territory keeps its name
    assert page.locator(".city").count() > 3

    page.click(".leaflet-control-zoom-in")
    page.wait_for_function("(z) => document.querySelector('#map')._map.getZoom() > z", arg=first)
    assert _labels_placed(page) > first
    assert _check_labels(page)  # the territories' names

    # closer in, around Chicago: hundreds of cities compete with the names
    page.evaluate(
        "() => { document.querySelector('#map')._map"
        ".setView([41.9, -87.6], 7, { animate: false }); }"
    )
    assert _labels_placed(page) == 7
    names = _check_labels(page)
    assert "Fay Wong" in names  # Chicago's territory
    assert page.locator(".city").count() > 20
    w.close()
