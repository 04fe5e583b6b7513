"""Territories made of areas: counties located, bordered, split and checked for contiguity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from territorial.design.areas import (
    contiguous_territories,
    county_border_pairs,
    county_units,
    locate_counties,
    territory_pieces,
)
from territorial.errors import ConfigError

OKC = (35.4676, -97.5164)  # Oklahoma City, Oklahoma County 40109
NORMAN = (35.2226, -97.4395)  # Cleveland County 40027
TULSA = (36.154, -95.9928)  # Tulsa County 40143
STILWELL = (35.8145, -94.6286)  # Adair County 40001
EL_RENO = (35.5323, -97.955)  # Canadian County 40017


@pytest.mark.parametrize(
    ("point", "fips"),
    [(OKC, "40109"), (NORMAN, "40027"), (TULSA, "40143"), (STILWELL, "40001"), (EL_RENO, "40017")],
)
def test_locate_counties_by_point_in_polygon(point, fips) -> None:
    assert locate_counties([point[0]], [point[1]]).tolist() == [fips]


def test_points_off_the_coast_and_far_away() -> None:
    # just off Miami Beach: nearest county; mid-Atlantic: none, with a warning
    with pytest.warns(UserWarning, match="from every US county"):
        got = locate_counties([25.79, 30.0, np.nan], [-80.11, -40.0, 0.0])
    assert got.tolist() == ["12086", "", ""]


def test_real_county_neighbours() -> None:
    fips = ["40109", "40027", "40017", "40143", "40001", "40081"]  # 40081 Lincoln
    pairs = {frozenset((fips[a], fips[b])) for a, b in county_border_pairs(fips).tolist()}
    assert frozenset(("40109", "40027")) in pairs  # Oklahoma - Cleveland
    assert frozenset(("40109", "40017")) in pairs  # Oklahoma - Canadian
    assert frozenset(("40109", "40081")) in pairs  # Oklahoma - Lincoln
    assert frozenset(("40109", "40143")) not in pairs  # Oklahoma - Tulsa: apart
    assert frozenset(("40027", "40001")) not in pairs  # Cleveland - Adair: far apart


def _book(rng: np.random.Generator, centres, counts) -> pd.DataFrame:
    """Accounts scattered a few miles around each centre, one workload hour each."""
    rows = []
    for (lat, lon), n in zip(centres, counts, strict=True):
        lat_ = lat + rng.normal(0, 0.03, n)
        lon_ = lon + rng.normal(0, 0.03, n)
        rows.append(pd.DataFrame({"latitude": lat_, "longitude": lon_}))
    book = pd.concat(rows, ignore_index=True)
    book["id"] = [f"A{i:04d}" for i in range(len(book))]
    book["workload"] = 1.0
    book["potential"] = rng.uniform(50, 150, len(book))
    return book


@pytest.fixture(scope="module")
def oklahoma() -> tuple[pd.DataFrame, object]:
    # OKC is heavy (300 of 400 accounts), the rest light; 8 territories of 50 accounts
    rng = np.random.default_rng(0)
    book = _book(rng, [OKC, NORMAN, TULSA, STILWELL], [300, 40, 40, 20])
    areas = county_units(book, measures=["workload", "potential"], n_territories=8, split_share=0.2)
    return book, areas


def test_units_cover_the_state_and_keep_every_account(oklahoma) -> None:
    book, areas = oklahoma
    units = areas.units
    assert set(units["county"]) == {f for f in units["county"] if f.startswith("40")}
    assert units["county"].nunique() == 77  # every Oklahoma county, empty ones included
    assert len(areas.account_unit) == len(book)
    assert units["workload"].sum() == pytest.approx(400)
    assert units["potential"].sum() == pytest.approx(book["potential"].sum())
    members = areas.members()
    assert sum(len(v) for v in members.values()) == 400


def test_heavy_county_is_split_into_parts_that_make_balance_reachable(oklahoma) -> None:
    _, areas = oklahoma
    units = areas.units
    parts = units[units["county"] == "40109"]
    assert len(parts) >= 5 and all(parts["id"].str.startswith("40109-p"))
    # territory mean = 50 accounts, a part at most about 20% of it
    mean = 400 / 8
    assert parts["workload"].max() <= 0.3 * mean
    assert parts[["workload"]].sum().iloc[0] == pytest.approx(
        areas.account_unit.str.startswith("40109").sum()
    )
    # every part is one piece that tiles the county
    import shapely

    from territorial.geometry import county_shapes

    fips, shapes = county_shapes()
    county = shapes[fips.index("40109")]
    pieces = [areas.shapes[i] for i in parts.index]
    assert shapely.union_all(pieces).symmetric_difference(county).area < 1e-6 * county.area + 1e-9
    # one piece each, but for a sliver the county's border can cut off a Voronoi cell
    assert sum(p.geom_type == "Polygon" for p in pieces) >= 0.9 * len(pieces)


def test_parts_have_real_neighbours(oklahoma) -> None:
    _, areas = oklahoma
    ids = areas.units["id"].to_numpy()
    frame = areas.edges_frame()
    assert not frame["link"].any()  # Oklahoma is one piece of land
    pairs = {frozenset((a, b)) for a, b in frame[["a", "b"]].itertuples(index=False)}
    parts = [u for u in ids if u.startswith("40109-p")]
    # each part touches another part or a neighbouring county
    for part in parts:
        assert any(part in pair for pair in pairs)
    # the county's neighbours still border it (through some part)
    county_of = dict(zip(areas.units["id"], areas.units["county"], strict=True))
    for neighbour in ("40027", "40017", "40081"):  # Cleveland is split too
        assert any(
            county_of[a] == neighbour or county_of[b] == neighbour
            for pair in pairs
            if any(p in pair for p in parts)
            for a, b in [tuple(pair)]
        )
    # Tulsa (not split) keeps its own neighbours and never touches OKC's parts
    assert not any({county_of[a], county_of[b]} == {"40109", "40143"} for a, b in map(tuple, pairs))
    assert any({county_of[a], county_of[b]} == {"40143", "40131"} for a, b in map(tuple, pairs))


def test_whole_graph_is_connected_and_a_design_is_contiguous(oklahoma) -> None:
    from territorial.design.engine import design
    from territorial.design.problem import Balance, DesignProblem

    _, areas = oklahoma
    u = areas.units
    problem = DesignProblem(
        unit_ids=u["id"].to_numpy(),
        coords=u[["lat", "lon"]].to_numpy(),
        measures=u[["workload"]].to_numpy(),
        measure_names=("workload",),
        n_territories=8,
        balance=(Balance("workload", 0.15),),
        coord_kind="latlon",
        edges=areas.edges,
        edge_lengths=areas.edge_lengths,
        contiguity=True,
    )
    result = design(problem, time_limit=20, seed=1)
    assert result.feasible
    assignment = result.plan.assignment
    assert areas.contiguous_count(assignment) == 8
    # the dashboard's count from account rows agrees
    accounts = pd.DataFrame({"id": areas.account_unit.index, "unit": areas.account_unit.values})
    territory = dict(zip(u["id"], np.asarray(result.plan.territory_ids)[assignment], strict=True))
    accounts["territory"] = accounts["unit"].map(territory)
    located = oklahoma[0].set_index("id").loc[accounts["id"], ["latitude", "longitude"]]
    accounts[["latitude", "longitude"]] = located.to_numpy()
    assert contiguous_territories(accounts) == accounts["territory"].nunique()


def test_contiguous_territories_on_a_hand_drawn_plan() -> None:
    rows = pd.DataFrame(
        {
            "territory": ["A", "A", "B", "B", "C", None],
            "county_fips": ["40109", "40027", "40143", "15001", "40017", "40001"],
        }
    )
    # A: Oklahoma + Cleveland share a border; B: Tulsa and Hawaii's Big Island cannot;
    # C: one county
    assert contiguous_territories(rows) == 2
    # Tulsa and Adair are apart but joined through land nobody holds: one piece
    apart = pd.DataFrame({"territory": ["B", "B"], "county_fips": ["40143", "40001"]})
    assert contiguous_territories(apart) == 1
    land = ["40017", "15001"]  # a territory elsewhere does not block the way
    assert (
        contiguous_territories(
            pd.concat([apart, pd.DataFrame({"territory": "W", "county_fips": land})])
        )
        == 1
    )
    with pytest.raises(ConfigError, match="territory"):
        contiguous_territories(rows.drop(columns="territory"))


def test_territory_pieces_count_islands_as_joined_only_across_water() -> None:
    rows = pd.DataFrame(
        {
            # A: Tulsa (Oklahoma) and Hawaii's Big Island: one piece on each land mass
            # B: Oklahoma County and Cleveland: one piece on land
            # D: Cimarron (Oklahoma), the Big Island and Kauai (two more islands)
            "territory": ["A", "A", "B", "B", "D", "D", "D"],
            "county_fips": ["40143", "15001", "40109", "40027", "40025", "15001", "15007"],
        }
    )
    pieces = territory_pieces(rows)
    assert (pieces.territories, pieces.on_land, pieces.joined) == (3, 1, 3)
    # two pieces on one land mass (Cimarron and McCurtain, both ends of Oklahoma) are
    # not joined when other territories hold every county between them
    between = [f for f in _oklahoma_fips() if f not in ("40025", "40089")]
    split = pd.DataFrame(
        {
            "territory": ["S", "S", *["W"] * len(between)],
            "county_fips": ["40025", "40089", *between],
        }
    )
    pieces = territory_pieces(split)
    assert (pieces.territories, pieces.on_land, pieces.joined) == (2, 1, 1)


def _oklahoma_fips() -> list[str]:
    from territorial.geometry import county_geometries

    return sorted(f for f in county_geometries() if f.startswith("40"))


def test_bad_input_is_refused() -> None:
    book = pd.DataFrame({"id": ["a"], "latitude": [35.0], "longitude": [-97.0], "hours": [1.0]})
    with pytest.raises(ConfigError, match="'workload'"):
        county_units(book, measures=["workload"], n_territories=2)
    with pytest.raises(ConfigError, match="split_share"):
        county_units(book, measures=["hours"], n_territories=2, split_share=0)
    with pytest.raises(ConfigError, match="not in us-atlas"):
        county_units(book.assign(county_fips="99999"), measures=["hours"], n_territories=2)


def test_store_adapter_designs_on_counties(sqlite_url: str) -> None:
    from sqlalchemy import insert

    from territorial.design.adapters import problem_from_store
    from territorial.store import open_store
    from territorial.store.tables import accounts, reps

    engine = open_store(sqlite_url)
    points = [OKC] * 6 + [NORMAN] * 2 + [TULSA] * 3 + [STILWELL]
    with engine.begin() as conn:
        conn.execute(
            insert(accounts),
            [
                {
                    "id": f"A{i}", "name": f"Acme {i}", "latitude": lat + 0.01 * (i % 3),
                    "longitude": lon + 0.01 * (i % 2), "annual_revenue": 1e6,
                    "industry": "Retail",
                }
                for i, (lat, lon) in enumerate(points)
            ],
        )  # fmt: skip
        conn.execute(
            insert(reps),
            [
                {"id": rid, "name": rid, "active": True,
                 "home_latitude": lat, "home_longitude": lon}
                for rid, (lat, lon) in (("R1", OKC), ("R2", TULSA))
            ],
        )  # fmt: skip
    problem, unit_of = problem_from_store(
        engine, measures=["accounts"], tolerance=0.5, unit="counties"
    )
    assert problem.contiguity and problem.edges is not None
    assert problem.territory_ids == ("R1", "R2")
    assert len(set(unit_of.str[:5])) == 4 and unit_of["A8"].startswith("40143")
    assert problem.n_units >= 77  # every Oklahoma county
    assert problem.measures[:, 0].sum() == 12
    with pytest.raises(ConfigError, match="--specialties works on accounts"):
        problem_from_store(engine, measures=["accounts"], tolerance=0.5, unit="county",
                           specialties=True)  # fmt: skip
    engine.dispose()
