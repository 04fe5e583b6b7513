"""Everything a rep's plan is built from, read from the store once for any number of reps.

:class:`PlanData` holds plain frames (accounts with their scores and signals, won deals,
open opportunities, recent activity, reps, the book of the active territory model). The
target, playbook and schedule functions work on it and never touch the store, so plans
for 200 reps cost one read of the store (see ``benchmarks/rep_plans.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from territorial.errors import ConfigError, NotFoundError

log = logging.getLogger(__name__)

#: Days of activity history that count as "recent" (engagement, other reps working it).
RECENT_DAYS = 90
#: Yes/no account attributes read as intent signals, with how they read in a rationale.
FLAG_SIGNALS: dict[str, str] = {"new_executive": "new executive", "hiring": "hiring"}
#: Numeric account attributes read as intent signals.
COUNT_SIGNALS: dict[str, str] = {
    "web_visits_30d": "{value} web visits in the 30 days to {date}",
    "intent_score": "intent score {value} on {date}",
}
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_SCORE_COLUMNS = (
    "account_id",
    "fit_score",
    "fit_reasons",
    "propensity",
    "propensity_percentile",
    "propensity_reasons",
    "potential",
    "potential_percentile",
    "potential_method",
    "potential_inputs",
    "tier_score",
    "tier",
    "workload_hours",
    "travel_miles",
)


@dataclass(frozen=True, eq=False)
class PlanData:
    """Inputs of every rep's plan (see the module docstring).

    ``accounts``: one row per account with firmographics, location, scores, signals,
    ``customer`` (has a won deal), ``won_amount``, ``products`` (bought), ``last_activity``,
    ``activities_recent`` and ``other_reps`` (ids of other reps active on it recently).
    ``book``: :func:`territorial.planning.ownership.book`. ``members``: who carries each
    territory (:func:`territorial.planning.ownership.territory_reps`). ``won``: won deals
    with their account's industry, segment and location. ``open_opps``: open opportunities.
    ``seasonality``: per segment and month 1-12, the index of won revenue (1 = average
    month) where the segment is seasonal. ``as_of``: the date the data describes.
    """

    accounts: pd.DataFrame
    reps: pd.DataFrame
    book: pd.DataFrame
    members: pd.DataFrame
    won: pd.DataFrame
    open_opps: pd.DataFrame
    seasonality: dict[str, dict[int, float]]
    as_of: date
    plan_id: int | None
    _position: dict[str, int] = field(default_factory=dict, repr=False)
    #: derived tables shared by every rep's plan (indexed accounts, look-alike pools ...)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def scoring_config(self) -> Any:
        """The scoring configuration (workload, capacity defaults), read once."""
        if "scoring config" not in self.cache:
            from territorial.scoring.config import load_config

            self.cache["scoring config"] = load_config(None)
        return self.cache["scoring config"]

    def indexed(self) -> pd.DataFrame:
        """:attr:`accounts` indexed by account id (built once)."""
        if "indexed" not in self.cache:
            self.cache["indexed"] = self.accounts.set_index("id", drop=False)
        return self.cache["indexed"]

    def rep_row(self, rep_id: str) -> dict[str, Any]:
        """The rep's row; NotFoundError when there is no such rep."""
        rows = self.reps[self.reps["id"] == rep_id]
        if rows.empty:
            raise NotFoundError(f"no rep {rep_id!r} (see the reps you imported)")
        return dict(rows.iloc[0])

    def carriers(self) -> list[str]:
        """Ids of the reps who carry (own) a territory in the model, sorted."""
        owners = self.members[(self.members["role"] == "owner") & self.members["rep_id"].notna()]
        return sorted(set(owners["rep_id"].astype(str)))

    def book_of(self, rep_id: str) -> pd.DataFrame:
        """The rep's accounts (rows of :attr:`accounts`) with their territory."""
        self.rep_row(rep_id)
        mine = self.book[self.book["rep_id"] == rep_id]
        if mine.empty and rep_id not in self.carriers():
            model = (
                f"the active territory model (plan {self.plan_id})"
                if self.plan_id is not None
                else "the CRM owners (no territory model is active)"
            )
            raise ConfigError(
                f"rep {rep_id} carries no territory in {model}; plans are made for reps "
                "who own a territory"
            )
        rows = self.indexed().loc[mine["account_id"].to_numpy()].reset_index(drop=True)
        rows["territory_id"] = mine["territory_id"].to_numpy()
        rows["territory_name"] = mine["territory_name"].to_numpy()
        return rows

    def account(self, account_id: str) -> dict[str, Any] | None:
        """One account's row, or ``None``."""
        if not self._position:
            self._position.update(
                {a: i for i, a in enumerate(self.accounts["id"].astype(str).to_numpy())}
            )
        i = self._position.get(account_id)
        return None if i is None else dict(self.accounts.iloc[i])


def _flag(values: pd.Series) -> np.ndarray:
    return values.astype(str).str.strip().str.lower().isin(_TRUE).to_numpy()


def _attributes(accounts: pd.DataFrame) -> pd.DataFrame:
    """The export's extra columns that plans use, typed: technology, partner, signals."""
    attrs = accounts["attributes"].map(lambda a: a if isinstance(a, dict) else {})
    out = pd.DataFrame(index=accounts.index)
    names = ["technology", "partner", *FLAG_SIGNALS, *COUNT_SIGNALS]
    for name in names:
        raw = attrs.map(lambda a, n=name: a.get(n))
        if name in FLAG_SIGNALS:
            out[name] = _flag(raw.fillna("false"))
        elif name in COUNT_SIGNALS:
            out[name] = pd.to_numeric(raw, errors="coerce")
        else:
            out[name] = raw.where(raw.notna(), None)
        dated = attrs.map(lambda a, n=name: a.get(f"{n}_date"))
        out[f"{name}_date"] = pd.to_datetime(dated, errors="coerce").dt.date
    return out


def _seasonality(opps: pd.DataFrame, accounts: pd.DataFrame) -> dict[str, dict[int, float]]:
    """Per segment found seasonal by the market report's test, month -> index."""
    from territorial.reports.market import MONTHS, seasonality

    if opps.empty:
        return {}
    season = seasonality(opps, accounts[["id", "segment"]], by="segment")
    if season.strength.empty:
        return {}
    seasonal = set(season.strength.loc[season.strength["seasonal"], "segment"].astype(str))
    out: dict[str, dict[int, float]] = {}
    for segment, rows in season.monthly.groupby("segment"):
        if str(segment) in seasonal and segment != "all":
            pairs = zip(rows["month"], rows["index"], strict=True)
            out[str(segment)] = {MONTHS.index(m) + 1: float(v) for m, v in pairs}
    return out


def load_plan_data(engine: Engine, *, as_of: date | None = None) -> PlanData:
    """Read every input of the reps' plans from the store (one pass).

    Needs scored accounts (``territorial score``); ``as_of`` defaults to the scores'
    date (the date the CRM data describes).
    """
    from territorial.planning.ownership import active_plan_id, book, territory_reps
    from territorial.store.records import (
        read_accounts,
        read_activities,
        read_opportunities,
        read_reps,
    )
    from territorial.store.scores import read_scores, scores_as_of

    scored_on = scores_as_of(engine)
    if scored_on is None:
        raise ConfigError(
            "no account scores in the store: run `territorial score` first (plans rank "
            "targets by their scores)"
        )
    as_of = as_of or scored_on
    accounts = read_accounts(
        engine,
        columns=[
            "id",
            "name",
            "city",
            "state",
            "postal_code",
            "latitude",
            "longitude",
            "industry",
            "segment",
            "employees",
            "annual_revenue",
            "attributes",
        ],
    )
    scores = read_scores(engine, columns=_SCORE_COLUMNS)
    accounts = accounts.merge(scores, left_on="id", right_on="account_id", how="left").drop(
        columns="account_id"
    )
    accounts = pd.concat([accounts.drop(columns="attributes"), _attributes(accounts)], axis=1)
    accounts["tier"] = accounts["tier"].fillna("C")
    for column in ("fit_score", "potential", "tier_score", "workload_hours", "travel_miles"):
        accounts[column] = accounts[column].fillna(0.0)

    opps = read_opportunities(
        engine,
        columns=[
            "id",
            "account_id",
            "owner_id",
            "amount",
            "stage",
            "created_date",
            "close_date",
            "is_closed",
            "is_won",
            "product",
        ],
    )
    opps["is_closed"] = opps["is_closed"].fillna(False).astype(bool)
    opps["is_won"] = opps["is_won"].fillna(False).astype(bool)
    won = opps[opps["is_won"]].copy()
    by_account = won.groupby("account_id")
    accounts = accounts.set_index("id")
    accounts["customer"] = accounts.index.isin(won["account_id"])
    accounts["won_amount"] = by_account["amount"].sum().reindex(accounts.index).fillna(0.0)
    accounts["first_won"] = by_account["close_date"].min().reindex(accounts.index)
    accounts["products"] = (
        by_account["product"]
        .agg(lambda p: tuple(sorted({str(x) for x in p if isinstance(x, str) and x})))
        .reindex(accounts.index)
    )
    accounts["products"] = accounts["products"].map(lambda p: p if isinstance(p, tuple) else ())
    open_opps = opps[~opps["is_closed"]].copy()
    accounts["open_opps"] = (
        open_opps.groupby("account_id").size().reindex(accounts.index).fillna(0).astype(int)
    )
    accounts["open_amount"] = (
        open_opps.groupby("account_id")["amount"].sum().reindex(accounts.index).fillna(0.0)
    )

    acts = read_activities(engine, columns=["account_id", "rep_id", "channel", "occurred_at"])
    since = pd.Timestamp(as_of) - pd.Timedelta(days=RECENT_DAYS)
    upto = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    acts = acts[acts["occurred_at"] < upto]
    last = acts.sort_values("occurred_at").groupby("account_id").tail(1).set_index("account_id")
    accounts["last_activity"] = last["occurred_at"].reindex(accounts.index)
    accounts["last_channel"] = last["channel"].reindex(accounts.index)
    recent = acts[acts["occurred_at"] >= since]
    accounts["activities_recent"] = (
        recent.groupby("account_id").size().reindex(accounts.index).fillna(0).astype(int)
    )
    accounts = accounts.reset_index()

    owned = book(engine)
    plan_id = active_plan_id(engine)
    members = territory_reps(engine)
    owner_of = owned.set_index("account_id")["rep_id"]
    recent = recent.assign(owner=recent["account_id"].map(owner_of))
    others = recent[recent["rep_id"].notna() & (recent["rep_id"] != recent["owner"])]
    other_reps = others.groupby("account_id")["rep_id"].agg(lambda r: tuple(sorted(set(r))))
    accounts["other_reps"] = accounts["id"].map(other_reps)
    accounts["other_reps"] = accounts["other_reps"].map(lambda r: r if isinstance(r, tuple) else ())

    place = accounts.set_index("id")[["industry", "segment", "latitude", "longitude", "name"]]
    won = won.join(place, on="account_id")
    reps = read_reps(engine)
    log.info(
        "plan data: %d accounts, %d won deals, %d open opportunities, as of %s",
        len(accounts),
        len(won),
        len(open_opps),
        as_of,
    )
    return PlanData(
        accounts=accounts,
        reps=reps,
        book=owned,
        members=members,
        won=won.reset_index(drop=True),
        open_opps=open_opps.reset_index(drop=True),
        seasonality=_seasonality(opps, accounts),
        as_of=as_of,
        plan_id=plan_id,
    )


def next_monday(day: date) -> date:
    """The Monday on or after ``day``."""
    return day + timedelta(days=(7 - day.weekday()) % 7)


__all__ = ["COUNT_SIGNALS", "FLAG_SIGNALS", "RECENT_DAYS", "PlanData", "load_plan_data"]
