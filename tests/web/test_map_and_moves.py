"""The map's territories (areas of counties, colours, labels, bounds, cities), moves that
always land in a draft, undo and redo, selections, role home pages and error pages."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from sqlalchemy import Engine, select, update
from test_workspace import _client

from territorial.planning import lifecycle
from territorial.store.tables import plans
from territorial.web import services

#: 0 1 2
#: 3 4 5   territories of a 3x3 grid touching their 4 neighbours
#: 6 7 8
GRID_3X3 = {(0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8), (0, 3), (3, 6), (1, 4), (4, 7), (2, 5)}
GRID_3X3 |= {(5, 8)}


# --- colouring: a tiny hand-drawn map -----------------------------------------------------
@pytest.mark.parametrize(
    ("k", "pairs", "n_colours"),
    [
        # a path 0-1-2-3: two colours suffice
        (4, {(0, 1), (1, 2), (2, 3)}, 2),
        # a wheel: centre 0 touching a ring 1-2-3-4-5 (odd ring: 3 colours + centre)
        (6, {(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 2), (2, 3), (3, 4), (4, 5), (1, 5)}, 4),
        # a 3x3 grid of territories (4-neighbours)
        (9, GRID_3X3, 2),
    ],
)
def test_greedy_colouring_gives_neighbours_distinct_colours(k, pairs, n_colours) -> None:  # type: ignore[no-untyped-def]
    colour = services.greedy_colouring(k, pairs, 12)
    assert all(colour[a] != colour[b] for a, b in pairs)
    # the palette is spread: more than the minimum when allowed, each colour in range
    assert all(0 <= c < 12 for c in colour)
    assert len(set(colour)) >= n_colours


def test_greedy_colouring_with_too_few_colours_still_colours_everyone() -> None:
    clique = {(a, b) for a in range(5) for b in range(a + 1, 5)}
    colour = services.greedy_colouring(5, clique, 3)
    assert len(colour) == 5 and set(colour) <= {0, 1, 2}


def test_territories_are_counties_and_neighbours_differ(seeded_engine: Engine) -> None:
    view = services.plan_view(seeded_engine, "baseline")
    owner = services.county_territory(view)
    basis = services.county_basis()
    county = view.data.county_index()
    # a county with accounts belongs to the territory with most of their potential
    c = int(np.bincount(county[county >= 0]).argmax())
    members = (county == c) & (view.codes >= 0)
    weights = np.bincount(view.codes[members], view.data.measures[members, 0] + 1e-3, view.k)
    assert owner[c] == int(weights.argmax())
    # colours: counties sharing a border in different territories never share a colour
    colors = services.territory_colors(view)
    a, b = owner[basis.edges[:, 0]], owner[basis.edges[:, 1]]
    border = (a >= 0) & (b >= 0) & (a != b)
    assert border.any()
    assert all(colors[x] != colors[y] for x, y in zip(a[border], b[border], strict=True))
    # no territory reaches across the sea: Alaska and Hawaii hold no accounts here
    assert not any(owner[i] >= 0 for i, f in enumerate(basis.fips) if f[:2] in ("02", "15"))


def test_territory_areas_carry_legend_figures_and_labels_inside(seeded_engine: Engine) -> None:
    view = services.plan_view(seeded_engine, "baseline")
    everyone = services.Scope(None, True)
    areas = services.territory_areas(view, everyone)
    assert len(areas["territories"]) == view.k == 10
    for j, t in enumerate(areas["territories"]):
        assert t["color"] == view.color(j)
        assert set(t["deviation"]) == set(services.MEASURES)
        lat, lon = t["label"]
        # the label sits inside a county the territory holds
        owner = services.county_territory(view)
        _, shapes = services.county_shapes()
        import shapely

        inside = [i for i, s in enumerate(shapes) if shapely.contains_xy(s, lon, lat)]
        assert inside and owner[inside[0]] == j
    assert sum(t["accounts"] for t in areas["territories"]) == int((view.codes >= 0).sum())
    # a rep gets their counties only; others' entries are blank
    ana = services.territory_areas(view, services.Scope(frozenset({"R01"}), False))
    j = view.territory_ids.index("R01")
    assert {v[0] for v in ana["counties"].values()} == {j}
    assert [t["id"] for t in ana["territories"] if t["id"]] == ["R01"]


def test_map_opens_on_the_lower_48_or_the_users_own_accounts(seeded_engine: Engine) -> None:
    view = services.plan_view(seeded_engine, "baseline")
    (south, west), (north, east) = services.map_bounds(view, services.Scope(None, True))
    assert 24 <= south < north <= 50 and -125 <= west < east <= -66
    # Ana (Seattle): her book's box holds Seattle, inside the country's
    ana = services.Scope(frozenset({"R01"}), False)
    (s2, w2), (n2, e2) = services.map_bounds(view, ana)
    assert s2 <= 47.6 <= n2 and w2 <= -122.3 <= e2 and n2 <= 50
    # a book of Seattle accounts plus one stray in Florida opens on Seattle
    lat = view.data.frame["latitude"].to_numpy()
    lon = view.data.frame["longitude"].to_numpy()
    near = (np.abs(lat - 47.6) < 5) & (np.abs(lon + 122.3) < 6)
    stray = int(np.flatnonzero((lat < 30) & (lon > -85))[0])
    codes = np.where(near, view.territory_ids.index("R01"), view.territory_ids.index("R02"))
    codes[stray] = view.territory_ids.index("R01")
    seattle = dataclasses.replace(view, codes=codes, _cache={})
    (s3, _), (_, e3) = services.map_bounds(seattle, ana)
    assert int(near.sum()) >= 20 and s3 > 41 and e3 < -115
    assert services.map_bounds(view, services.Scope(frozenset(), False)) is None


def test_city_labels_are_the_largest_us_cities_first() -> None:
    import orjson

    cities = orjson.loads(services.city_labels())
    assert cities[0][0] == "New York City" and len(cities) > 500
    populations = [c[4] for c in cities]
    assert populations == sorted(populations, reverse=True)


# --- moves: always into a draft; undo and redo ---------------------------------------
def _activate(engine: Engine, plan_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(plans).where(plans.c.id == plan_id).values(status="active"))


def test_moving_on_the_active_plan_makes_a_draft_and_leaves_it_alone(
    seeded_engine: Engine,
) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    headers = {"X-CSRF-Token": csrf}
    active = client.post("/workspace/api/plans/from-owners", json={}, headers=headers).json()[
        "plan_id"
    ]
    _activate(seeded_engine, active)
    one = client.get(f"/workspace/api/accounts?plan={active}&territory=R01&limit=1").json()
    account = one["accounts"][0]["id"]
    r = client.post(
        f"/workspace/api/plans/{active}/moves",
        headers=headers,
        json={"account_ids": [account], "to_territory": "R02"},
    ).json()
    draft = r["plan_id"]
    assert draft != active and r["draft_of"] == active and r["changed"] == 1
    assert lifecycle.get_version(seeded_engine, plan_id=draft)["status"] == "draft"
    assert lifecycle.get_version(seeded_engine, plan_id=draft)["parent_id"] == active
    # the active plan is unchanged; the draft has the move
    assert client.get(f"/workspace/api/accounts/{account}?plan={active}").json()["territory"] == (
        "R01"
    )
    assert client.get(f"/workspace/api/accounts/{account}?plan={draft}").json()["territory"] == (
        "R02"
    )
    # a second move on the draft stays in it
    again = client.post(
        f"/workspace/api/plans/{draft}/moves",
        headers=headers,
        json={"account_ids": [account], "to_territory": "R03"},
    ).json()
    assert again["plan_id"] == draft and again["draft_of"] is None
    # undo on the frozen plan is refused with a reason, not a 404
    refused = client.post(f"/workspace/api/plans/{active}/undo", headers=headers)
    assert refused.status_code == 409 and "cannot change" in refused.json()["message"]
    # the map page explains where the move went
    page = client.get(f"/workspace/map?plan={draft}&draft_of={active}&moved=1").text
    assert 'data-testid="draft-notice"' in page


def test_undo_and_redo_walk_the_history_and_say_what_is_possible(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    headers = {"X-CSRF-Token": csrf}
    plan = client.post("/workspace/api/plans/from-owners", json={}, headers=headers).json()[
        "plan_id"
    ]
    ids = [
        a["id"]
        for a in client.get(f"/workspace/api/accounts?plan={plan}&territory=R01&limit=2").json()[
            "accounts"
        ]
    ]

    def territory(account: str) -> str:
        return client.get(f"/workspace/api/accounts/{account}?plan={plan}").json()["territory"]

    def history() -> tuple[int, int]:
        h = client.get(f"/workspace/api/plans/{plan}/history").json()
        return h["undo"], h["redo"]

    def post(what: str) -> int:
        return client.post(f"/workspace/api/plans/{plan}/{what}", headers=headers).status_code

    assert history() == (0, 0)
    for account, to in zip(ids, ("R02", "R03"), strict=True):
        body = {"account_ids": [account], "to_territory": to}
        client.post(f"/workspace/api/plans/{plan}/moves", headers=headers, json=body)
    assert history() == (2, 0)
    assert post("undo") == 200 and territory(ids[1]) == "R01" and history() == (1, 1)
    assert post("undo") == 200 and territory(ids[0]) == "R01" and history() == (0, 2)
    assert post("undo") == 404  # nothing left (the page disables the button first)
    assert post("redo") == 200 and territory(ids[0]) == "R02" and history() == (1, 1)
    assert post("redo") == 200 and territory(ids[1]) == "R03" and history() == (2, 0)
    assert post("redo") == 404
    # a new move after an undo ends the redo
    assert post("undo") == 200 and history() == (1, 1)
    body = {"account_ids": [ids[1]], "to_territory": "R04"}
    client.post(f"/workspace/api/plans/{plan}/moves", headers=headers, json=body)
    assert history() == (2, 0) and territory(ids[1]) == "R04"
    # the balance panel follows every step
    html = client.get(f"/workspace/fragments/balance?plan={plan}").text
    row = html.split('data-territory="R04"')[1]
    view = services.plan_view(seeded_engine, plan)
    expected = int((view.codes == view.territory_ids.index("R04")).sum())
    assert f'data-measure="accounts" data-value="{expected}.00"' in row


def test_selection_by_rectangle_and_county(seeded_engine: Engine) -> None:
    client, _ = _client(seeded_engine, "planner@example.com")
    view = services.plan_view(seeded_engine, "baseline")
    lat = view.data.frame["latitude"].to_numpy()
    lon = view.data.frame["longitude"].to_numpy()
    # a box around Seattle
    box = (-125.0, 44.0, -118.0, 50.0)
    inside = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
    got = client.get("/workspace/api/selection?bbox=" + ",".join(map(str, box))).json()
    assert got["total"] == int(inside.sum()) > 0
    assert {a for a, _ in got["accounts"]} == set(view.data.frame["id"][inside])
    county = view.data.county_index()
    fips = services.county_shapes()[0][int(county[county >= 0][0])]
    by_county = client.get(f"/workspace/api/selection?county={fips}").json()
    assert by_county["total"] == int((county == county[county >= 0][0]).sum())
    assert client.get("/workspace/api/selection").status_code == 400
    assert client.get("/workspace/api/selection?county=12").status_code == 422
    # a rep selects only their own accounts
    ana, _ = _client(seeded_engine, "ana@example.com")
    mine = ana.get("/workspace/api/selection?bbox=-180,-90,180,90").json()
    assert mine["total"] == int((view.codes == view.territory_ids.index("R01")).sum())


# --- pages per role ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("email", "role", "visible", "hidden"),
    [
        ("admin@example.com", "admin", ["/scenarios", "/users", "/audit"], []),
        ("planner@example.com", "planner", ["/scenarios", "/compare"], ["/users"]),
        ("manager@example.com", "manager", ["/map"], ["/scenarios", "/audit", "/users"]),
        ("ana@example.com", "rep", ["/map"], ["/scenarios", "/compare", "/audit", "/users"]),
    ],
)
def test_home_and_navigation_per_role(seeded_engine: Engine, email, role, visible, hidden) -> None:  # type: ignore[no-untyped-def]
    client, _ = _client(seeded_engine, email)
    html = client.get("/workspace/").text
    assert f'data-testid="home-{role}"' in html
    nav = html.split('data-testid="nav"')[1].split("</nav>")[0]
    links = set(re.findall(r'href="/workspace(/[a-z-]*)"', nav))
    assert set(visible) <= links and not (set(hidden) & links)
    for path in hidden:  # and what is hidden is refused with a page, not JSON
        r = client.get(f"/workspace{path}", headers={"accept": "text/html"})
        assert r.status_code == 403 and 'data-testid="error-page"' in r.text
    if role == "rep":
        # the rep plan page is installed (repplan_routes): the rep's home links to it
        assert 'data-testid="my-accounts"' in html and 'data-testid="rep-plan-link"' in html


def test_missing_things_answer_a_page_for_browsers_and_json_for_scripts(
    seeded_engine: Engine,
) -> None:
    client, _ = _client(seeded_engine, "planner@example.com")
    page = client.get("/workspace/map?plan=9999", headers={"accept": "text/html"})
    assert page.status_code == 404 and "Not found" in page.text and "plan 9999" in page.text
    api = client.get("/workspace/api/accounts/NOPE")
    assert api.status_code == 404 and api.json()["message"]


def test_leader_submits_approves_and_exports_from_home(seeded_engine: Engine) -> None:
    planner, pcsrf = _client(seeded_engine, "planner@example.com")
    plan = planner.post(
        "/workspace/api/plans/from-owners", json={}, headers={"X-CSRF-Token": pcsrf}
    ).json()["plan_id"]
    r = planner.post(f"/workspace/plans/{plan}/submit", data={"csrf_token": pcsrf})
    assert r.status_code == 200 and 'data-testid="done"' in r.text
    assert f'data-testid="approve-{plan}"' in r.text
    # the author may not approve their own plan when the team has two planners
    refused = planner.post(
        f"/workspace/plans/{plan}/approve",
        data={"csrf_token": pcsrf},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    admin, acsrf = _client(seeded_engine, "admin@example.com")
    forged = admin.post(f"/workspace/plans/{plan}/approve", data={"csrf_token": "x"})
    assert forged.status_code == 403
    ok = admin.post(f"/workspace/plans/{plan}/approve", data={"csrf_token": acsrf})
    assert ok.status_code == 200
    with seeded_engine.connect() as conn:
        assert conn.execute(select(plans.c.status).where(plans.c.id == plan)).scalar() == "approved"
    assert f"/workspace/plans/{plan}/export/csv" in ok.text
    csv = admin.get(f"/workspace/plans/{plan}/export/csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    rep, _ = _client(seeded_engine, "ana@example.com")
    assert rep.get(f"/workspace/plans/{plan}/export/csv").status_code == 403


def test_dashboard_shows_the_tolerance_with_its_decimals(seeded_engine: Engine) -> None:
    client, csrf = _client(seeded_engine, "planner@example.com")
    plan = client.post(
        "/workspace/api/plans/from-owners", json={}, headers={"X-CSRF-Token": csrf}
    ).json()["plan_id"]
    with seeded_engine.begin() as conn:
        conn.execute(
            update(plans)
            .where(plans.c.id == plan)
            .values(parameters={"measures": ["potential"], "tolerance": 0.005})
        )
    html = client.get(f"/workspace/dashboard?plan={plan}").text
    assert "±0.5%" in html and "±0%" not in html


# --- lasso: a polygon tested on the map's projection -------------------------------------
def _inside_ring(x: float, y: float, ring: list[tuple[float, float]]) -> bool:
    """Even-odd ray casting (the textbook test, written out here independently)."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _merc(lon: float, lat: float) -> tuple[float, float]:
    return np.radians(lon), float(np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)))


def test_lasso_selects_what_the_polygon_covers_on_the_map(seeded_engine: Engine) -> None:
    client, _ = _client(seeded_engine, "planner@example.com")
    view = services.plan_view(seeded_engine, "baseline")
    lat = view.data.frame["latitude"].to_numpy()
    lon = view.data.frame["longitude"].to_numpy()
    ids = view.data.frame["id"].to_numpy()
    # a concave lasso around the West Coast reps' accounts (Seattle, SF, LA)
    lasso = [(-128.0, 50.0), (-116.0, 50.0), (-121.0, 40.0), (-113.0, 31.0), (-124.0, 30.0)]
    ring = [_merc(*v) for v in lasso]
    expected = {ids[i] for i in range(len(ids)) if _inside_ring(*_merc(lon[i], lat[i]), ring)}
    polygon = ";".join(f"{x},{y}" for x, y in lasso)
    got = client.get(f"/workspace/api/selection?polygon={polygon}").json()
    assert got["total"] == len(expected) > 10
    assert {a for a, _ in got["accounts"]} == expected
    # the test is made on the map's projection, not on plain degrees: some account
    # falls on different sides of a long slanted edge in the two
    slanted = [(-128.0, 30.0), (-70.0, 48.0), (-128.0, 48.0)]
    merc = services.in_polygon(lat, lon, slanted)
    deg = np.array([_inside_ring(lon[i], lat[i], slanted) for i in range(len(ids))])
    assert (merc != deg).any()
    assert merc.tolist() == [
        _inside_ring(*_merc(lon[i], lat[i]), [_merc(*v) for v in slanted]) for i in range(len(ids))
    ]


def test_rectangle_is_the_polygon_of_its_corners(seeded_engine: Engine) -> None:
    view = services.plan_view(seeded_engine, "baseline")
    everyone = services.Scope(None, True)
    box = (-125.0, 44.0, -118.0, 50.0)
    by_box = services.select_accounts(view, everyone, bbox=box)
    corners = services.bbox_polygon(box)
    by_polygon = services.select_accounts(view, everyone, polygon=corners)
    assert by_box == by_polygon and by_box["total"] > 0
    # reversed corners (east before west) are the same rectangle
    assert services.select_accounts(view, everyone, bbox=(-118.0, 50.0, -125.0, 44.0)) == by_box


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ("-120,40;-110,40", "3 to"),
        ("-120,40;-110,40;abc", "vertex 3"),
        ("-120,40;-110,95;-115,45", "vertex 2"),
        ("-120,40;-110,40;-115,nan", "finite"),
    ],
)
def test_bad_lasso_is_refused_naming_the_vertex(seeded_engine: Engine, polygon, message) -> None:  # type: ignore[no-untyped-def]
    client, _ = _client(seeded_engine, "planner@example.com")
    answer = client.get(f"/workspace/api/selection?polygon={polygon}")
    assert answer.status_code == 400
    assert message in answer.json()["message"]
    both = client.get("/workspace/api/selection?polygon=-120,40;-110,40;-115,45&bbox=0,0,1,1")
    assert both.status_code == 400


def test_lasso_of_a_rep_and_a_crossed_ring(seeded_engine: Engine) -> None:
    view = services.plan_view(seeded_engine, "baseline")
    ana, _ = _client(seeded_engine, "ana@example.com")
    world = "-179,-80;179,-80;179,80;-179,80"
    mine = ana.get(f"/workspace/api/selection?polygon={world}").json()
    assert mine["total"] == int((view.codes == view.territory_ids.index("R01")).sum())
    # a figure eight covers both loops and nothing between them
    lat = np.array([45.0, 45.0])
    lon = np.array([-119.0, -111.0])
    eight = [(-120.0, 44.0), (-110.0, 46.0), (-110.0, 44.0), (-120.0, 46.0)]
    assert services.in_polygon(lat, lon, eight).tolist() == [True, True]
    assert services.in_polygon(np.array([47.0]), np.array([-115.0]), eight).tolist() == [False]


def test_territory_centres_are_rep_homes_else_the_accounts_mean(seeded_engine: Engine) -> None:
    view = services.plan_view(seeded_engine, "baseline")
    reps = view.data.reps.copy()
    reps.loc[reps["id"] == "R03", ["home_latitude", "home_longitude"]] = None
    data = dataclasses.replace(view.data, reps=reps)
    homeless = services.PlanView(
        data,
        None,
        view.name,
        view.territory_ids,
        view.codes,
        view.locked,
        view.measures,
        view.tolerance,
        view.status,
    )
    centres = homeless.centers()
    frame = data.frame
    for j, t in enumerate(view.territory_ids):
        if t == "R03":
            mine = (view.codes == j) & data.located
            expected = frame.loc[mine, ["latitude", "longitude"]].to_numpy().mean(axis=0)
        else:
            row = reps[reps["id"] == t].iloc[0]
            expected = np.array([row["home_latitude"], row["home_longitude"]], dtype=float)
        assert centres[j] == pytest.approx(expected)
