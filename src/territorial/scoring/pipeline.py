"""Score a whole book: fit, propensity, potential, tier, workload and reasons, one row per account.

:func:`score_accounts` is the library entry point the CLI, the API and the benchmark call.
It takes canonical frames (see :mod:`territorial.scoring.frames`) and returns a
:class:`ScoringRun`: the per-account table (columns documented in ``docs/scoring.md`` and
in :data:`SCORE_COLUMNS`), the propensity model's held-out quality (or why it was not
trained), territory tiers, capacity and market roll-ups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from territorial.scoring.config import ScoringConfig, load_config
from territorial.scoring.explain import format_money
from territorial.scoring.features import build_history
from territorial.scoring.fit import fit_scores
from territorial.scoring.frames import (
    prepare_accounts,
    prepare_activities,
    prepare_opportunities,
    prepare_reps,
)
from territorial.scoring.potential import market_rollup, revenue_potential
from territorial.scoring.propensity import (
    InsufficientHistoryError,
    ModelQuality,
    PropensityModel,
)
from territorial.scoring.tiers import tier_accounts, tier_territories
from territorial.scoring.workload import account_workload, capacity_plan, travel_distances

log = logging.getLogger(__name__)

#: Every column of the per-account score table: (name, unit, meaning). docs/scoring.md
#: mirrors this list and a test checks they agree.
SCORE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("account_id", "id", "Account id (accounts.id)."),
    ("as_of", "date", "Date the scores describe; activity windows end the day before."),
    ("scored_at", "UTC timestamp", "When this run computed the row."),
    ("fit_score", "points 0-100", "Ideal-customer-profile fit from the configured factors."),
    ("fit_reasons", "text", "Top three fit factors with their points."),
    (
        "propensity",
        "probability 0-1",
        "Calibrated chance that an opportunity opened now is won; empty when not trained.",
    ),
    ("propensity_percentile", "percentile 0-100", "Rank of propensity among all accounts."),
    ("propensity_reasons", "text", "Top three feature groups with their effect on propensity."),
    (
        "potential",
        "dollars per year",
        "Revenue potential (seats x price, or learned from won deals).",
    ),
    ("potential_percentile", "percentile 0-100", "Rank of potential among all accounts."),
    ("potential_method", "text", "'seats' or 'learned'."),
    ("potential_inputs", "text", "The inputs of the potential calculation for this account."),
    (
        "serviceable",
        "boolean",
        "In the serviceable market: fit >= potential.serviceable.min_fit, state served.",
    ),
    (
        "tier_score",
        "points 0-100",
        "Weighted mean of fit, propensity percentile and potential percentile.",
    ),
    ("tier", "A/B/C", "A: tier_score >= tiers.thresholds.a; B: >= b; else C."),
    ("tier_reasons", "text", "The components of tier_score, largest first."),
    ("visit_hours", "hours per year", "Visits per year x visit duration, from the tier."),
    ("call_hours", "hours per year", "Calls per year x call duration, from the tier."),
    ("travel_hours", "hours per year", "Visits x 2 x road miles / speed."),
    ("workload_hours", "hours per year", "visit_hours + call_hours + travel_hours."),
    (
        "travel_miles",
        "miles",
        "One-way road miles (great circle x road factor, capped) from travel_from.",
    ),
    (
        "travel_from",
        "text",
        "'owner' (owner's home), 'nearest rep' or 'default' (no distance known).",
    ),
    ("workload_reasons", "text", "The workload formula with this account's numbers."),
    ("reasons", "text", "Headline: the strongest fit, propensity and potential reasons."),
)

#: Account columns added to file exports (not stored: they live in ``accounts``).
EXPORT_CONTEXT_COLUMNS: tuple[str, ...] = (
    "name",
    "state",
    "postal_code",
    "segment",
    "industry",
    "owner_id",
)


@dataclass(frozen=True, slots=True, eq=False)
class ScoringRun:
    """The outcome of :func:`score_accounts`.

    ``scores``: one row per account, columns :data:`SCORE_COLUMNS` (in that order).
    ``context``: the account columns in :data:`EXPORT_CONTEXT_COLUMNS`, same row order.
    ``quality``: held-out model quality, or ``None`` with ``propensity_skipped`` saying why.
    ``importance``: propensity feature groups by strength. ``territories``: tiers per owner.
    ``capacity``: reps needed. ``market``: TAM/SAM by state and segment.
    """

    scores: pd.DataFrame
    context: pd.DataFrame
    as_of: date
    quality: ModelQuality | None
    propensity_skipped: str | None
    importance: pd.DataFrame | None
    territories: pd.DataFrame
    capacity: pd.DataFrame
    market: pd.DataFrame
    potential_info: dict[str, object] = field(default_factory=dict)

    def export_frame(self) -> pd.DataFrame:
        """Scores with the account context columns, for CSV/Parquet files."""
        context = self.context.drop(columns=[c for c in self.context if c in self.scores])
        return pd.concat([self.scores, context], axis=1)


def default_as_of(opportunities: pd.DataFrame, activities: pd.DataFrame) -> date:
    """The data's "today": the latest activity, opportunity creation or past close date.

    Falls back to today's UTC date when there is no dated history.
    """
    today = pd.Timestamp(datetime.now(UTC).date())
    stamps = [
        activities["occurred_at"].max() if len(activities) else pd.NaT,
        opportunities["created_date"].max() if len(opportunities) else pd.NaT,
    ]
    if len(opportunities):
        closed = opportunities.loc[opportunities["is_closed"], "close_date"]
        stamps.append(closed[closed <= today].max() if len(closed) else pd.NaT)
    valid = [s for s in stamps if pd.notna(s)]
    if not valid:
        return today.date()
    latest = min(max(valid), today)
    return (latest + pd.Timedelta(days=1)).date()


def score_accounts(
    accounts: pd.DataFrame,
    *,
    reps: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    config: ScoringConfig | None = None,
    as_of: date | None = None,
    random_state: int = 0,
) -> ScoringRun:
    """Score every account in ``accounts`` as of ``as_of`` (default :func:`default_as_of`).

    Propensity follows ``propensity.mode``: ``auto`` trains when history allows and
    otherwise leaves propensity empty (the reason is in ``propensity_skipped``);
    ``required`` raises :class:`InsufficientHistoryError`; ``off`` never trains.
    """
    # Small dense algebra (tens of features): BLAS threads only fight each other and other
    # processes for the cores, which made training 5x slower on a shared 2-core machine.
    with threadpool_limits(limits=1):
        return _score_accounts(
            accounts,
            reps=reps,
            opportunities=opportunities,
            activities=activities,
            config=config,
            as_of=as_of,
            random_state=random_state,
        )


def _score_accounts(
    accounts: pd.DataFrame,
    *,
    reps: pd.DataFrame | None,
    opportunities: pd.DataFrame | None,
    activities: pd.DataFrame | None,
    config: ScoringConfig | None,
    as_of: date | None,
    random_state: int,
) -> ScoringRun:
    config = config or load_config()
    accounts = prepare_accounts(accounts)
    reps = prepare_reps(reps)
    opportunities = prepare_opportunities(opportunities)
    activities = prepare_activities(activities)
    as_of = as_of or default_as_of(opportunities, activities)
    as_of_ts = pd.Timestamp(as_of)
    n = len(accounts)
    log.info("scoring %d accounts as of %s", n, as_of)

    # Only history before as_of may inform the scores.
    opportunities = opportunities[opportunities["created_date"] < as_of_ts].copy()
    opportunities.loc[opportunities["close_date"] >= as_of_ts, ["is_closed", "is_won"]] = False
    activities = activities[activities["occurred_at"] < as_of_ts]

    fit = fit_scores(accounts, config.fit)

    quality = importance = None
    skipped: str | None = None
    propensity = np.full(n, np.nan)
    propensity_reasons = np.full(n, "", dtype=object)
    prop_top = np.full(n, "", dtype=object)
    if config.propensity.mode == "off":
        skipped = "propensity.mode is off"
    else:
        history = build_history(
            accounts["id"], activities, opportunities, channels=config.propensity.channels
        )
        model = PropensityModel(config=config.propensity, random_state=random_state)
        try:
            model.fit(
                accounts=accounts,
                opportunities=opportunities,
                activities=activities,
                history=history,
            )
        except InsufficientHistoryError as exc:
            if config.propensity.mode == "required":
                raise
            skipped = exc.message
            log.warning("propensity not trained: %s", exc.message)
        else:
            result = model.predict(accounts=accounts, as_of=as_of)
            propensity, propensity_reasons = result.probability, result.reasons
            prop_top = result.top_reason
            quality, importance = model.quality_, model.importance_

    pot = revenue_potential(accounts, opportunities, config.potential)
    tiers = tier_accounts(
        fit=fit.score,
        propensity=None if quality is None else propensity,
        potential=pot.potential,
        config=config.tiers,
    )
    travel = travel_distances(accounts, reps, config.workload)
    work = account_workload(tiers.tier, travel.road_miles, config.workload)

    serviceable = fit.score >= config.potential.serviceable_min_fit
    if config.potential.serviceable_states is not None:
        states = {s.upper() for s in config.potential.serviceable_states}
        serviceable &= accounts["state"].astype(str).str.upper().isin(states).to_numpy()

    # Headline: best fit reason, best propensity reason, and the potential.
    best_fit, best_prop = fit.top_reason, prop_top
    headline = "potential " + format_money(pot.potential) + "/yr (" + pot.method + ")"
    reasons = np.where(best_prop != "", best_fit + "; " + best_prop, best_fit) + "; " + headline
    reasons = np.where(best_fit == "", headline, reasons)

    scored_at = datetime.now(UTC).replace(microsecond=0)

    def text(values: np.ndarray) -> pd.Series:
        # Keep Python strings: letting pandas 3 convert to Arrow strings costs seconds at 100k.
        return pd.Series(values, dtype=object)

    scores = pd.DataFrame(
        {
            "account_id": text(accounts["id"].to_numpy(dtype=object)),
            "as_of": as_of,
            "scored_at": scored_at,
            "fit_score": np.round(fit.score, 2),
            "fit_reasons": text(fit.reasons),
            "propensity": np.round(propensity, 4),
            "propensity_percentile": np.round(tiers.propensity_percentile, 2),
            "propensity_reasons": text(propensity_reasons),
            "potential": np.round(pot.potential, 2),
            "potential_percentile": np.round(tiers.potential_percentile, 2),
            "potential_method": text(pot.method),
            "potential_inputs": text(pot.inputs),
            "serviceable": serviceable,
            "tier_score": np.round(tiers.tier_score, 2),
            "tier": text(tiers.tier),
            "tier_reasons": text(tiers.reasons),
            "visit_hours": np.round(work.visit_hours, 3),
            "call_hours": np.round(work.call_hours, 3),
            "travel_hours": np.round(work.travel_hours, 3),
            "workload_hours": np.round(work.workload_hours, 3),
            "travel_miles": np.round(travel.road_miles, 2),
            "travel_from": text(travel.travel_from),
            "workload_reasons": text(work.reasons),
            "reasons": text(reasons),
        }
    )
    context = accounts[list(EXPORT_CONTEXT_COLUMNS)].reset_index(drop=True)
    both = pd.concat([scores, context[["segment", "state", "owner_id"]]], axis=1)
    return ScoringRun(
        scores=scores,
        context=context,
        as_of=as_of,
        quality=quality,
        propensity_skipped=skipped,
        importance=importance,
        territories=tier_territories(both, territory="owner_id", config=config.tiers),
        capacity=capacity_plan(both, config=config.capacity, reps=reps, by="segment"),
        market=market_rollup(both, by=["state", "segment"]),
        potential_info=pot.model_info,
    )
