"""Fit score: how closely an account matches the ideal customer profile, 0-100.

Each configured factor looks at one column and grants a share (0..1) of its weight;
weights are rescaled so they sum to 100 points:

    fit = sum_f  share_f(account) x weight_f x 100 / sum_g weight_g

The points per factor are the explanation: ``"Healthcare: +30 fit"``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from territorial.scoring.config import FitFactor
from territorial.scoring.explain import (
    fill_label,
    format_value,
    join_reasons,
    signed,
    top_reason_parts,
)

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]


def fit_points_text(points: FloatArray) -> npt.NDArray[np.object_]:
    """``+22 fit``."""
    return signed(points) + " fit"


@dataclass(frozen=True, slots=True, eq=False)
class FitResult:
    """Fit scores of ``n`` accounts over ``k`` factors.

    ``score`` is ``(n,)`` in 0-100; ``points`` is ``(n, k)`` fit points per factor (they
    sum to ``score``); ``labels`` is ``(n, k)`` the account's value as the reason names it;
    ``reasons`` is ``(n,)`` the top three factors as text, ``top_reason`` the first.
    """

    score: FloatArray
    points: FloatArray
    labels: npt.NDArray[np.object_]
    factor_names: tuple[str, ...]
    reasons: npt.NDArray[np.object_]
    top_reason: npt.NDArray[np.object_]


def factor_share(values: pd.Series, factor: FitFactor) -> FloatArray:
    """Share (0..1) of ``factor``'s weight that each value earns."""
    missing = values.isna().to_numpy()
    if factor.values is not None:
        table = dict(factor.values)
        # Map the few distinct values, then spread: hashing beats string ops per row.
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        keys = pd.Index(uniques).astype(str).str.strip().str.lower()
        unique_share = np.array([table.get(k, factor.default) for k in keys], dtype=float)
        share = np.where(
            codes >= 0,
            unique_share[np.clip(codes, 0, None)] if len(uniques) else 0.0,
            factor.default,
        )
    else:
        assert factor.bands is not None
        lows = np.array([b[0] for b in factor.bands])
        shares = np.array([b[1] for b in factor.bands])
        number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        missing = missing | np.isnan(number)
        idx = np.searchsorted(lows, np.nan_to_num(number, nan=-np.inf), side="right") - 1
        share = np.where(idx >= 0, shares[np.clip(idx, 0, None)], factor.default)
    return np.where(missing, factor.missing, share).astype(float)


def fit_scores(accounts: pd.DataFrame, factors: Sequence[FitFactor], *, top: int = 3) -> FitResult:
    """Fit score per account (rows of ``accounts``, canonical columns) with its reasons."""
    n = len(accounts)
    total = sum(f.weight for f in factors)
    points = np.zeros((n, len(factors)))
    labels = np.empty((n, len(factors)), dtype=object)
    for j, factor in enumerate(factors):
        if factor.column in accounts.columns:
            values = accounts[factor.column]
        else:
            log.info(
                "fit factor %r: column %r absent; every account counts as missing",
                factor.name,
                factor.column,
            )
            values = pd.Series([None] * n, dtype=object)
        points[:, j] = factor_share(values, factor) * factor.weight * 100.0 / total
        labels[:, j] = fill_label(factor.label, format_value(values.to_numpy(), factor.format))
    score = np.clip(points.sum(axis=1), 0.0, 100.0)
    parts = top_reason_parts(points, labels, top=top, min_abs=0.5, amount_text=fit_points_text)
    return FitResult(
        score=score,
        points=points,
        labels=labels,
        factor_names=tuple(f.name for f in factors),
        reasons=join_reasons(parts) if parts else np.full(n, "", dtype=object),
        top_reason=parts[0] if parts else np.full(n, "", dtype=object),
    )
