"""Quotas: a company target split across territories, pro-rated, bounded and phased.

The pure core (:func:`allocate_quotas`) works on one row per territory; the adapter
(:func:`quota_inputs_from_store`) builds those rows from the territory model (ownership
through :mod:`territorial.planning.ownership`), the stored scores and the won history,
and :func:`plan_quotas` strings the two together.

Method (``QuotaOptions.method``), each territory ``i``:

* ``potential``: basis_i = potential_i (dollars per year, from ``account_scores``).
* ``history``: basis_i = bookings_i × (1 + g_i): won amounts of the territory's accounts
  in the 12 months before the period (or before the data ends), grown by the
  territory's own year-over-year growth g_i, clipped to ±``growth_cap``.
* ``blend``: share_i = w_p × potential share + w_h × history share (weights given).

Pro-rating: a rep who starts mid-period carries nothing before the start date and, in
the months after, the ramp schedule's fraction (``ramp=(0.25, 0.5, 0.75)``: 25% in the
first month, 50% in the second ...; 100% afterwards). Each month's weight is the
market's seasonality index for the territory's segment mix (see
:func:`territorial.reports.market.seasonality`) times the rep's productivity that
month; a territory's productivity ``f_i`` is its share of a full rep's seasonal year.

Quota_i = clip(λ × share_i × f_i, floor × f_i, cap × f_i), with λ chosen so the quotas
add up to the target exactly (every dollar of the target is carried by someone).
Monthly phasing spreads each quota over its month weights; amounts are in cents and add
up to the territory's quota to the cent.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from territorial.errors import ConfigError, NotFoundError
from territorial.goals.periods import Period, add_months, parse_period

log = logging.getLogger(__name__)

METHODS = ("potential", "history", "blend")

#: Columns of :attr:`QuotaResult.quotas`, name -> meaning.
QUOTA_COLUMNS: dict[str, str] = {
    "territory": "territory id",
    "territory_name": "territory name",
    "rep_id": "owner rep (empty for an open territory)",
    "potential": "revenue potential of its accounts, dollars per year",
    "history": "won bookings of its accounts in the trailing 12 months, dollars",
    "growth": "year-over-year growth of those bookings used by 'history' (clipped)",
    "share": "its share of the target before pro-rating and bounds (0-1)",
    "productivity": "share of a full rep's seasonal period the rep works (0-1; ramp, start)",
    "quota": "the quota for the period, dollars",
    "quota_over_potential": "quota / potential",
    "quota_index": "quota_over_potential / the median territory's (1 = in line)",
    "out_of_line": "quota_index outside 1 ± outlier_band",
    "expected_bookings": "sum of potential × propensity of its accounts, dollars (bottom-up)",
    "quota_over_expected": "quota / expected_bookings",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaOptions:
    """How a target is split (validated by :meth:`validate`, at work time)."""

    method: str = "potential"
    potential_weight: float = 0.5
    history_weight: float = 0.5
    growth_cap: float = 0.5
    floor: float | None = None
    cap: float | None = None
    ramp: tuple[float, ...] = (0.25, 0.5, 0.75)
    fiscal_start_month: int = 1
    outlier_band: float = 0.25

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"method {self.method!r} is not one of {', '.join(METHODS)}")
        for name in ("potential_weight", "history_weight", "growth_cap", "outlier_band"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name.replace('_', ' ')} must be a number >= 0, got {value}")
        if self.method == "blend" and self.potential_weight + self.history_weight <= 0:
            raise ConfigError("blend weights must not both be 0")
        for i, step in enumerate(self.ramp, start=1):
            if not math.isfinite(step) or step < 0:
                raise ConfigError(f"ramp month {i} is {step:.0%}: must be between 0% and 100%")
            if step > 1:
                raise ConfigError(
                    f"ramp month {i} is {step:.0%}: a ramp schedule cannot exceed 100%"
                )
        if self.floor is not None and (not math.isfinite(self.floor) or self.floor < 0):
            raise ConfigError(f"floor must be an amount >= 0, got {self.floor}")
        if self.cap is not None and (not math.isfinite(self.cap) or self.cap <= 0):
            raise ConfigError(f"cap must be a positive amount, got {self.cap}")
        if self.floor is not None and self.cap is not None and self.floor > self.cap:
            raise ConfigError(f"floor {self.floor:,.0f} is above cap {self.cap:,.0f}")
        if not 1 <= self.fiscal_start_month <= 12:
            raise ConfigError(
                f"fiscal year start month must be 1-12, got {self.fiscal_start_month}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "potential_weight": self.potential_weight,
            "history_weight": self.history_weight,
            "growth_cap": self.growth_cap,
            "floor": self.floor,
            "cap": self.cap,
            "ramp": list(self.ramp),
            "fiscal_start_month": self.fiscal_start_month,
            "outlier_band": self.outlier_band,
        }


@dataclass(frozen=True, slots=True)
class QuotaResult:
    """Quotas of one period: ``quotas`` (:data:`QUOTA_COLUMNS`), ``monthly`` (territory,
    month YYYY-MM, quota), the ``fairness`` summary and the ``explanation`` in words."""

    period: Period
    target: float
    options: QuotaOptions
    quotas: pd.DataFrame
    monthly: pd.DataFrame
    fairness: dict[str, Any]
    explanation: list[str] = field(default_factory=list)
    plan_id: int | None = None


def check_target(target: object) -> float:
    """The target as a positive finite number of dollars, or :class:`ConfigError`."""
    try:
        value = float(str(target).replace(",", "").replace("$", "").strip())
    except ValueError as exc:
        raise ConfigError(f"target {target!r} is not an amount (e.g. 12000000)") from exc
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"target must be a positive amount, got {target!r}")
    return value


# --- month weights -----------------------------------------------------------------------
def productivity_by_month(
    start_dates: Sequence[date | None], months: Sequence[str], ramp: Sequence[float]
) -> np.ndarray:
    """``(territories, months)`` share of a full rep's month each rep works (0-1).

    Before the start date: 0; the start month counts its remaining days at the first
    ramp step; month ``k`` after the start month works ``ramp[k]``, then 100%.
    """
    firsts = [date(int(m[:4]), int(m[5:7]), 1) for m in months]
    month_index = np.array([d.year * 12 + d.month - 1 for d in firsts], dtype=np.int64)
    month_days = np.array([(add_months(d, 1) - d).days for d in firsts], dtype=float)
    ramp_steps = np.asarray([*list(ramp), 1.0], dtype=float)
    out = np.ones((len(start_dates), len(months)), dtype=float)
    for row, start in enumerate(start_dates):
        if start is None:
            continue
        start_index = start.year * 12 + start.month - 1
        k = month_index - start_index
        share = ramp_steps[np.clip(k, 0, len(ramp_steps) - 1)]
        share = np.where(k < 0, 0.0, share)
        worked = (month_days - (start.day - 1)) / month_days
        out[row] = np.where(k == 0, share * worked, share)
    return out


def _water_fill(
    weights: np.ndarray, lower: np.ndarray, upper: np.ndarray, target: float
) -> np.ndarray:
    """``clip(λ·w, lower, upper)`` summing to ``target`` (bisection on λ)."""
    if lower.sum() > target + 1e-6:
        raise ConfigError(
            f"the floors add up to {lower.sum():,.2f}, more than the target {target:,.2f}; "
            "lower the floor or raise the target"
        )
    if upper.sum() < target - 1e-6:
        raise ConfigError(
            f"the caps add up to {upper.sum():,.2f}, less than the target {target:,.2f}; "
            "raise the cap or lower the target"
        )
    if weights.sum() <= 0:
        weights = np.where(upper > 0, 1.0, 0.0)
    lo, hi = 0.0, target / max(weights[weights > 0].min(), 1e-12) * 2 + 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        total = np.clip(mid * weights, lower, upper).sum()
        if total < target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    values = np.clip(hi * weights, lower, upper)
    # The bisection's last cent goes to the territories not at a bound, in proportion.
    free = (values > lower + 1e-9) & (values < upper - 1e-9)
    gap = target - values.sum()
    if free.any() and values[free].sum() > 0:
        values[free] += gap * values[free] / values[free].sum()
    return values


def _cents(values: np.ndarray, total: float) -> np.ndarray:
    """``values`` rounded to cents, the rounding gap put on the largest, adding to ``total``."""
    cents = np.round(values * 100).astype(np.int64)
    gap = round(total * 100) - int(cents.sum())
    if len(cents) and gap:
        cents[int(np.argmax(values))] += gap
    return cents / 100.0


# --- the core ----------------------------------------------------------------------------
def allocate_quotas(
    territories: pd.DataFrame,
    *,
    target: float,
    period: Period,
    options: QuotaOptions | None = None,
    season: pd.DataFrame | None = None,
) -> QuotaResult:
    """Split ``target`` dollars over ``territories`` for ``period``.

    ``territories`` columns: ``territory``, ``territory_name``, ``rep_id``, ``potential``,
    ``history`` and ``prior_history`` (won dollars, trailing 12 months and the 12 before),
    ``expected_bookings`` (may be NaN) and ``start_date`` (rep start, ``date`` or None).
    ``season``: index by territory, columns 1-12 (calendar month), the seasonality index
    (1 = average month); missing means flat.
    """
    options = options or QuotaOptions()
    options.validate()
    target = check_target(target)
    if territories.empty:
        raise NotFoundError("no territories to give a quota to")
    frame = territories.reset_index(drop=True).copy()
    n = len(frame)
    months = period.months()
    potential = frame["potential"].fillna(0.0).to_numpy(dtype=float)
    history = frame["history"].fillna(0.0).to_numpy(dtype=float)
    prior = frame["prior_history"].fillna(0.0).to_numpy(dtype=float)
    growth = np.where(prior > 0, history / np.where(prior > 0, prior, 1.0) - 1.0, 0.0)
    growth = np.clip(growth, -options.growth_cap, options.growth_cap)
    grown = history * (1.0 + growth)
    explanation: list[str] = []

    def shares(values: np.ndarray, what: str) -> np.ndarray:
        total = values.sum()
        if total <= 0:
            raise ConfigError(
                f"every territory's {what} is 0: the {options.method!r} method has nothing to "
                "split by (score the accounts or import won history)"
            )
        return values / total

    if options.method == "potential":
        share = shares(potential, "potential")
        explanation.append(
            "potential: each territory's share of the target is its share of the revenue "
            f"potential of all territories ({potential.sum():,.0f} $/year)."
        )
    elif options.method == "history":
        share = shares(grown, "trailing bookings")
        explanation.append(
            "history: each territory's share is its share of trailing-12-month bookings "
            f"({history.sum():,.0f} $), each grown by its own year-over-year growth, "
            f"clipped to ±{options.growth_cap:.0%}."
        )
    else:
        weights = np.array([options.potential_weight, options.history_weight], dtype=float)
        weights /= weights.sum()
        p = shares(potential, "potential") if weights[0] > 0 else np.zeros(n)
        h = shares(grown, "trailing bookings") if weights[1] > 0 else np.zeros(n)
        share = weights[0] * p + weights[1] * h
        explanation.append(
            f"blend: {weights[0]:.0%} of each share from potential and {weights[1]:.0%} "
            f"from trailing bookings grown by their growth (clipped to ±{options.growth_cap:.0%})."
        )

    starts = [
        None
        if s is None or (isinstance(s, float) and math.isnan(s)) or pd.isna(s)
        else pd.Timestamp(s).date()
        for s in frame.get("start_date", pd.Series([None] * n))
    ]
    working = productivity_by_month(starts, months, options.ramp)
    month_numbers = np.array([int(m[5:7]) for m in months])
    if season is not None and len(season):
        index = (
            season.reindex(frame["territory"].astype(str))
            .reindex(columns=range(1, 13))
            .to_numpy(dtype=float)
        )
        index = np.where(np.isfinite(index) & (index > 0), index, 1.0)[:, month_numbers - 1]
    else:
        index = np.ones((n, len(months)))
    seasonal = index / index.sum(axis=1, keepdims=True)
    month_weight = seasonal * working
    productivity = month_weight.sum(axis=1)

    lower = np.zeros(n) if options.floor is None else options.floor * productivity
    upper = np.full(n, np.inf) if options.cap is None else options.cap * productivity
    quota = _water_fill(share * productivity, lower, upper, target)
    quota = _cents(quota, target)
    ramped = int((productivity < 1 - 1e-9).sum())
    if ramped:
        explanation.append(
            f"{ramped} territor{'y' if ramped == 1 else 'ies'} pro-rated for a rep who starts "
            f"in the period or ramps (ramp {', '.join(f'{r:.0%}' for r in options.ramp)})."
        )
    if options.floor is not None or options.cap is not None:
        explanation.append(
            "bounds per rep (pro-rated): "
            + ", ".join(
                f"{name} {value:,.0f} $"
                for name, value in (("floor", options.floor), ("cap", options.cap))
                if value is not None
            )
            + "; the rest of the target is spread over the territories within bounds."
        )
    explanation.append(
        "monthly phasing follows the market's seasonality of won revenue for each "
        "territory's segment mix, times the rep's productivity each month."
    )

    totals = month_weight.sum(axis=1, keepdims=True)
    flat = np.full_like(month_weight, 1.0 / len(months))
    spread = np.where(totals > 0, month_weight / np.where(totals > 0, totals, 1.0), flat)
    spread = spread * quota[:, None]
    # Cents per month; each territory's rounding gap goes to its largest month.
    cents = np.round(spread * 100).astype(np.int64)
    gap = np.round(quota * 100).astype(np.int64) - cents.sum(axis=1)
    cents[np.arange(n), np.argmax(spread, axis=1)] += gap
    monthly = pd.DataFrame(
        {
            "territory": np.repeat(frame["territory"].astype(str).to_numpy(), len(months)),
            "month": np.tile(months, n),
            "quota": (cents / 100.0).reshape(-1),
        }
    )

    out = pd.DataFrame(
        {
            "territory": frame["territory"].astype(str),
            "territory_name": frame.get("territory_name", frame["territory"]).astype(str),
            "rep_id": frame["rep_id"].where(frame["rep_id"].notna(), None),
            "potential": np.round(potential, 2),
            "history": np.round(history, 2),
            "growth": np.round(growth, 4),
            "share": np.round(share, 6),
            "productivity": np.round(productivity, 4),
            "quota": quota,
        }
    )
    ratio = np.where(potential > 0, quota / np.where(potential > 0, potential, 1.0), np.nan)
    median = float(np.nanmedian(ratio)) if np.isfinite(ratio).any() else float("nan")
    out["quota_over_potential"] = np.round(ratio, 6)
    out["quota_index"] = np.round(ratio / median, 4) if median and math.isfinite(median) else np.nan
    out["out_of_line"] = (out["quota_index"] - 1).abs() > options.outlier_band
    expected = frame.get("expected_bookings", pd.Series(np.nan, index=frame.index)).to_numpy(float)
    out["expected_bookings"] = np.round(expected, 2)
    out["quota_over_expected"] = np.round(
        np.where(expected > 0, quota / np.where(expected > 0, expected, 1.0), np.nan), 4
    )
    finite = ratio[np.isfinite(ratio)]
    cv = float(finite.std() / finite.mean()) if len(finite) and finite.mean() > 0 else float("nan")
    outliers = out.loc[out["out_of_line"], ["territory", "quota", "potential", "quota_index"]]
    fairness = {
        "territories": n,
        "median_quota_over_potential": median,
        "cv_quota_over_potential": cv,
        "outlier_band": options.outlier_band,
        "outliers": outliers.to_dict("records"),
        "expected_bookings_total": float(np.nansum(expected)),
        "quota_total": float(quota.sum()),
    }
    return QuotaResult(
        period=period,
        target=target,
        options=options,
        quotas=out,
        monthly=monthly,
        fairness=fairness,
        explanation=explanation,
    )


# --- the store adapter -------------------------------------------------------------------
def quota_inputs_from_store(
    engine: Any, *, plan_id: int | None, period: Period
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per territory of the plan (``plan_id``; default the active version) with the
    columns :func:`allocate_quotas` reads, and the seasonality index per territory."""
    from territorial.planning.ownership import book, territory_reps
    from territorial.reports.market import seasonality
    from territorial.store.records import read_accounts, read_opportunities, read_reps
    from territorial.store.scores import read_scores

    members = territory_reps(engine, plan_id=plan_id)
    if members.empty:
        raise NotFoundError("no territories: activate a plan or import accounts with owners")
    owners = members[(members["role"] == "owner") & members["rep_id"].notna()]
    owners = owners.drop_duplicates("territory_id").set_index("territory_id")["rep_id"]
    names = members.drop_duplicates("territory_id").set_index("territory_id")["territory_name"]
    owned = book(engine, plan_id=plan_id)[["account_id", "territory_id"]]
    scores = read_scores(engine, columns=("account_id", "potential", "propensity"))
    if scores.empty:
        raise NotFoundError(
            "no account scores: run `territorial score` first (quotas need potential)"
        )
    per_account = owned.merge(scores, on="account_id", how="left")
    per_account["expected"] = per_account["potential"] * per_account["propensity"]
    grouped = per_account.groupby("territory_id").agg(
        potential=("potential", "sum"),
        expected_bookings=("expected", lambda s: s.sum(min_count=1)),
    )

    opps = read_opportunities(
        engine, columns=("account_id", "amount", "close_date", "is_closed", "is_won")
    )
    won = opps[opps["is_won"].fillna(False).astype(bool) & opps["close_date"].notna()]
    closed_dates = opps.loc[opps["is_closed"].fillna(False).astype(bool), "close_date"]
    data_end = (
        closed_dates.max() + pd.Timedelta(days=1)
        if len(closed_dates)
        else pd.Timestamp(period.start)
    )
    history_end = min(pd.Timestamp(period.start), data_end)
    trailing = won[
        (won["close_date"] >= history_end - pd.DateOffset(years=1))
        & (won["close_date"] < history_end)
    ]
    prior = won[
        (won["close_date"] >= history_end - pd.DateOffset(years=2))
        & (won["close_date"] < history_end - pd.DateOffset(years=1))
    ]
    territory_of = owned.set_index("account_id")["territory_id"]
    history = trailing.groupby(trailing["account_id"].map(territory_of))["amount"].sum()
    prior_history = prior.groupby(prior["account_id"].map(territory_of))["amount"].sum()

    reps = read_reps(engine, columns=("id", "start_date")).set_index("id")["start_date"]
    territory_ids = list(names.index)
    frame = pd.DataFrame({"territory": territory_ids})
    frame["territory_name"] = frame["territory"].map(names)
    frame["rep_id"] = frame["territory"].map(owners)
    frame["potential"] = frame["territory"].map(grouped["potential"]).fillna(0.0)
    frame["expected_bookings"] = frame["territory"].map(grouped["expected_bookings"])
    frame["history"] = frame["territory"].map(history).fillna(0.0)
    frame["prior_history"] = frame["territory"].map(prior_history).fillna(0.0)
    starts = frame["rep_id"].map(reps)
    # A start before the period is a full year of work; only later starts pro-rate.
    frame["start_date"] = [
        None if pd.isna(s) or pd.Timestamp(s).date() <= period.start else pd.Timestamp(s).date()
        for s in starts
    ]

    accounts = read_accounts(engine, columns=("id", "segment"))
    season = seasonality(
        opps.assign(is_closed=opps["is_closed"].fillna(False)), accounts, by="segment"
    )
    index = season.monthly
    if index.empty:
        return frame, pd.DataFrame()
    index = index.assign(month_number=index.groupby("segment").cumcount() + 1)
    table = index.pivot(index="segment", columns="month_number", values="index")
    seg = per_account.merge(
        accounts.rename(columns={"id": "account_id"}), on="account_id", how="left"
    )
    seg["segment"] = seg["segment"].fillna("unknown").astype(str)
    mix = seg.pivot_table(
        index="territory_id", columns="segment", values="potential", aggfunc="sum", fill_value=0.0
    )
    mix = mix.div(mix.sum(axis=1).where(lambda s: s > 0), axis=0).fillna(0.0)
    overall = table.loc["all"] if "all" in table.index else pd.Series(1.0, index=range(1, 13))
    segment_table = table.reindex(mix.columns).apply(lambda row: row.fillna(overall), axis=1)
    segment_table = segment_table.fillna(1.0)
    per_territory = pd.DataFrame(
        mix.to_numpy() @ segment_table.to_numpy(), index=mix.index, columns=range(1, 13)
    )
    missing = [t for t in territory_ids if t not in per_territory.index]
    if missing:
        per_territory = pd.concat(
            [
                per_territory,
                pd.DataFrame(
                    [overall.to_numpy()] * len(missing), index=missing, columns=range(1, 13)
                ),
            ]
        )
    return frame, per_territory


def plan_quotas(
    engine: Any,
    *,
    target: object,
    period: str | Period,
    plan_id: int | None = None,
    options: QuotaOptions | None = None,
) -> QuotaResult:
    """Quotas for the territories of ``plan_id`` (default: the active version)."""
    options = options or QuotaOptions()
    options.validate()
    amount = check_target(target)
    chosen = (
        period
        if isinstance(period, Period)
        else parse_period(period, fiscal_start_month=options.fiscal_start_month)
    )
    if chosen.kind not in ("year", "quarter", "month"):
        raise ConfigError(
            "quotas are set for a fiscal year, quarter or month, "
            f"not a {chosen.kind} ({chosen.label})"
        )
    territories, season = quota_inputs_from_store(engine, plan_id=plan_id, period=chosen)
    result = allocate_quotas(
        territories, target=amount, period=chosen, options=options, season=season
    )
    from territorial.planning.ownership import active_plan_id

    used_plan = plan_id if plan_id is not None else active_plan_id(engine)
    return QuotaResult(
        period=result.period,
        target=result.target,
        options=result.options,
        quotas=result.quotas,
        monthly=result.monthly,
        fairness=result.fairness,
        explanation=result.explanation,
        plan_id=used_plan,
    )


def check_ramp(text: str) -> tuple[float, ...]:
    """A ramp schedule ``"25,50,75"`` (percent per month since start) as fractions."""
    steps: list[float] = []
    for i, part in enumerate(p for p in text.split(",") if p.strip()):
        raw = part.strip().rstrip("%")
        try:
            value = float(raw)
        except ValueError as exc:
            raise ConfigError(f"ramp month {i + 1} {part.strip()!r} is not a percentage") from exc
        steps.append(value / 100.0)
    options = QuotaOptions(ramp=tuple(steps))
    options.validate()
    return tuple(steps)


__all__ = [
    "METHODS",
    "QUOTA_COLUMNS",
    "QuotaOptions",
    "QuotaResult",
    "allocate_quotas",
    "check_ramp",
    "check_target",
    "plan_quotas",
    "productivity_by_month",
    "quota_inputs_from_store",
    "save_quotas",
    "write_quota_files",
]


def save_quotas(
    engine: Any, *, result: QuotaResult, name: str | None = None, created_by: str | None = None
) -> int:
    """Store ``result`` as a new version of its period's quotas; returns the set's id."""
    from territorial.store.goals import save_quota_set

    return save_quota_set(
        engine,
        name=name or f"{result.period.label} {result.options.method}",
        plan_id=result.plan_id,
        period=result.period.label,
        period_start=result.period.start,
        period_end=result.period.end,
        fiscal_start_month=result.options.fiscal_start_month,
        method=result.options.method,
        target=result.target,
        options=result.options.to_dict(),
        fairness=_json_ready(result.fairness),
        explanation=result.explanation,
        quotas=result.quotas,
        monthly=result.monthly,
        created_by=created_by,
    )


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_quota_files(result: QuotaResult, out: str | Path) -> tuple[Path, Path]:
    """``out`` (one row per territory) and ``<stem>_monthly.csv`` beside it (territory,
    month, quota). Both are written to temporary files first: either both appear or none."""
    path = Path(out)
    if path.suffix.lower() != ".csv":
        raise ConfigError(f"--out {str(out)!r} must be a .csv file")
    if not path.parent.exists():
        raise ConfigError(f"folder {str(path.parent)!r} does not exist")
    monthly_path = path.with_name(f"{path.stem}_monthly.csv")
    written: list[tuple[Path, Path]] = []
    for frame, final in ((result.quotas, path), (result.monthly, monthly_path)):
        partial = final.with_name(final.name + ".partial")
        frame.to_csv(partial, index=False)
        written.append((partial, final))
    for partial, final in written:
        partial.replace(final)
    return path, monthly_path


def suggested_target(engine: Any, *, period: Period, growth: float = 0.15) -> float:
    """Won bookings of the 12 months before ``period`` grown by ``growth`` (dollars): a
    starting point for a company target (the demo uses it)."""
    from territorial.store.records import read_opportunities

    opps = read_opportunities(engine, columns=("amount", "close_date", "is_won"))
    close = opps["close_date"]
    start = pd.Timestamp(period.start)
    won = opps["is_won"].fillna(False).astype(bool)
    trailing = opps.loc[won & (close >= start - pd.DateOffset(years=1)) & (close < start), "amount"]
    total = float(trailing.sum()) * (1.0 + growth)
    if total <= 0:
        raise NotFoundError(f"no won bookings in the 12 months before {period.label}")
    return round(total, -3)
