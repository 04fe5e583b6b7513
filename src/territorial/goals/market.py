"""The market per territory, segment or state: potential, TAM/SAM, white space by reason,
tiers, the lead-source funnel and the product mix, so a leader sees where a territory
under-performs its market.

Definitions (also in ``docs/goals.md``). ``as_of`` is the data's last day (the latest
activity or past close date); "the last N days" are the N days ending on ``as_of``.
Account potential (dollars per year) and ``serviceable`` come from ``account_scores``
(``territorial score``); ownership from :func:`territorial.planning.ownership.book` only
(the active version of the territory model, or the CRM owners before one is active).

* **group**: the account's territory in the book (accounts without one form the row
  ``(no territory)``), its segment or its state (missing: ``unknown``).
* **tam**: the potential of every account of the group, owned or not.
* **potential**: the potential of the group's owned accounts (what quotas are split on).
* **sam**: the potential of the group's accounts that scoring marks ``serviceable`` (fit
  above the configured minimum, a state served) *and* whose industry and segment the
  company serves: those of at least one won opportunity in the store up to ``as_of``
  (an account without an industry or segment is not excluded for it; with no won
  opportunity at all every industry and segment counts as served).
* **white space** by reason: ``ws_no_owner`` (accounts nobody owns), ``ws_no_activity``
  (owned accounts without an activity in the last ``activity_days`` days),
  ``ws_not_covered`` (owned accounts whose owner rep lists specialties and neither the
  account's industry nor its segment is one of them; reps listing none cover
  everything). The last two can overlap; ``white_space`` counts each account once.
* **bookings**, **won**: won opportunities on the group's accounts closed in the last
  ``window_days`` days; **penetration** = bookings / tam.
* **quota**, **attainment** (``--by territory`` with a quota set): from
  :func:`territorial.goals.standings.standings` (bookings of the quota period to date /
  the period's quota).
* **tiers** (terciles): groups are ranked by tam and by attainment (or penetration when
  there is no quota, see ``attainment_basis``); percentile rank (ties averaged) ≤ 1/3 is
  ``low``, > 2/3 ``high``, otherwise ``medium``; the ``(no territory)`` row and groups
  without the figure get no tier. **under_market**: potential tier high and attainment
  tier low.
* **funnel** per group and lead source, over the last ``window_days`` days: ``leads``
  routed (the newest routing decision of each lead, grouped by its matched account's
  group, else by the decision's territory or the lead's own state/segment), and the
  ``opportunities`` created on the group's accounts with that ``lead_source``, of which
  ``won`` and ``lost`` by ``as_of`` and their ``bookings``. A missing source is
  ``unknown``.
* **products**: the won bookings of the window by product (missing: ``unknown``) and
  their share of the group's bookings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from territorial.errors import ConfigError

MARKET_GROUPS = ("territory", "segment", "state")
NO_TERRITORY = "(no territory)"
UNKNOWN = "unknown"
MAX_DAYS = 36_600

#: Columns of the market table, name -> meaning.
MARKET_COLUMNS: dict[str, str] = {
    "key": "the group: territory id, segment or state",
    "name": "territory name (--by territory)",
    "rep_id": "the territory's owner rep (--by territory)",
    "accounts": "accounts in the group",
    "owned_accounts": "accounts with an owner in the territory model",
    "active_accounts": "owned accounts with an activity in the last activity_days days",
    "potential": "potential of the owned accounts, dollars per year",
    "tam": "potential of every account in the group, dollars per year",
    "sam": "potential of serviceable accounts in served industries and segments",
    "white_space": "potential of accounts with at least one white-space reason",
    "white_space_share": "white_space / tam",
    "ws_no_owner": "potential of accounts without an owner",
    "ws_no_activity": "potential of owned accounts without an activity in activity_days",
    "ws_not_covered": "potential of owned accounts outside their rep's specialties",
    "bookings": "won amounts closed in the last window_days days, dollars",
    "won": "opportunities won in the window",
    "penetration": "bookings / tam",
    "quota": "the territory's quota (newest quota set), dollars",
    "attainment": "bookings of the quota period to date / quota",
    "potential_tier": "high, medium or low: tercile of tam among the groups",
    "attainment_tier": "high, medium or low: tercile of attainment (or penetration)",
    "under_market": "potential tier high and attainment tier low",
}

FUNNEL_COLUMNS: dict[str, str] = {
    "key": "the group",
    "lead_source": "where the leads and opportunities came from (unknown when not given)",
    "leads": "leads routed in the window (newest decision per lead)",
    "opportunities": "opportunities created in the window",
    "pipeline": "amounts of those opportunities, dollars",
    "won": "of those, won by as_of",
    "lost": "of those, lost by as_of",
    "bookings": "amounts of the won ones, dollars",
    "lead_to_opportunity": "opportunities / leads (empty without leads)",
    "win_rate": "won / (won + lost)",
}

PRODUCT_COLUMNS: dict[str, str] = {
    "key": "the group",
    "product": "the opportunity's product (unknown when not given)",
    "won": "opportunities won in the window",
    "bookings": "their amounts, dollars",
    "share": "the product's share of the group's bookings",
}


@dataclass(frozen=True, slots=True)
class MarketView:
    """The three tables of :func:`market_by_territory` and what they describe."""

    market: pd.DataFrame
    funnel: pd.DataFrame
    products: pd.DataFrame
    attrs: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"market": self.market, "funnel": self.funnel, "products": self.products}


def check_market_options(by: str, activity_days: int, window_days: int) -> None:
    """:class:`ConfigError` naming the option for an unknown grouping or a bad day count."""
    if by not in MARKET_GROUPS:
        raise ConfigError(f"--by {by!r} is not one of {', '.join(MARKET_GROUPS)}")
    for option, value in (("--activity-days", activity_days), ("--window-days", window_days)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ConfigError(f"{option} {value!r} is not a whole number of days")
        if not 1 <= value <= MAX_DAYS:
            raise ConfigError(f"{option} {value} must be between 1 and {MAX_DAYS} days")


def _terciles(values: pd.Series) -> pd.Series:
    """``low``/``medium``/``high`` by percentile rank (ties averaged); missing stays None."""
    pct = values.rank(method="average", pct=True)
    tiers = np.select([pct <= 1 / 3, pct > 2 / 3], ["low", "high"], "medium").astype(object)
    tiers[pct.isna().to_numpy()] = None
    return pd.Series(tiers, index=values.index, dtype=object)


def _text(series: pd.Series) -> pd.Series:
    """Trimmed text with missing and blank values as ``None`` (object dtype)."""
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    return text.astype(object).where(text.notna(), None)


def market_by_territory(
    engine: Any,
    *,
    by: str = "territory",
    activity_days: int = 90,
    window_days: int = 365,
    as_of: date | None = None,
    cache_dir: Path | None = None,
) -> MarketView:
    """The market of every territory (or segment, state): :data:`MARKET_COLUMNS`, the
    lead-source funnel (:data:`FUNNEL_COLUMNS`) and the product mix
    (:data:`PRODUCT_COLUMNS`). See the module docstring for every definition."""
    import duckdb

    from territorial.domain.staffing import specialty_list
    from territorial.goals.performance import data_as_of, load_extract
    from territorial.planning.ownership import territory_reps
    from territorial.store.records import read_reps
    from territorial.store.routing import lead_decisions
    from territorial.store.scores import read_scores

    check_market_options(by, activity_days, window_days)
    tables = load_extract(engine, cache_dir=cache_dir)
    as_of = as_of or data_as_of(tables)
    window_start = as_of - timedelta(days=window_days - 1)
    activity_start = as_of - timedelta(days=activity_days - 1)

    accounts = tables["accounts"].to_pandas()
    scores = read_scores(engine, columns=("account_id", "potential", "serviceable"))
    if scores.empty:
        raise ConfigError("no account has a potential yet: run `territorial score` first")
    acc = accounts.merge(
        scores.rename(columns={"account_id": "id"}), on="id", how="left", validate="one_to_one"
    )
    acc["potential"] = pd.to_numeric(acc["potential"], errors="coerce").fillna(0.0)
    acc["serviceable"] = acc["serviceable"].astype("boolean").fillna(False).astype(bool)
    for column in ("segment", "state", "industry", "territory_id", "book_rep"):
        acc[column] = _text(acc[column])
    acc["owned"] = acc["territory_id"].notna()
    if by == "territory":
        acc["key"] = acc["territory_id"].where(acc["owned"], NO_TERRITORY)
    else:
        acc["key"] = acc[by].where(acc[by].notna(), UNKNOWN)
    acc["key"] = acc["key"].astype(object)

    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        con.register("opps", tables["opps"])
        con.register("acts", tables["acts"])
        con.register("acc", acc[["id", "key", "industry", "segment"]])
        last_touch = con.execute(
            "SELECT account_id AS id, max(CAST(occurred_at AS DATE)) AS last_activity "
            "FROM acts WHERE CAST(occurred_at AS DATE) <= ? GROUP BY 1",
            [as_of],
        ).df()
        served = con.execute(
            """
            SELECT count(*) AS won_ever,
                   list(DISTINCT a.industry) FILTER (WHERE a.industry IS NOT NULL) AS industries,
                   list(DISTINCT a.segment) FILTER (WHERE a.segment IS NOT NULL) AS segments
            FROM opps o JOIN acc a ON a.id = o.account_id
            WHERE o.is_won AND o.is_closed AND CAST(o.close_date AS DATE) <= ?
            """,
            [as_of],
        ).fetchone()
        products = con.execute(
            f"""
            SELECT a.key AS key,
                   coalesce(nullif(trim(o.product), ''), '{UNKNOWN}') AS product,
                   count(*) AS won, sum(o.amount) AS bookings
            FROM opps o JOIN acc a ON a.id = o.account_id
            WHERE o.is_won AND o.is_closed AND o.close_date IS NOT NULL
              AND CAST(o.close_date AS DATE) BETWEEN ? AND ?
            GROUP BY 1, 2
            """,
            [window_start, as_of],
        ).df()
        cohort = con.execute(
            f"""
            SELECT a.key AS key,
                   coalesce(nullif(trim(o.lead_source), ''), '{UNKNOWN}') AS lead_source,
                   count(*) AS opportunities, sum(o.amount) AS pipeline,
                   count(*) FILTER (WHERE o.is_closed AND o.is_won
                                    AND CAST(o.close_date AS DATE) <= ?) AS won,
                   count(*) FILTER (WHERE o.is_closed AND NOT o.is_won
                                    AND CAST(o.close_date AS DATE) <= ?) AS lost,
                   coalesce(sum(o.amount) FILTER (WHERE o.is_closed AND o.is_won
                                    AND CAST(o.close_date AS DATE) <= ?), 0) AS bookings
            FROM opps o JOIN acc a ON a.id = o.account_id
            WHERE CAST(o.created_date AS DATE) BETWEEN ? AND ?
            GROUP BY 1, 2
            """,
            [as_of, as_of, as_of, window_start, as_of],
        ).df()
    finally:
        con.close()

    # --- white space, per account (vectorised) -------------------------------------
    acc = acc.merge(last_touch, on="id", how="left")
    acc["active"] = acc["owned"] & (
        pd.to_datetime(acc["last_activity"]) >= pd.Timestamp(activity_start)
    )
    reps = read_reps(engine, columns=("id", "specialties"))
    specs = reps.assign(spec=reps["specialties"].map(lambda v: list(specialty_list(v))))
    specs = specs.explode("spec").dropna(subset=["spec"])
    pairs = pd.MultiIndex.from_arrays([specs["id"].astype(str), specs["spec"].str.lower()])
    has_specs = acc["book_rep"].isin(set(specs["id"].astype(str)))
    rep_key = acc["book_rep"].fillna("").astype(str)
    by_industry = pd.MultiIndex.from_arrays(
        [rep_key, acc["industry"].fillna("").astype(str).str.lower()]
    ).isin(pairs)
    by_segment = pd.MultiIndex.from_arrays(
        [rep_key, acc["segment"].fillna("").astype(str).str.lower()]
    ).isin(pairs)
    acc["not_covered"] = acc["owned"] & has_specs & ~(by_industry | by_segment)
    won_ever, industries, segments = served if served is not None else (0, None, None)
    if won_ever:
        served_mask = (acc["industry"].isna() | acc["industry"].isin(set(industries or ()))) & (
            acc["segment"].isna() | acc["segment"].isin(set(segments or ()))
        )
    else:
        served_mask = pd.Series(True, index=acc.index)
    pot = acc["potential"]
    no_owner = ~acc["owned"]
    no_activity = acc["owned"] & ~acc["active"]
    acc = acc.assign(
        owned_potential=pot.where(acc["owned"], 0.0),
        sam_potential=pot.where(acc["serviceable"] & served_mask, 0.0),
        ws_no_owner=pot.where(no_owner, 0.0),
        ws_no_activity=pot.where(no_activity, 0.0),
        ws_not_covered=pot.where(acc["not_covered"], 0.0),
        ws_any=pot.where(no_owner | no_activity | acc["not_covered"], 0.0),
    )
    grouped = acc.groupby("key", sort=True).agg(
        accounts=("id", "size"),
        owned_accounts=("owned", "sum"),
        active_accounts=("active", "sum"),
        potential=("owned_potential", "sum"),
        tam=("potential", "sum"),
        sam=("sam_potential", "sum"),
        white_space=("ws_any", "sum"),
        ws_no_owner=("ws_no_owner", "sum"),
        ws_no_activity=("ws_no_activity", "sum"),
        ws_not_covered=("ws_not_covered", "sum"),
    )
    market = grouped.reset_index()

    if by == "territory":
        members = territory_reps(engine)
        owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
        names = members.drop_duplicates("territory_id").set_index("territory_id")["territory_name"]
        rep_of = owners.drop_duplicates("territory_id").set_index("territory_id")["rep_id"]
        empty = sorted(set(rep_of.index.astype(str)) - set(market["key"]))
        if empty:  # territories of the model without accounts: an all-zero row each
            market = pd.concat([market, pd.DataFrame({"key": empty})], ignore_index=True)
        market["name"] = market["key"].map(names).astype(object)
        market.loc[market["key"] == NO_TERRITORY, "name"] = NO_TERRITORY
        market["name"] = market["name"].where(market["name"].notna(), market["key"])
        market["rep_id"] = market["key"].map(rep_of).astype(object)
    else:
        market["name"] = market["key"]
        market["rep_id"] = None
    counts = ["accounts", "owned_accounts", "active_accounts"]
    market[counts] = market[counts].fillna(0).astype(np.int64)
    money = ["potential", "tam", "sam", "white_space", "ws_no_owner", "ws_no_activity"]
    money.append("ws_not_covered")
    market[money] = market[money].fillna(0.0)

    booked = products.groupby("key").agg(bookings=("bookings", "sum"), won=("won", "sum"))
    market["bookings"] = market["key"].map(booked["bookings"]).fillna(0.0).astype(float)
    market["won"] = market["key"].map(booked["won"]).fillna(0).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        market["white_space_share"] = np.where(
            market["tam"] > 0, market["white_space"] / market["tam"], np.nan
        )
        market["penetration"] = np.where(
            market["tam"] > 0, market["bookings"] / market["tam"], np.nan
        )

    quota_set_id = None
    market["quota"] = np.nan
    market["attainment"] = np.nan
    if by == "territory":
        from territorial.goals.standings import standings

        standing = standings(engine, by="territory", as_of=as_of, cache_dir=cache_dir)
        quota_set_id = standing.attrs.get("quota_set_id")
        if quota_set_id is not None:
            figures = standing.set_index("key")
            market["quota"] = market["key"].map(figures["quota"]).astype(float)
            market["attainment"] = market["key"].map(figures["attainment"]).astype(float)
    basis = "attainment" if market["attainment"].notna().any() else "penetration"
    ranked = market["key"] != NO_TERRITORY
    market["potential_tier"] = None
    market["attainment_tier"] = None
    market.loc[ranked, "potential_tier"] = _terciles(market.loc[ranked, "tam"])
    market.loc[ranked, "attainment_tier"] = _terciles(market.loc[ranked, basis])
    market["under_market"] = (market["potential_tier"] == "high") & (
        market["attainment_tier"] == "low"
    )
    for column in (*money, "bookings", "quota"):
        market[column] = market[column].round(2)
    for column in ("white_space_share", "penetration", "attainment"):
        market[column] = market[column].astype(float).round(4)
    market = market.sort_values(["tam", "key"], ascending=[False, True]).reset_index(drop=True)
    market = market[list(MARKET_COLUMNS)]

    # --- the funnel ------------------------------------------------------------------
    with engine.connect() as conn:
        leads = pd.DataFrame(
            lead_decisions(
                conn,
                since=datetime.combine(window_start, time(), tzinfo=UTC),
                until=datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC),
            ),
            columns=[
                "id", "decided_at", "record_id", "account_id", "territory_id", "owner_id",
                "lead_source", "state", "segment",
            ],
        )  # fmt: skip
    if len(leads):
        account_key = acc.set_index("id")["key"]
        fallback = (
            leads["territory_id"].where(leads["territory_id"].notna(), NO_TERRITORY)
            if by == "territory"
            else leads[by].where(leads[by].notna(), UNKNOWN)
        )
        leads["key"] = leads["account_id"].map(account_key)
        leads["key"] = leads["key"].where(leads["key"].notna(), fallback)
        leads["lead_source"] = leads["lead_source"].where(leads["lead_source"].notna(), UNKNOWN)
        lead_counts = leads.groupby(["key", "lead_source"]).size().rename("leads").reset_index()
    else:
        lead_counts = pd.DataFrame(columns=["key", "lead_source", "leads"])
    funnel = lead_counts.merge(cohort, on=["key", "lead_source"], how="outer")
    for column in ("leads", "opportunities", "won", "lost"):
        funnel[column] = funnel[column].fillna(0).astype(np.int64)
    for column in ("pipeline", "bookings"):
        funnel[column] = funnel[column].astype(float).fillna(0.0).round(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        funnel["lead_to_opportunity"] = np.where(
            funnel["leads"] > 0, funnel["opportunities"] / funnel["leads"], np.nan
        ).round(4)
        closed = funnel["won"] + funnel["lost"]
        funnel["win_rate"] = np.where(closed > 0, funnel["won"] / closed, np.nan).round(4)
    funnel = funnel.astype({"key": object, "lead_source": object})
    funnel = funnel.sort_values(["key", "lead_source"]).reset_index(drop=True)
    funnel = funnel[list(FUNNEL_COLUMNS)]

    # --- the product mix -----------------------------------------------------------
    products = products.astype({"key": object, "product": object})
    products["won"] = products["won"].astype(np.int64)
    products["bookings"] = products["bookings"].astype(float)
    totals = products.groupby("key")["bookings"].transform("sum")
    with np.errstate(divide="ignore", invalid="ignore"):
        products["share"] = np.where(totals > 0, products["bookings"] / totals, np.nan).round(4)
    products["bookings"] = products["bookings"].round(2)
    products = products.sort_values(["key", "bookings"], ascending=[True, False])
    products = products.reset_index(drop=True)[list(PRODUCT_COLUMNS)]

    attrs = {
        "by": by,
        "as_of": as_of.isoformat(),
        "window_start": window_start.isoformat(),
        "window_days": window_days,
        "activity_days": activity_days,
        "attainment_basis": basis,
        "quota_set_id": quota_set_id,
        "served_industries": sorted(industries or ()) if won_ever else None,
        "served_segments": sorted(segments or ()) if won_ever else None,
    }
    for frame in (market, funnel, products):
        frame.attrs.update(attrs)
    return MarketView(market=market, funnel=funnel, products=products, attrs=attrs)


__all__ = [
    "FUNNEL_COLUMNS",
    "MARKET_COLUMNS",
    "MARKET_GROUPS",
    "NO_TERRITORY",
    "PRODUCT_COLUMNS",
    "MarketView",
    "check_market_options",
    "market_by_territory",
]
