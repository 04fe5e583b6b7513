"""The sample company: shape, referential integrity, geography, history and the planted model."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territorial.domain.model import CHANNELS, INDUSTRIES, SEGMENTS, segment_for_employees
from territorial.geometry import great_circle_km
from territorial.sample import (
    ACCOUNT_COLUMNS,
    ACTIVITY_COLUMNS,
    OPPORTUNITY_COLUMNS,
    REP_COLUMNS,
    STAGES,
    SampleCompany,
    generate_company,
    win_logit,
)
from territorial.sample.reference import load_gazetteer
from territorial.sample.vocabulary import PRODUCTS, ROLES, TECHNOLOGIES
from territorial.store import tables as store_tables
from territorial.store.imports import ADDED_COLUMNS  # optional CRM fields

AS_OF = date(2026, 10, 31)
WINDOW_START = pd.Timestamp("2023-11-01")


@pytest.fixture(scope="module")
def company() -> SampleCompany:
    return generate_company(accounts=2000, reps=20, seed=7)


@pytest.fixture(scope="module")
def larger() -> SampleCompany:
    """Enough deals for shares and monthly counts to be stable (sampling noise ~2%)."""
    return generate_company(accounts=20_000, reps=40, seed=3)


def _store_columns(table_name: str) -> set[str]:
    internal = {"import_id", "geocode_source", "attributes", *ADDED_COLUMNS.get(table_name, ())}
    return {c.name for c in store_tables.metadata.tables[table_name].columns} - internal


@pytest.mark.parametrize(
    ("entity", "columns"),
    [
        ("accounts", ACCOUNT_COLUMNS),
        ("reps", REP_COLUMNS),
        ("opportunities", OPPORTUNITY_COLUMNS),
        ("activities", ACTIVITY_COLUMNS),
    ],
)
def test_columns_are_the_store_canonical_names(
    company: SampleCompany, entity: str, columns: tuple[str, ...]
) -> None:
    frame = company.tables()[entity]
    assert tuple(frame.columns) == columns
    assert _store_columns(entity) <= set(columns)
    if entity == "accounts":
        extra = set(columns) - _store_columns(entity)
        assert extra == {"technology", "web_visits_30d", "hiring", "new_executive"}
    elif entity == "opportunities":  # lead_source is an optional CRM column of the store
        assert set(columns) - _store_columns(entity) == {"lead_source"}
        assert "lead_source" in ADDED_COLUMNS["opportunities"]
    else:
        assert set(columns) == _store_columns(entity)


def test_requested_sizes(company: SampleCompany) -> None:
    assert len(company.accounts) == 2000
    assert len(company.reps) == 20
    # ~1-2 opportunities and ~3-5 activities per account over three years
    assert 1.0 <= len(company.opportunities) / 2000 <= 2.0
    assert 2.5 <= len(company.activities) / 2000 <= 5.5


@pytest.mark.parametrize("entity", ["accounts", "reps", "opportunities", "activities"])
def test_ids_are_unique_and_non_empty(company: SampleCompany, entity: str) -> None:
    ids = company.tables()[entity]["id"]
    assert ids.notna().all()
    assert ids.is_unique


def test_references_point_at_existing_rows(company: SampleCompany) -> None:
    account_ids = set(company.accounts["id"])
    rep_ids = set(company.reps["id"])
    assert set(company.opportunities["account_id"]) <= account_ids
    assert set(company.activities["account_id"]) <= account_ids
    assert set(company.accounts["owner_id"].dropna()) <= rep_ids
    assert set(company.opportunities["owner_id"].dropna()) <= rep_ids
    assert set(company.activities["rep_id"].dropna()) <= rep_ids
    managers = set(company.reps.loc[company.reps["role"] == "Manager", "id"])
    assert set(company.reps["manager_id"].dropna()) <= managers


def test_account_values_are_in_range(company: SampleCompany) -> None:
    a = company.accounts
    assert a["latitude"].between(18.0, 72.0).all()
    assert a["longitude"].between(-180.0, -65.0).all()
    assert a["employees"].between(1, 200_000).all()
    assert (a["annual_revenue"] > 0).all()
    assert set(a["industry"]) <= set(INDUSTRIES)
    assert set(a["technology"]) <= set(TECHNOLOGIES)
    assert (a["segment"] == a["employees"].map(segment_for_employees)).all()
    assert a["postal_code"].str.fullmatch(r"\d{5}").all()
    assert (a["country"] == "US").all() and (a["currency"] == "USD").all()
    assert a["domain"].is_unique
    assert a["name"].str.len().gt(3).all()
    assert (a["web_visits_30d"] >= 0).all()


def test_accounts_sit_near_their_city(company: SampleCompany) -> None:
    gaz = load_gazetteer()
    centre = pd.DataFrame(
        {
            "city": gaz.place_name,
            "state": gaz.place_state,
            "lat": gaz.place_latitude,
            "lon": gaz.place_longitude,
        }
    ).drop_duplicates(["city", "state"])
    a = company.accounts.astype({"city": object, "state": object})
    merged = a.merge(centre, on=["city", "state"], how="left")
    assert merged["lat"].notna().all()
    distance = great_circle_km(
        merged["latitude"].to_numpy(),
        merged["longitude"].to_numpy(),
        merged["lat"].to_numpy(),
        merged["lon"].to_numpy(),
    )
    # jitter is a few km; the biggest cities span ~40 km from their centre point
    assert np.median(distance) < 10
    assert np.quantile(distance, 0.95) < 45


def _metro_of(latitude: np.ndarray, longitude: np.ndarray, count: int = 10) -> np.ndarray:
    """Index of the metro (60 km around one of the ``count`` largest places) or -1."""
    gaz = load_gazetteer()
    centres: list[int] = []
    for i in np.argsort(-gaz.place_population):
        far = all(
            great_circle_km(
                gaz.place_latitude[i], gaz.place_longitude[i],
                gaz.place_latitude[j], gaz.place_longitude[j],
            ) > 60
            for j in centres
        )  # fmt: skip
        if far:
            centres.append(int(i))
        if len(centres) == count:
            break
    distance = np.stack(
        [
            great_circle_km(latitude, longitude, gaz.place_latitude[j], gaz.place_longitude[j])
            for j in centres
        ]
    )
    return np.where(distance.min(axis=0) <= 60, distance.argmin(axis=0), -1)


def test_geography_follows_population_without_monopoly(company: SampleCompany) -> None:
    a = company.accounts
    assert a["state"].nunique() >= 40
    state_share = a["state"].value_counts(normalize=True)
    assert state_share.iloc[0] < 0.25  # California is big, not everything
    metro = _metro_of(a["latitude"].to_numpy(), a["longitude"].to_numpy())
    top10 = (metro >= 0).mean()
    largest_metro = np.bincount(metro[metro >= 0], minlength=10).max() / len(metro)
    assert 0.15 <= top10 <= 0.50, top10
    assert 0.03 <= largest_metro <= 0.15, largest_metro
    # state shares track state populations
    gaz = load_gazetteer()
    population = pd.Series(gaz.place_population, index=gaz.place_state).groupby(level=0).sum()
    joined = pd.concat([state_share, population / population.sum()], axis=1).fillna(0.0)
    assert joined.corr(method="spearman").iloc[0, 1] > 0.85


def test_industry_mix_varies_by_region(larger: SampleCompany) -> None:
    a = larger.accounts

    def share(industry: str, states: list[str]) -> float:
        subset = a[a["state"].isin(states)]
        return float((subset["industry"] == industry).mean())

    everywhere = list(a["state"].unique())
    assert share("Energy", ["TX", "OK", "ND", "LA"]) > 2 * share("Energy", everywhere)
    assert share("Software", ["CA", "WA", "MA"]) > 1.5 * share("Software", everywhere)
    assert share("Government", ["DC", "VA", "MD"]) > 2 * share("Government", everywhere)
    assert share("Agriculture", ["IA", "NE", "KS"]) > 2 * share("Agriculture", everywhere)


def test_size_is_heavy_tailed(company: SampleCompany) -> None:
    employees = company.accounts["employees"]
    segments = company.accounts["segment"].value_counts(normalize=True)
    assert segments["SMB"] > 0.6 and 0.01 < segments["Enterprise"] < 0.10
    assert employees.max() > 50 * employees.median()
    revenue_per_employee = company.accounts["annual_revenue"] / employees
    by_industry = revenue_per_employee.groupby(company.accounts["industry"]).median()
    assert by_industry["Energy"] > 3 * by_industry["Hospitality"]


def test_reps(company: SampleCompany) -> None:
    r = company.reps
    assert set(r["role"]) <= set(ROLES)
    assert {"Account Executive", "Senior AE", "SDR", "Manager"} <= set(r["role"])
    sellers = r[r["role"] != "Manager"]
    assert sellers["capacity_hours"].between(35, 45).all()
    assert r["manager_id"].isna().eq(r["role"] == "Manager").all()
    assert r["email"].is_unique
    assert (r["start_date"] <= pd.Timestamp(AS_OF)).all()
    tokens = {t for text in r["specialties"].dropna() for t in text.split("|")}
    assert tokens <= set(INDUSTRIES) | set(SEGMENTS)
    owners = r[r["role"].isin(["Account Executive", "Senior AE"])]
    assert (owners["max_accounts"] > 0).all()


def test_owners_are_mostly_nearby_active_reps(company: SampleCompany) -> None:
    a = company.accounts
    owned = a[a["owner_id"].notna()]
    assert 0.5 < len(owned) / len(a) < 0.97  # some whitespace
    reps = company.reps.set_index("id")
    home = reps.loc[owned["owner_id"]]
    assert home["active"].mean() > 0.9
    distance = great_circle_km(
        owned["latitude"].to_numpy(),
        owned["longitude"].to_numpy(),
        home["home_latitude"].to_numpy(),
        home["home_longitude"].to_numpy(),
    )
    # an owner is one of the few sellers closest to the account (with 20 reps: a region)
    assert np.median(distance) < 600


def test_opportunity_history(company: SampleCompany) -> None:
    o = company.opportunities
    as_of = pd.Timestamp(AS_OF)
    assert set(o["stage"]) <= set(STAGES)
    assert set(o["product"]) <= set(PRODUCTS)
    assert (o["created_date"] <= o["close_date"]).all()
    assert (o["created_date"] >= WINDOW_START).all()
    assert (o["created_date"] <= as_of).all()
    assert (o["is_closed"] == (o["close_date"] <= as_of)).all()
    assert not (o["is_won"] & ~o["is_closed"]).any()
    assert (o["stage"].eq("Closed Won") == o["is_won"]).all()
    open_stages = set(o.loc[~o["is_closed"], "stage"])
    assert open_stages == {"Prospecting", "Qualification", "Proposal", "Negotiation"}
    assert (o["amount"] > 0).all()
    win_rate = o.loc[o["is_closed"], "is_won"].mean()
    assert 0.15 < win_rate < 0.5
    size = company.accounts.set_index("id").loc[o["account_id"], "employees"].to_numpy()
    assert np.corrcoef(np.log(size), np.log(o["amount"]))[0, 1] > 0.5


def test_seasonality_quarter_ends_and_december(larger: SampleCompany) -> None:
    closed = larger.opportunities[larger.opportunities["is_closed"]]
    by_month = closed["close_date"].dt.month.value_counts().reindex(range(1, 13))
    mean = by_month.mean()
    assert by_month[12] > 1.15 * mean
    assert by_month[12] == by_month.max()
    quarter_ends = by_month[[3, 6, 9, 12]].mean()
    others = by_month.drop([3, 6, 9, 12]).mean()
    assert quarter_ends > 1.2 * others
    assert by_month[[7, 8]].mean() < 0.9 * mean  # summer dip


def test_activities(company: SampleCompany) -> None:
    t = company.activities
    assert set(t["channel"]) <= set(CHANNELS)
    assert set(t["channel"]) == set(CHANNELS)
    assert (t["occurred_at"] >= WINDOW_START).all()
    assert (t["occurred_at"] < pd.Timestamp(AS_OF) + pd.Timedelta(days=1)).all()
    assert (t["occurred_at"].dt.day_of_week < 5).all()  # weekdays only
    durations = t.groupby("channel")["duration_minutes"].median()
    assert durations["email"] < durations["call"] < durations["meeting"] < durations["visit"]
    assert (t["duration_minutes"] > 0).all()
    # owners do the work: most touches on owned accounts are by the owner
    owner = company.accounts.set_index("id")["owner_id"].astype(object).fillna("")
    account_owner = owner.loc[t["account_id"]].to_numpy()
    by_owner = t["rep_id"].astype(object).fillna("-").to_numpy() == account_owner
    owned = account_owner != ""
    assert by_owner[owned].mean() > 0.7
    # more touches on accounts that won deals than on accounts without deals
    touches = t["account_id"].value_counts().reindex(company.accounts["id"], fill_value=0)
    won = set(company.opportunities.loc[company.opportunities["is_won"], "account_id"])
    dealt = set(company.opportunities["account_id"])
    ids = touches.index.to_series()
    assert touches[ids.isin(won)].mean() > 1.5 * touches[~ids.isin(dealt)].mean()


def test_win_rate_rises_with_planted_fit(company: SampleCompany) -> None:
    closed = company.opportunities[company.opportunities["is_closed"]]
    fit = pd.Series(win_logit(company.accounts), index=company.accounts["id"])
    logit = fit.loc[closed["account_id"]].to_numpy()
    won = closed["is_won"].to_numpy()
    low, high = np.quantile(logit, [0.25, 0.75])
    assert won[logit >= high].mean() > won[logit <= low].mean() + 0.15


@pytest.mark.slow
def test_logistic_regression_recovers_the_planted_model() -> None:
    from sklearn.linear_model import LogisticRegression

    from territorial.sample import win_model

    c = generate_company(accounts=40_000, reps=80, seed=11)
    closed = c.opportunities[c.opportunities["is_closed"]]
    a = c.accounts.set_index("id").loc[closed["account_id"]]
    features = pd.concat(
        [
            pd.get_dummies(a["industry"].astype(object)).drop(columns="Manufacturing"),
            pd.get_dummies(a["segment"].astype(object)).drop(columns="SMB"),
            pd.get_dummies(a["technology"].astype(object)).drop(columns="Zoho"),
            np.log1p(a["web_visits_30d"]).rename("log_visits"),
            a["hiring"].astype(float),
            a["new_executive"].astype(float),
        ],
        axis=1,
    ).astype(float)
    model = LogisticRegression(C=1e6, max_iter=2000).fit(features, closed["is_won"])
    coef = dict(zip(features.columns, model.coef_[0], strict=True))
    assert coef["log_visits"] == pytest.approx(win_model.WEB_VISITS_LOGIT, abs=0.1)
    assert coef["hiring"] == pytest.approx(win_model.HIRING_LOGIT, abs=0.15)
    assert coef["new_executive"] == pytest.approx(win_model.NEW_EXECUTIVE_LOGIT, abs=0.2)
    assert coef["Software"] == pytest.approx(win_model.INDUSTRY_LOGIT["Software"], abs=0.2)
    assert coef["Government"] == pytest.approx(win_model.INDUSTRY_LOGIT["Government"], abs=0.3)
    assert coef["Salesforce"] == pytest.approx(win_model.TECHNOLOGY_LOGIT["Salesforce"], abs=0.2)
    spreadsheets = win_model.TECHNOLOGY_LOGIT["Spreadsheets"]
    assert coef["Spreadsheets"] == pytest.approx(spreadsheets, abs=0.2)
    assert model.intercept_[0] == pytest.approx(win_model.INTERCEPT, abs=0.25)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    accounts=st.integers(min_value=1, max_value=60),
    reps=st.integers(min_value=1, max_value=9),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_any_small_company_is_consistent(accounts: int, reps: int, seed: int) -> None:
    c = generate_company(accounts=accounts, reps=reps, seed=seed, years=1)
    assert len(c.accounts) == accounts and len(c.reps) == reps
    for frame in c.tables().values():
        assert frame["id"].is_unique
    assert set(c.opportunities["account_id"]) <= set(c.accounts["id"])
    assert set(c.activities["account_id"]) <= set(c.accounts["id"])
    assert set(c.accounts["owner_id"].dropna()) <= set(c.reps["id"])
    assert (c.opportunities["created_date"] <= c.opportunities["close_date"]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"accounts": 0, "reps": 5}, "--accounts must be at least 1"),
        ({"accounts": 10, "reps": 0}, "--reps must be at least 1"),
        ({"accounts": 10, "reps": 5, "years": 0}, "--years must be between 1 and 10"),
    ],
)
def test_bad_sizes_are_config_errors(kwargs: dict[str, int], message: str) -> None:
    from territorial.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        generate_company(**kwargs)
