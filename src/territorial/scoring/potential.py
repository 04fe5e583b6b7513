"""Revenue potential per account (dollars per year) and market roll-ups (TAM, SAM).

Two methods, chosen by ``potential.method`` in the configuration:

* ``seats``: ``employees x seat share (by industry) x price per seat (by segment)``,
  seats capped at ``max_seats``. The tables live in the configuration file.
* ``learned``: a ridge regression of ``log(won amount)`` on firmographics (industry,
  segment, log employees, log revenue) over won opportunities; the potential is the
  expected amount ``exp(prediction + residual variance / 2)``. Opportunity amounts are
  read as annual contract value, so the result is dollars per year.

``auto`` uses ``learned`` when at least ``min_won_deals`` won deals exist, else ``seats``.
Every account carries its method and its inputs as text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

from territorial.errors import ConfigError
from territorial.scoring.config import PotentialConfig
from territorial.scoring.explain import ObjectArray, format_int, format_money, format_text

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

_LEARNED_CATEGORICAL = ("industry", "segment")
_LEARNED_NUMERIC = ("employees", "annual_revenue")


@dataclass(frozen=True, slots=True, eq=False)
class PotentialResult:
    """``potential`` ``(n,)`` dollars per year, ``method`` and ``inputs`` ``(n,)`` texts, and
    a summary of the learned model when one was used (``won_deals``, ``cv_r2_log``)."""

    potential: FloatArray
    method: ObjectArray
    inputs: ObjectArray
    model_info: dict[str, object] = field(default_factory=dict)


def _lookup(values: pd.Series, table: dict[str, float], default: float) -> FloatArray:
    lowered = {k.strip().lower(): v for k, v in table.items()}
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    keys = pd.Index(uniques).astype(str).str.strip().str.lower()
    unique_value = np.array([lowered.get(k, default) for k in keys] + [default], dtype=float)
    return unique_value[np.where(codes >= 0, codes, len(uniques))]


def seat_potential(accounts: pd.DataFrame, config: PotentialConfig) -> PotentialResult:
    """Seats x price per seat for every account; unknown employees use the segment median."""
    employees = accounts["employees"].to_numpy(dtype=float)
    known = np.isfinite(employees) & (employees >= 0)
    segment_median = accounts.groupby("segment", dropna=False)["employees"].transform("median")
    overall = float(np.nanmedian(employees)) if known.any() else 0.0
    fill = segment_median.fillna(overall).to_numpy(dtype=float)
    used = np.where(known, employees, fill)
    share = _lookup(accounts["industry"], config.seat_share_by_industry, config.default_seat_share)
    price = _lookup(
        accounts["segment"], config.price_per_seat_by_segment, config.default_price_per_seat
    )
    seats = np.minimum(used * share, config.max_seats)
    potential = seats * price
    employees_text = np.where(
        known,
        format_int(used) + " employees",
        "employees unknown (median " + format_int(used) + ")",
    ).astype(object)
    share_pct = format_int(share * 100.0)
    inputs = (
        employees_text
        + " x "
        + share_pct
        + "% seats ("
        + format_text(accounts["industry"].to_numpy())
        + ") x "
        + format_money(price)
        + "/seat/yr ("
        + format_text(accounts["segment"].to_numpy())
        + ")"
    )
    capped = used * share > config.max_seats
    inputs = np.where(capped, inputs + ", seats capped at " + format_int(config.max_seats), inputs)
    return PotentialResult(
        potential=potential,
        method=np.full(len(accounts), "seats", dtype=object),
        inputs=inputs.astype(object),
    )


def _design(
    accounts: pd.DataFrame, levels: Mapping[str, Sequence[str]], medians: Mapping[str, float]
) -> FloatArray:
    blocks = []
    for column, lv in levels.items():
        codes = pd.Index(list(lv), dtype=object).get_indexer(
            accounts[column].to_numpy(dtype=object)
        )
        onehot = np.zeros((len(accounts), len(lv)))
        onehot[np.flatnonzero(codes >= 0), codes[codes >= 0]] = 1.0
        blocks.append(onehot)
    for column, median in medians.items():
        raw = accounts[column].to_numpy(dtype=float)
        blocks.append(np.log1p(np.clip(np.where(np.isnan(raw), median, raw), 0, None))[:, None])
    return np.concatenate(blocks, axis=1)


def learned_potential(
    accounts: pd.DataFrame, opportunities: pd.DataFrame, *, random_state: int = 0
) -> PotentialResult:
    """Expected won amount (dollars) per account from a regression over won deals."""
    won = opportunities[opportunities["is_won"] & (opportunities["amount"] > 0)]
    rows = won[["account_id", "amount"]].merge(
        accounts, left_on="account_id", right_on="id", how="inner"
    )
    levels = {c: tuple(rows[c].dropna().value_counts().index[:30]) for c in _LEARNED_CATEGORICAL}
    levels = {c: lv for c, lv in levels.items() if lv}
    medians = {
        c: float(rows[c].median()) if rows[c].notna().any() else 0.0 for c in _LEARNED_NUMERIC
    }
    x = _design(rows, levels, medians)
    y = np.log(rows["amount"].to_numpy(dtype=float))
    regression = Ridge(alpha=1.0)
    folds = min(5, len(rows))
    cv_r2 = float(np.mean(cross_val_score(regression, x, y, cv=folds, scoring="r2")))
    regression.fit(x, y)
    residual_var = float(np.var(y - regression.predict(x)))
    potential = np.exp(regression.predict(_design(accounts, levels, medians)) + residual_var / 2.0)
    inputs = (
        f"expected won amount, regression on {len(rows)} won deals (CV R² {cv_r2:.2f}, log scale) "
        "given "
        + format_text(accounts["industry"].to_numpy())
        + ", "
        + format_text(accounts["segment"].to_numpy())
        + ", "
        + format_int(accounts["employees"].to_numpy())
        + " employees, "
        + format_money(accounts["annual_revenue"].to_numpy())
        + " revenue"
    )
    return PotentialResult(
        potential=potential,
        method=np.full(len(accounts), "learned", dtype=object),
        inputs=inputs.astype(object),
        model_info={"won_deals": len(rows), "cv_r2_log": cv_r2, "residual_var_log": residual_var},
    )


def revenue_potential(
    accounts: pd.DataFrame, opportunities: pd.DataFrame, config: PotentialConfig
) -> PotentialResult:
    """Potential per account with the configured method (``auto`` picks by won-deal count)."""
    won = (
        int((opportunities["is_won"] & (opportunities["amount"] > 0)).sum())
        if len(opportunities)
        else 0
    )
    method = config.method
    if method == "auto":
        method = "learned" if won >= config.min_won_deals else "seats"
        log.info("potential: %d won deals -> method %s", won, method)
    if method == "learned":
        if won < 2:
            raise ConfigError(
                f"potential.method is 'learned' but only {won} won deals with an amount exist; "
                "use method seats or auto"
            )
        return learned_potential(accounts, opportunities)
    return seat_potential(accounts, config)


def market_rollup(
    frame: pd.DataFrame, *, by: Sequence[str], serviceable: npt.ArrayLike | str = "serviceable"
) -> pd.DataFrame:
    """Total and serviceable addressable market (dollars per year) grouped ``by`` columns.

    ``frame`` has ``potential`` and the ``by`` columns; ``serviceable`` is a boolean column
    name or mask. Columns: ``accounts``, ``tam`` (sum of potential), ``sam`` (potential of
    serviceable accounts), ``sam_share`` and ``tam_share`` (of the grand total).
    """
    mask = (
        frame[serviceable].to_numpy(bool)
        if isinstance(serviceable, str)
        else np.asarray(serviceable, bool)
    )
    work = pd.DataFrame({c: frame[c].fillna("unknown") for c in by})
    work["potential"] = frame["potential"].to_numpy(dtype=float)
    work["serviceable_potential"] = np.where(mask, work["potential"], 0.0)
    out = work.groupby(list(by), dropna=False).agg(
        accounts=("potential", "size"),
        tam=("potential", "sum"),
        sam=("serviceable_potential", "sum"),
    )
    total = float(work["potential"].sum()) or 1.0
    out["sam_share"] = out["sam"] / out["tam"].where(out["tam"] > 0)
    out["tam_share"] = out["tam"] / total
    return out.sort_values("tam", ascending=False).reset_index()
