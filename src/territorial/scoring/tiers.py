"""Tiers A/B/C for accounts and territories from fit, propensity and potential.

    tier_score = sum_c w_c x value_c / sum_c w_c        (0-100)

over the components ``c`` an account has: ``fit`` (0-100), ``propensity`` as a percentile
(0-100) and ``potential`` as a percentile (0-100). Percentiles are used because
propensity and potential live on scales that differ by company; when propensity is
missing its weight is spread over the others. Tier ``A`` when ``tier_score >= a``,
``B`` when ``>= b``, else ``C``. A territory's score is the potential-weighted mean of
its accounts' scores, with the same thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from territorial.scoring.config import TierConfig
from territorial.scoring.explain import (
    ObjectArray,
    format_decimal,
    format_int,
    format_money,
    signed,
    top_reasons,
)

FloatArray = npt.NDArray[np.float64]
TIERS: tuple[str, ...] = ("A", "B", "C")


def percentile(values: npt.ArrayLike) -> FloatArray:
    """Percentile rank 0-100 (ties share the average rank); ``NaN`` stays ``NaN``."""
    series = pd.Series(np.asarray(values, dtype=float))
    return (series.rank(pct=True, method="average") * 100.0).to_numpy(dtype=float)


def assign_tier(score: npt.ArrayLike, config: TierConfig) -> ObjectArray:
    """``"A"`` at ``score >= a``, ``"B"`` at ``>= b``, else ``"C"``."""
    s = np.asarray(score, dtype=float)
    return np.select([s >= config.threshold_a, s >= config.threshold_b], ["A", "B"], "C").astype(
        object
    )


@dataclass(frozen=True, slots=True, eq=False)
class TierResult:
    """``tier_score`` (0-100), ``tier`` (A/B/C), the component percentiles and ``reasons``."""

    tier_score: FloatArray
    tier: ObjectArray
    propensity_percentile: FloatArray
    potential_percentile: FloatArray
    reasons: ObjectArray


def tier_accounts(
    *,
    fit: npt.ArrayLike,
    propensity: npt.ArrayLike | None,
    potential: npt.ArrayLike,
    config: TierConfig,
) -> TierResult:
    """Tier every account. ``fit`` 0-100, ``propensity`` probabilities (or ``None``),
    ``potential`` dollars per year."""
    fit = np.asarray(fit, dtype=float)
    n = len(fit)
    prop = np.full(n, np.nan) if propensity is None else np.asarray(propensity, dtype=float)
    pot = np.asarray(potential, dtype=float)
    prop_pct, pot_pct = percentile(prop), percentile(pot)
    values = np.stack([fit, prop_pct, pot_pct], axis=1)
    weights = np.array([config.weights.get(c, 0.0) for c in ("fit", "propensity", "potential")])
    present = np.isfinite(values) & (weights > 0)
    w = np.where(present, weights, 0.0)
    total = w.sum(axis=1)
    parts = np.where(present, values, 0.0) * w / np.where(total > 0, total, 1.0)[:, None]
    score = np.where(total > 0, parts.sum(axis=1), 0.0)
    tier = assign_tier(score, config)
    top_share = np.clip(100.0 - np.floor(values[:, 1:]), 1.0, 100.0)
    texts = np.stack(
        [
            "fit " + format_int(fit),
            "propensity " + format_decimal(prop, 2) + " (top " + format_int(top_share[:, 0]) + "%)",
            "potential " + format_money(pot) + " (top " + format_int(top_share[:, 1]) + "%)",
        ],
        axis=1,
    )
    head = tier + " (score " + format_int(score) + "/100): "
    reasons = head + top_reasons(
        np.where(present, parts, np.nan),
        texts,
        top=3,
        min_abs=-1.0,
        amount_text=lambda v: signed(v) + " tier score",
    )
    return TierResult(
        tier_score=score,
        tier=tier,
        propensity_percentile=prop_pct,
        potential_percentile=pot_pct,
        reasons=reasons,
    )


def tier_territories(frame: pd.DataFrame, *, territory: str, config: TierConfig) -> pd.DataFrame:
    """Territory tiers: potential-weighted mean ``tier_score`` of each territory's accounts.

    ``frame`` has columns ``territory``, ``tier_score``, ``tier``, ``potential`` and
    ``workload_hours``. Columns out: ``territory``, ``accounts``, ``potential``,
    ``workload_hours``, ``tier_a_accounts``, ``tier_score``, ``tier``.
    """
    work = frame[[territory, "tier_score", "potential", "workload_hours"]].copy()
    work[territory] = work[territory].fillna("(unassigned)")
    work["weighted"] = work["tier_score"] * work["potential"]
    work["tier_a"] = (frame["tier"] == "A").to_numpy()
    out = work.groupby(territory).agg(
        accounts=("tier_score", "size"),
        potential=("potential", "sum"),
        workload_hours=("workload_hours", "sum"),
        tier_a_accounts=("tier_a", "sum"),
        weighted=("weighted", "sum"),
        mean_score=("tier_score", "mean"),
    )
    out["tier_score"] = np.where(
        out["potential"] > 0,
        out["weighted"] / out["potential"].where(out["potential"] > 0),
        out["mean_score"],
    )
    out["tier"] = assign_tier(out["tier_score"].to_numpy(), config)
    out = out.drop(columns=["weighted", "mean_score"]).sort_values("tier_score", ascending=False)
    return out.reset_index().rename(columns={territory: "territory"})
