"""The market per territory, segment and state (issue 12, item 5): every figure is
checked against numbers computed here with plain Python from the raw rows of the
hand-drawn company; then the CLI, the API and the workspace page give the same."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from _goals_data import ACCOUNTS, ACTIVITIES, OPPS, SCORES, add_plan
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, update

from territorial.goals.market import NO_TERRITORY, market_by_territory
from territorial.store.scores import account_scores
from territorial.store.tables import accounts, opportunities, plan_assignments, reps

# Extra raw rows on top of the hand-drawn company.
EXTRA_ACCOUNTS = [  # A5 has no owner anywhere; A6 is in an industry nobody ever won in
    {"id": "A5", "name": "Epsilon", "segment": "SMB", "state": "CA", "industry": "Retail"},
    {"id": "A6", "name": "Zeta", "segment": "SMB", "state": "NY", "industry": "Mining"},
]
EXTRA_SCORES = {"A5": 5_000.0, "A6": 7_000.0}
NOT_SERVICEABLE = {"A4"}
DOMAINS = {"A1": "acme.example", "A3": "gamma.example"}
SPECIALTIES = {"R1": ["Tech"]}  # R2 lists none: covers everything
PRODUCTS = {"O1": "Core", "O3": "Core", "O5": "Analytics", "O8": "Core", "O6": "Analytics"}
SOURCES = {"O1": "Web", "O2": "Web", "O3": "Partner", "O5": "Web", "O6": "Partner"}
RULES = """
version: 1
name: market test
regions:
  - id: east
    match: {state: [NY]}
    territories:
      - {id: N, match: {}, owner: R2}
  - id: rest
    match: {state: [CA, TX]}
    territories:
      - {id: S, match: {}, owner: R1}
"""
# (lead id, e-mail, state, day routed, source field name, source): L1 twice (counted
# once, its newest decision); L5 before the window.
LEADS = [
    ("L1", "amy@acme.example", "CA", date(2026, 2, 1), "lead_source", "Web"),
    ("L1", "amy@acme.example", "CA", date(2026, 3, 1), "lead_source", "Web"),
    ("L2", "bo@gamma.example", "CA", date(2026, 3, 2), "LeadSource", "Web"),
    ("L3", "cy@free.example", "TX", date(2026, 3, 3), "Lead Source", "Partner"),
    ("L4", "di@free.example", "NY", date(2026, 3, 4), None, None),
    ("L5", "ed@free.example", "NY", date(2024, 1, 4), "lead_source", "Web"),
]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _prepare(engine: Engine, *, quotas: bool = False) -> int:
    """The active plan (N: A1, A2, A6 for R2; S: A3, A4 for R1), the extra rows, routed
    leads and, when asked, a FY2026 quota set."""
    from territorial.routing.service import RoutingService

    plan = add_plan(engine, status="active")
    with engine.begin() as conn:
        conn.execute(insert(accounts), EXTRA_ACCOUNTS)
        conn.execute(
            insert(plan_assignments),
            [{"plan_id": plan, "account_id": "A6", "territory_id": "N", "locked": False}],
        )
        for account, domain in DOMAINS.items():
            conn.execute(update(accounts).where(accounts.c.id == account).values(domain=domain))
        for rep, specs in SPECIALTIES.items():
            conn.execute(update(reps).where(reps.c.id == rep).values(specialties=specs))
        for opp in {*PRODUCTS, *SOURCES}:
            conn.execute(
                update(opportunities)
                .where(opportunities.c.id == opp)
                .values(product=PRODUCTS.get(opp), lead_source=SOURCES.get(opp))
            )
        conn.execute(
            update(account_scores)
            .where(account_scores.c.account_id.in_(NOT_SERVICEABLE))
            .values(serviceable=False)
        )
        template = dict(
            conn.execute(account_scores.select().where(account_scores.c.account_id == "A1"))
            .mappings()
            .one()
        )
        conn.execute(
            insert(account_scores),
            [{**template, "account_id": a, "potential": p} for a, p in EXTRA_SCORES.items()],
        )
    clock = Clock()
    service = RoutingService(engine, clock=clock)
    service.activate(service.upload_rules(RULES)["id"])
    for lead, email, state, day, field, source in LEADS:
        clock.now = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        record = {"id": lead, "email": email, "state": state}
        service.route({**record, **({field: source} if field else {})}, kind="lead")
    if quotas:
        from territorial.goals.quotas import plan_quotas, save_quotas

        save_quotas(engine, result=plan_quotas(engine, target=100_000, period="FY2026"))
    return plan


# --- the same figures, computed here from the raw rows ------------------------------
AS_OF = max(max(w.date() for *_, w in ACTIVITIES), max(d for *_, d, closed, _ in OPPS if closed))
TERRITORY = {"A1": "N", "A2": "N", "A6": "N", "A3": "S", "A4": "S"}
OWNER = {"N": "R2", "S": "R1"}
RAW_ACCOUNTS = {a["id"]: a for a in [*ACCOUNTS, *EXTRA_ACCOUNTS]}
POTENTIAL = {a: SCORES[a][0] for a in SCORES} | EXTRA_SCORES


def group_of(account: str, by: str) -> str:
    if by == "territory":
        return TERRITORY.get(account, NO_TERRITORY)
    return RAW_ACCOUNTS[account][by] or "unknown"


def expected_market(by: str, activity_days: int, window_days: int) -> dict[str, dict]:
    first_active = AS_OF - timedelta(days=activity_days - 1)
    window_start = AS_OF - timedelta(days=window_days - 1)
    last_touch: dict[str, date] = {}
    for _, account, _, _, when in ACTIVITIES:
        last_touch[account] = max(last_touch.get(account, when.date()), when.date())
    won_industries = {RAW_ACCOUNTS[a]["industry"] for _, a, *_, won in OPPS if won}
    won_segments = {RAW_ACCOUNTS[a]["segment"] for _, a, *_, won in OPPS if won}
    out: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for account, raw in RAW_ACCOUNTS.items():
        row = out[group_of(account, by)]
        potential = POTENTIAL[account]
        territory = TERRITORY.get(account)
        owned = territory is not None
        active = owned and last_touch.get(account, date.min) >= first_active
        specs = [s.lower() for s in SPECIALTIES.get(OWNER.get(territory, ""), [])]
        not_covered = (
            owned and bool(specs) and raw["industry"].lower() not in specs
            and raw["segment"].lower() not in specs
        )  # fmt: skip
        row["accounts"] += 1
        row["tam"] += potential
        row["potential"] += potential if owned else 0
        if (
            account not in NOT_SERVICEABLE
            and raw["industry"] in won_industries
            and raw["segment"] in won_segments
        ):
            row["sam"] += potential
        row["ws_no_owner"] += 0 if owned else potential
        row["ws_no_activity"] += potential if owned and not active else 0
        row["ws_not_covered"] += potential if not_covered else 0
        row["white_space"] += potential if (not owned or not active or not_covered) else 0
    for _, account, _, amount, _, close, _closed, won in OPPS:
        if won and window_start <= close <= AS_OF:
            out[group_of(account, by)]["bookings"] += amount
            out[group_of(account, by)]["won"] += 1
    return {k: dict(v) for k, v in out.items()}


def terciles(values: dict[str, float]) -> dict[str, str]:
    ordered = sorted(values, key=values.__getitem__)
    n = len(ordered)
    return {
        k: "low" if (i + 1) / n <= 1 / 3 else "high" if (i + 1) / n > 2 / 3 else "medium"
        for i, k in enumerate(ordered)
    }


@pytest.mark.parametrize("by", ["territory", "segment", "state"])
def test_market_figures_match_the_raw_rows(tiny: Engine, by: str) -> None:
    _prepare(tiny)
    view = market_by_territory(tiny, by=by, activity_days=30, window_days=365)
    assert view.attrs["as_of"] == AS_OF.isoformat()
    expected = expected_market(by, 30, 365)
    market = view.market.set_index("key")
    assert set(market.index) == set(expected)
    for key, figures in expected.items():
        for column in ("tam", "potential", "sam", "ws_no_owner", "ws_no_activity"):
            assert market.loc[key, column] == pytest.approx(figures.get(column, 0.0)), (key, column)
        for column in ("ws_not_covered", "white_space", "bookings"):
            assert market.loc[key, column] == pytest.approx(figures.get(column, 0.0)), (key, column)
        assert market.loc[key, "accounts"] == figures["accounts"]
        assert market.loc[key, "won"] == figures.get("won", 0)
        assert market.loc[key, "penetration"] == pytest.approx(
            figures.get("bookings", 0.0) / figures["tam"], abs=1e-4
        )
    # The reasons are real: each kind of white space shows up somewhere.
    assert market["ws_no_activity"].sum() > 0 and market["ws_not_covered"].sum() > 0
    assert market["ws_no_owner"].sum() == pytest.approx(EXTRA_SCORES["A5"])
    assert market["sam"].sum() < market["tam"].sum()
    # Tiers (no quota set: by penetration) and the under-market flag.
    ranked = [k for k in expected if k != NO_TERRITORY]
    potential_tier = terciles({k: expected[k]["tam"] for k in ranked})
    basis = {k: expected[k].get("bookings", 0.0) / expected[k]["tam"] for k in ranked}
    attainment_tier = terciles(basis)
    assert view.attrs["attainment_basis"] == "penetration"
    for key in ranked:
        assert market.loc[key, "potential_tier"] == potential_tier[key]
        assert market.loc[key, "attainment_tier"] == attainment_tier[key]
        assert bool(market.loc[key, "under_market"]) == (
            potential_tier[key] == "high" and attainment_tier[key] == "low"
        )
    if by == "territory":
        assert market.loc[NO_TERRITORY, "potential_tier"] is None
        assert market.loc["N", "rep_id"] == "R2" and market.loc["N", "name"] == "North"
    if by == "state":  # TX: the largest market, the smallest share of it
        assert bool(market.loc["TX", "under_market"])


def test_funnel_and_product_mix_match_the_raw_rows(tiny: Engine) -> None:
    _prepare(tiny)
    view = market_by_territory(tiny, by="territory", window_days=365)
    window_start = AS_OF - timedelta(days=364)
    expected: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    newest: dict[str, tuple] = {}
    for lead, email, state, day, _, source in LEADS:
        if window_start <= day <= AS_OF:
            newest[lead] = (email, state, source)
    # L1 matches A1 (N), L2 matches A3 (S): their account's territory; L3 (TX) and L4
    # (NY) match no account and count where routing sent them.
    matched = {"acme.example": "A1", "gamma.example": "A3"}
    rule_territory = {"NY": "N", "CA": "S", "TX": "S"}
    for email, state, source in newest.values():
        account = matched.get(email.split("@")[1])
        key = TERRITORY[account] if account else rule_territory[state]
        expected[(key, source or "unknown")]["leads"] += 1
    for opp, account, _, amount, created, close, closed, won in OPPS:
        if window_start <= created <= AS_OF:
            row = expected[(TERRITORY.get(account, NO_TERRITORY), SOURCES.get(opp, "unknown"))]
            row["opportunities"] += 1
            row["pipeline"] += amount
            row["won"] += 1 if closed and won and close <= AS_OF else 0
            row["lost"] += 1 if closed and not won and close <= AS_OF else 0
            row["bookings"] += amount if closed and won and close <= AS_OF else 0
    funnel = view.funnel.set_index(["key", "lead_source"])
    assert set(funnel.index) == set(expected)
    for index, figures in expected.items():
        for column in ("leads", "opportunities", "won", "lost"):
            assert funnel.loc[index, column] == figures.get(column, 0), (index, column)
        for column in ("pipeline", "bookings"):
            assert funnel.loc[index, column] == pytest.approx(figures.get(column, 0.0))
        leads = figures.get("leads", 0)
        if leads:
            assert funnel.loc[index, "lead_to_opportunity"] == pytest.approx(
                figures.get("opportunities", 0) / leads, abs=1e-4
            )
        else:
            assert pd.isna(funnel.loc[index, "lead_to_opportunity"])
    assert funnel["leads"].sum() == 4  # L1 once, L5 outside the window

    products: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for opp, account, _, amount, _, close, closed, won in OPPS:
        if closed and won and window_start <= close <= AS_OF:
            cell = products[(TERRITORY.get(account, NO_TERRITORY), PRODUCTS.get(opp, "unknown"))]
            cell[0] += 1
            cell[1] += amount
    mix = view.products.set_index(["key", "product"])
    assert set(mix.index) == set(products)
    for index, (won_count, bookings) in products.items():
        assert mix.loc[index, "won"] == won_count
        assert mix.loc[index, "bookings"] == pytest.approx(bookings)
        total = sum(b for (k, _), (_, b) in products.items() if k == index[0])
        assert mix.loc[index, "share"] == pytest.approx(bookings / total, abs=1e-4)
    # The product mix adds up to the market table's bookings.
    by_key = view.products.groupby("key")["bookings"].sum()
    market = view.market.set_index("key")
    for key, total in by_key.items():
        assert market.loc[key, "bookings"] == pytest.approx(total)


def test_attainment_tiers_come_from_the_quota_standings(tiny_sqlite: Engine) -> None:
    from territorial.store.goals import get_quota_set, read_quota_rows

    _prepare(tiny_sqlite, quotas=True)
    view = market_by_territory(tiny_sqlite, by="territory")
    assert view.attrs["attainment_basis"] == "attainment"
    header = get_quota_set(tiny_sqlite)
    quotas = read_quota_rows(tiny_sqlite, quota_set_id=int(header["id"])).set_index("territory_id")[
        "quota"
    ]
    booked: dict[str, float] = defaultdict(float)
    for _, account, _, amount, _, close, closed, won in OPPS:
        if closed and won and header["period_start"] <= close <= AS_OF and account in TERRITORY:
            booked[TERRITORY[account]] += amount
    market = view.market.set_index("key")
    for territory in ("N", "S"):
        assert market.loc[territory, "quota"] == pytest.approx(quotas[territory], abs=0.01)
        assert market.loc[territory, "attainment"] == pytest.approx(
            booked[territory] / quotas[territory], abs=1e-4
        )
    tiers = terciles({t: booked[t] / quotas[t] for t in ("N", "S")})
    assert market.loc[["N", "S"], "attainment_tier"].to_dict() == tiers


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "planet"}, "--by 'planet'"),
        ({"activity_days": -5}, "--activity-days -5"),
        ({"activity_days": 0}, "--activity-days 0"),
        ({"window_days": -1}, "--window-days -1"),
    ],
)
def test_bad_options_are_refused(tiny_sqlite: Engine, kwargs: dict, message: str) -> None:
    from territorial.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        market_by_territory(tiny_sqlite, **kwargs)


# --- CLI ----------------------------------------------------------------------------------
def run(argv: list[str], url: str) -> int:
    from territorial.cli import main

    try:
        main([*argv, "--database", url])
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def test_cli_writes_three_tables(tiny_sqlite: Engine, sqlite_url: str, tmp_path: Path) -> None:
    _prepare(tiny_sqlite)
    view = market_by_territory(tiny_sqlite, by="state", activity_days=30)
    out = tmp_path / "market.csv"
    assert (
        run(["market", "--by", "state", "--activity-days", "30", "--out", str(out)], sqlite_url)
        == 0
    )
    written = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert written["key"].tolist() == view.market["key"].tolist()
    assert written["white_space"].tolist() == pytest.approx(view.market["white_space"].tolist())
    funnel = pd.read_csv(tmp_path / "market_funnel.csv")
    assert funnel["leads"].sum() == view.funnel["leads"].sum() == 4
    products = pd.read_csv(tmp_path / "market_products.csv")
    assert products["bookings"].sum() == pytest.approx(view.products["bookings"].sum())
    xlsx = tmp_path / "market.xlsx"
    assert run(["market", "--by", "territory", "--out", str(xlsx)], sqlite_url) == 0
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert list(sheets) == ["market", "funnel", "products"]
    assert NO_TERRITORY in set(sheets["market"]["key"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "planet"], "--by 'planet'"),
        (["--by", "state", "--activity-days", "-3"], "--activity-days -3"),
        (["--by", "state", "--config", "x.yaml"], "--config"),
        (["--activity-days", "30"], "go with --by"),
    ],
)
def test_cli_bad_input_writes_nothing(
    tiny_sqlite: Engine,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "market.csv"
    assert run(["market", *args, "--out", str(out)], sqlite_url) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.glob("market*")) == []


# --- API and workspace ----------------------------------------------------------------
TOKEN = "market-token"
PASSWORD = "market-password-1"


@pytest.fixture
def app_client(tiny_sqlite: Engine, sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    from territorial.api.app import create_app
    from territorial.settings import load_settings
    from territorial.web import auth

    _prepare(tiny_sqlite)
    for email, role, rep in [
        ("lead@example.com", "admin", None),
        ("boss@example.com", "manager", "M1"),
        ("rep@example.com", "rep", "R1"),
    ]:
        auth.add_user(tiny_sqlite, email=email, role=role, password=PASSWORD, rep_id=rep)
    settings = load_settings(database_url=sqlite_url, api_token=TOKEN, home=str(tmp_path / "h"))
    with TestClient(create_app(settings, engine=tiny_sqlite)) as client:
        yield client


def test_api_gives_the_same_figures(app_client: TestClient, tiny_sqlite: Engine) -> None:
    auth_header = {"Authorization": f"Bearer {TOKEN}"}
    assert app_client.get("/api/market").status_code == 401
    answer = app_client.get("/api/market?by=segment&activity_days=30", headers=auth_header)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    view = market_by_territory(tiny_sqlite, by="segment", activity_days=30)
    rows = pd.DataFrame(body["market"])
    assert rows["key"].tolist() == view.market["key"].tolist()
    assert rows["ws_no_activity"].tolist() == view.market["ws_no_activity"].tolist()
    assert rows["under_market"].tolist() == view.market["under_market"].tolist()
    assert len(body["funnel"]) == len(view.funnel) and len(body["products"]) == len(view.products)
    assert body["attainment_basis"] == "penetration" and body["activity_days"] == 30
    csv = app_client.get("/api/market?table=products&format=csv", headers=auth_header)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "key,product,won,bookings,share"
    xlsx = app_client.get("/api/market?by=state&format=xlsx", headers=auth_header)
    assert list(pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)) == [
        "market",
        "funnel",
        "products",
    ]
    for query, status in (
        ("by=planet", 400),
        ("activity_days=-1", 400),
        ("window_days=0", 400),
        ("table=everything", 422),
        ("bogus=1", 422),
    ):
        assert app_client.get(f"/api/market?{query}", headers=auth_header).status_code == status


def _log_in(client: TestClient, email: str) -> None:
    page = client.get("/workspace/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/workspace/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303


def _cells(html: str, testid: str) -> list[str]:
    table = re.search(rf'data-testid="{testid}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return re.findall(r'<tr[^>]*>\s*<td data-value="([^"]*)"', table)


def test_page_for_leaders_and_managers_not_reps(
    app_client: TestClient, tiny_sqlite: Engine
) -> None:
    _log_in(app_client, "lead@example.com")
    page = app_client.get("/workspace/market?by=state&activity_days=30")
    assert page.status_code == 200
    assert 'href="/workspace/market"' in page.text  # the nav link
    view = market_by_territory(tiny_sqlite, by="state", activity_days=30)
    assert _cells(page.text, "market") == view.market["key"].tolist()
    assert len(_cells(page.text, "funnel")) == len(view.funnel)
    assert len(_cells(page.text, "products")) == len(view.products)
    download = app_client.get("/workspace/market/market.csv?by=state&table=funnel")
    assert download.text.splitlines()[0].startswith("key,lead_source,leads")
    assert app_client.get("/workspace/market?by=planet").status_code == 400
    assert app_client.get("/workspace/market?activity_days=-2").status_code == 400

    app_client.cookies.clear()
    _log_in(app_client, "boss@example.com")
    page = app_client.get("/workspace/market")
    assert page.status_code == 200
    assert sorted(_cells(page.text, "market")) == ["N", "S"]  # not the unowned accounts
    assert app_client.get("/workspace/market?by=state").status_code == 403

    app_client.cookies.clear()
    _log_in(app_client, "rep@example.com")
    assert app_client.get("/workspace/market").status_code == 403
    assert 'href="/workspace/market"' not in app_client.get("/workspace/").text


def test_performance_by_product_matches_the_raw_rows(tiny_sqlite: Engine) -> None:
    from territorial.goals.performance import performance_table

    _prepare(tiny_sqlite)
    table = performance_table(
        tiny_sqlite, by="product", grain="quarter", start=date(2025, 7, 1), end=AS_OF
    )
    expected: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0, 0])
    for opp, _, _, amount, _, close, closed, won in OPPS:
        if closed and date(2025, 7, 1) <= close <= AS_OF:
            cell = expected[
                (PRODUCTS.get(opp, "unknown"), f"{close.year}-Q{(close.month + 2) // 3}")
            ]
            cell[0] += amount if won else 0.0
            cell[1] += 1 if won else 0
            cell[2] += 0 if won else 1
    got = table[(table["won"] + table["lost"]) > 0].set_index(["key", "period"])
    assert set(got.index) == set(expected)
    for index, (bookings, won_count, lost_count) in expected.items():
        assert got.loc[index, "bookings"] == pytest.approx(bookings)
        assert (got.loc[index, "won"], got.loc[index, "lost"]) == (won_count, lost_count)
    assert table["activities"].sum() == 0 and table["quota"].isna().all()
