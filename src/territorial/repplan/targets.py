"""Target accounts of a rep: candidates, look-alikes, product affinity and rationale.

* **capacity**: the rep's selling hours per week (``reps.capacity_hours``, else the
  scoring configuration's ``capacity.hours_per_week``) minus the weekly workload of the
  book's existing customers (``account_scores.workload_hours`` / 52) is the rep's free
  time; the plan uses ``outreach_share`` of it for the target sequences, and never less
  than ``protected_share`` of the capacity: when customers' workload leaves less (the
  book is overloaded, which the plan's numbers say), that protected time is still kept
  for new business.
* **candidates**: every account of the rep's book, ranked by tier score then potential;
  customers are *expansion* candidates, the others *new logos*.
* **look-alike**: the closed-won account of the same industry, won within
  ``lookalike.recent_days`` of the data's date, nearest to the target and within
  ``lookalike.max_miles`` (great-circle miles).
* **product to lead with**: the product with the most won deals among similar accounts
  (``products.similar_by``), falling back to the industry, then to every won deal; a
  customer is offered the most-won product it does not own yet.
* **rationale**: plain sentences from the scoring reasons and the facts above, each naming
  facts of that account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from territorial.errors import ConfigError
from territorial.repplan.data import COUNT_SIGNALS, FLAG_SIGNALS, PlanData
from territorial.repplan.playbook import Playbook, default_playbook
from territorial.scoring.workload import great_circle_miles

WEEKS_PER_YEAR = 52.0


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """How a rep's plan is made; checked by :meth:`check` when the work runs.

    ``start``: first day of the schedule (moved to its Monday; default the Monday after
    the data's date). ``weeks``: length of the plan (13 = a quarter).
    ``expansion_share``: share of target hours for customers (0-1; the rest for new
    logos). ``outreach_share``: share of the rep's free hours planned for targets (0-1).
    ``protected_share``: share of the capacity kept for targets even when customers'
    workload leaves less (0-1). ``max_targets``: most targets per rep.
    """

    start: date | None = None
    weeks: int = 13
    expansion_share: float = 0.4
    outreach_share: float = 0.5
    protected_share: float = 0.2
    max_targets: int = 150
    playbook: Playbook = field(default_factory=default_playbook)

    def check(self) -> None:
        problems = []
        if not 4 <= self.weeks <= 26:
            problems.append(f"weeks must be 4-26; got {self.weeks}")
        if not 0.0 <= self.expansion_share <= 1.0:
            problems.append(f"expansion share must be 0-1; got {self.expansion_share}")
        if not 0.0 < self.outreach_share <= 1.0:
            problems.append(
                f"outreach share must be above 0 and at most 1; got {self.outreach_share}"
            )
        if not 0.0 <= self.protected_share <= 1.0:
            problems.append(f"protected share must be 0-1; got {self.protected_share}")
        if self.max_targets < 1:
            problems.append(f"max targets must be at least 1; got {self.max_targets}")
        if problems:
            raise ConfigError("; ".join(problems))


@dataclass(frozen=True)
class Capacity:
    """A rep's hours per week: ``capacity`` (selling hours), ``customer_load`` (existing
    customers' workload), ``free`` (capacity - customer_load, at least 0) and
    ``plan_limit`` (the most a week's target steps may take: free x outreach share, at
    least capacity x protected share, at most the capacity). ``overloaded``: customers'
    workload alone leaves less than the plan's limit."""

    capacity: float
    capacity_source: str
    customer_load: float
    free: float
    plan_limit: float

    @property
    def overloaded(self) -> bool:
        return self.customer_load + self.plan_limit > self.capacity + 1e-9


def rep_capacity(
    rep: dict[str, Any], book: pd.DataFrame, options: PlanOptions, *, default_hours: float
) -> Capacity:
    """The rep's weekly capacity after existing customers' workload (see the module)."""
    hours = rep.get("capacity_hours")
    if hours is None or not math.isfinite(float(hours)) or float(hours) <= 0:
        hours, source = default_hours, "default"
    else:
        source = "rep"
    customers = book["customer"].to_numpy(bool)
    load = float(book.loc[customers, "workload_hours"].sum()) / WEEKS_PER_YEAR
    free = max(0.0, float(hours) - load)
    limit = max(free * options.outreach_share, float(hours) * options.protected_share)
    return Capacity(float(hours), source, load, free, min(limit, float(hours)))


def candidates(data: PlanData, book: pd.DataFrame, rep: dict[str, Any]) -> pd.DataFrame:
    """The book ranked (tier score, then potential), with ``pool``, engagement columns and
    one-way road ``miles`` from the rep's home (``NaN`` when either is unlocated)."""
    work = data.scoring_config().workload
    frame = book.sort_values(
        ["tier_score", "potential", "id"], ascending=[False, False, True]
    ).reset_index(drop=True)
    frame["pool"] = np.where(frame["customer"].to_numpy(bool), "expansion", "new logo")
    last = pd.to_datetime(frame["last_activity"])
    frame["days_since_activity"] = (pd.Timestamp(data.as_of) - last).dt.days.astype(float)
    lat, lon = rep.get("home_latitude"), rep.get("home_longitude")
    if lat is None or lon is None or not (np.isfinite(lat) and np.isfinite(lon)):
        frame["miles"] = np.nan
    else:
        miles = great_circle_miles(lat, lon, frame["latitude"], frame["longitude"])
        frame["miles"] = np.minimum(miles * work.road_factor, work.max_travel_miles)
    frame["rank"] = np.arange(1, len(frame) + 1)
    return frame


def add_lookalikes(data: PlanData, frame: pd.DataFrame, playbook: Playbook) -> pd.DataFrame:
    """``lookalike_*`` columns: the nearest recent closed-won account of the same industry
    within ``lookalike.max_miles`` (name, id, miles, product, amount, close date)."""
    spec = playbook.lookalike
    key = ("lookalike pools", spec.recent_days)
    if key not in data.cache:
        cutoff = pd.Timestamp(data.as_of) - pd.Timedelta(days=spec.recent_days)
        won = data.won[
            (data.won["close_date"] >= cutoff)
            & data.won["latitude"].notna()
            & data.won["industry"].notna()
        ]
        won = won.sort_values("close_date").drop_duplicates("account_id", keep="last")
        data.cache[key] = {str(k): g for k, g in won.groupby("industry")}
    pools: dict[str, pd.DataFrame] = data.cache[key]
    n = len(frame)
    out = {
        "lookalike_id": np.full(n, None, dtype=object),
        "lookalike_name": np.full(n, None, dtype=object),
        "lookalike_miles": np.full(n, np.nan),
        "lookalike_product": np.full(n, None, dtype=object),
        "lookalike_amount": np.full(n, np.nan),
        "lookalike_date": np.full(n, None, dtype=object),
    }
    ids = frame["id"].to_numpy(object)
    for industry, rows in frame.groupby("industry", sort=False):
        pool = pools.get(str(industry))
        if pool is None or pool.empty:
            continue
        where = rows.index.to_numpy()
        miles = great_circle_miles(
            rows["latitude"].to_numpy(float)[:, None],
            rows["longitude"].to_numpy(float)[:, None],
            pool["latitude"].to_numpy(float)[None, :],
            pool["longitude"].to_numpy(float)[None, :],
        )
        # an account is not its own look-alike
        miles[ids[where][:, None] == pool["account_id"].to_numpy(object)[None, :]] = np.inf
        miles = np.where(np.isfinite(miles), miles, np.inf)
        best = np.argmin(miles, axis=1)
        best_miles = miles[np.arange(len(where)), best]
        ok = best_miles <= spec.max_miles
        chosen = pool.iloc[best[ok]]
        rows_ok = where[ok]
        out["lookalike_id"][rows_ok] = chosen["account_id"].to_numpy(object)
        out["lookalike_name"][rows_ok] = chosen["name"].to_numpy(object)
        out["lookalike_miles"][rows_ok] = best_miles[ok]
        out["lookalike_product"][rows_ok] = chosen["product"].to_numpy(object)
        out["lookalike_amount"][rows_ok] = chosen["amount"].to_numpy(float)
        out["lookalike_date"][rows_ok] = [d.date() for d in chosen["close_date"]]
    return frame.assign(**out)


class ProductAffinity:
    """Most-won products of similar accounts (see the module); built once per data."""

    def __init__(self, data: PlanData, playbook: Playbook) -> None:
        self.spec = playbook.products
        won = data.won[data.won["product"].notna()].copy()
        won["product"] = won["product"].astype(str)
        self.levels: list[tuple[tuple[str, ...], dict[tuple[Any, ...], pd.Series]]] = []
        for keys in (self.spec.similar_by, ("industry",), ()):
            if not keys:
                self.levels.append(((), {(): won["product"].value_counts()}))
                continue
            groups = {
                (k if isinstance(k, tuple) else (k,)): g["product"].value_counts()
                for k, g in won.groupby(list(keys))
            }
            self.levels.append((keys, groups))

    @classmethod
    def of(cls, data: PlanData, playbook: Playbook) -> ProductAffinity:
        """The affinity for ``data`` and the playbook's product settings (built once)."""
        key = ("affinity", playbook.products)
        if key not in data.cache:
            data.cache[key] = cls(data, playbook)
        return data.cache[key]  # type: ignore[no-any-return]

    def lead(self, row: Any) -> tuple[str | None, str]:
        """The product to lead with and why (``"14 of 40 won deals of Healthcare, SMB
        accounts"``)."""
        owned = set(row.get("products") or ())
        for keys, groups in self.levels:
            counts = groups.get(tuple(row.get(k) for k in keys))
            if counts is None or counts.sum() < self.spec.min_won_deals:
                continue
            open_products = counts[~counts.index.isin(owned)]
            pick = open_products if len(open_products) else counts
            product = str(pick.index[0])
            who = ", ".join(str(row.get(k)) for k in keys) + " accounts" if keys else "all accounts"
            why = f"{int(pick.iloc[0])} of {int(counts.sum())} won deals of {who}"
            if owned and len(open_products):
                why += f"; it does not own {product} yet"
            return product, why
        return None, "too few won deals to tell"


# --- rationale -----------------------------------------------------------------------
def _positive_reasons(text: Any, unit: str, top: int = 3) -> list[str]:
    """Labels of the positive parts of a reasons text (``"Healthcare: +30 fit; ..."``)."""
    if not isinstance(text, str) or not text:
        return []
    out = []
    for part in text.split("; "):
        label, _, amount = part.rpartition(": ")
        if label and amount.startswith("+") and amount.endswith(unit):
            out.append(label)
    return out[:top]


def _money(value: float) -> str:
    if not np.isfinite(value):
        return "unknown"
    if abs(value) >= 1e6:
        return f"${value / 1e6:.1f}M"
    if abs(value) >= 1e3:
        return f"${value / 1e3:.1f}k".replace(".0k", "k")
    return f"${value:,.0f}"


def _day(value: Any) -> date | None:
    """A date, or ``None`` for missing values (``NaT`` is a ``date`` instance too)."""
    if value is None or pd.isna(value):
        return None
    return value.date() if isinstance(value, pd.Timestamp) else value


def signals_text(row: Any, as_of: date) -> list[str]:
    """The account's intent signals with their dates (the attribute's ``*_date`` when the
    export has one, else the date the data describes)."""
    out = []
    for name, words in FLAG_SIGNALS.items():
        if bool(row.get(name)):
            when = _day(row.get(f"{name}_date"))
            out.append(
                f"{words} ({'since ' + when.isoformat() if when else 'as of ' + as_of.isoformat()})"
            )
    for name, template in COUNT_SIGNALS.items():
        value = row.get(name)
        if value is not None and np.isfinite(value) and value > 0:
            day = _day(row.get(f"{name}_date")) or as_of
            text = template.format(value=f"{value:,.0f}", date=day.isoformat())
            out.append(text.replace("1 web visits", "1 web visit"))
    return out


def rationale(row: Any, as_of: date) -> str:
    """Why this account is a target, in plain words built from its scores and facts."""
    parts: list[str] = []
    firmo = ", ".join(
        str(x)
        for x in (
            row.get("industry"),
            f"{int(row['employees']):,} employees" if pd.notna(row.get("employees")) else None,
            f"{row.get('city')}, {row.get('state')}" if isinstance(row.get("city"), str) else None,
        )
        if x and x == x
    )
    fit = _positive_reasons(row.get("fit_reasons"), "fit")
    parts.append(
        f"{firmo}: fit {row['fit_score']:.0f}/100" + (f" ({', '.join(fit)})" if fit else "") + "."
    )
    if row.get("customer"):
        bought = ", ".join(row.get("products") or ()) or "products"
        since = _day(row.get("first_won"))
        when = f" since {since:%b %Y}" if since else ""
        parts.append(f"Customer{when}: bought {bought} for {_money(row['won_amount'])} in total.")
    if isinstance(row.get("lookalike_name"), str):
        d = _day(row["lookalike_date"])
        parts.append(
            f"Looks like {row['lookalike_name']}, a {row['industry']} customer "
            f"{row['lookalike_miles']:.0f} mi away that bought "
            f"{row['lookalike_product'] or 'from us'} for {_money(row['lookalike_amount'])}"
            f"{f' in {d:%b %Y}' if isinstance(d, date) else ''}."
        )
    signals = signals_text(row, as_of)
    if signals:
        parts.append("Signals: " + "; ".join(signals) + ".")
    if pd.notna(row.get("propensity")):
        why = _positive_reasons(row.get("propensity_reasons"), "propensity", top=2)
        parts.append(
            f"Win propensity {row['propensity']:.2f} "
            f"(top {100 - row['propensity_percentile']:.0f}%)"
            + (f", raised by {', '.join(why)}" if why else "")
            + "."
        )
    method = row.get("potential_method")
    how = row.get("potential_inputs") if isinstance(row.get("potential_inputs"), str) else method
    parts.append(f"Potential {_money(row['potential'])}/yr, estimated as {how}.")
    if row.get("open_opps", 0) > 0:
        parts.append(
            f"{int(row['open_opps'])} open opportunit{'y' if row['open_opps'] == 1 else 'ies'} "
            f"worth {_money(row['open_amount'])}."
        )
    last = row.get("last_activity")
    if isinstance(last, pd.Timestamp) and pd.notna(last):
        parts.append(f"Last contact {last:%Y-%m-%d} ({row.get('last_channel')}).")
    else:
        parts.append("Never contacted.")
    return " ".join(parts)


__all__ = [
    "Capacity",
    "PlanOptions",
    "ProductAffinity",
    "add_lookalikes",
    "candidates",
    "rationale",
    "rep_capacity",
    "signals_text",
]
