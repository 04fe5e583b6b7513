"""Human-readable reasons, built column-wise for many accounts at once.

A score's contributions arrive as an ``(n, k)`` matrix of signed amounts (fit points,
propensity change, dollars) with, per column, the texts naming each account's value
("Healthcare", "800 employees"), given as a matrix or as functions of row indices.
:func:`top_reasons` picks the ``top`` largest contributions per row and joins them:
``"Healthcare: +30 fit; 800 employees: +25 fit"``. No Python loop over accounts: argsort,
take_along_axis and elementwise string concatenation over object arrays, and only the
chosen ``n x top`` texts are built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

ObjectArray = npt.NDArray[np.object_]
FloatArray = npt.NDArray[np.float64]
#: Describes one reason column for some accounts: row indices -> texts.
Describe = Callable[[npt.NDArray[np.intp]], ObjectArray]


def _as_str(values: npt.ArrayLike) -> ObjectArray:
    """Numbers as text, converting each *distinct* value once (reasons repeat a few values
    over many accounts: "0 meetings", "+30 fit"), then spreading by index."""
    array = np.asarray(values)
    if array.size == 0:
        return np.empty(array.shape, dtype=object)
    if array.dtype.kind in "iuf":
        distinct, inverse = np.unique(array.ravel(), return_inverse=True)
        text = distinct.astype(str).astype(object)
        return text[inverse].reshape(array.shape)
    return array.astype(str).astype(object)


def format_int(values: npt.ArrayLike) -> ObjectArray:
    """Whole numbers as text, ``"unknown"`` where missing: ``800``, ``12500``."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    out = np.full(v.shape, "unknown", dtype=object)
    out[ok] = _as_str(np.round(v[ok]).astype(np.int64))
    return out


def format_decimal(values: npt.ArrayLike, decimals: int = 2) -> ObjectArray:
    """Numbers rounded to ``decimals`` as text (``0.31``), ``"unknown"`` where missing."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    out = np.full(v.shape, "unknown", dtype=object)
    out[ok] = _as_str(np.round(v[ok], decimals))
    return out


def format_money(values: npt.ArrayLike) -> ObjectArray:
    """Dollars, short: ``$950``, ``$12.5k``, ``$3.2M``, ``$1.1B``; ``"unknown"`` where missing."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    out = np.full(v.shape, "unknown", dtype=object)
    if not ok.any():
        return out
    a = np.abs(v[ok])
    scale = np.select([a >= 1e9, a >= 1e6, a >= 1e3], [1e9, 1e6, 1e3], 1.0)
    suffix = np.select([a >= 1e9, a >= 1e6, a >= 1e3], ["B", "M", "k"], "").astype(object)
    rounded = np.round(v[ok] / scale, 1)
    whole = rounded == np.round(rounded)
    number = np.where(whole, _as_str(rounded.astype(np.int64)), _as_str(rounded))
    out[ok] = "$" + number.astype(object) + suffix
    return out


def format_text(values: npt.ArrayLike) -> ObjectArray:
    """Values as text, ``"unknown"`` where missing or empty."""
    array = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(array.ravel(), use_na_sentinel=True)
    text = np.array(
        [str(u) if str(u) != "" else "unknown" for u in uniques] + ["unknown"], dtype=object
    )
    return text[np.where(codes >= 0, codes, len(uniques))].reshape(array.shape)


def format_value(values: npt.ArrayLike, fmt: str) -> ObjectArray:
    """Dispatch on ``fmt``: ``"text"``, ``"int"`` or ``"money"``."""
    if fmt == "int":
        return format_int(values)
    if fmt == "money":
        return format_money(values)
    return format_text(values)


def fill_label(template: str, values: ObjectArray) -> ObjectArray:
    """``"{value} employees"`` with each account's formatted value put in."""
    before, _, after = template.partition("{value}")
    return before + values + after


def signed(values: npt.ArrayLike, *, decimals: int = 0, money: bool = False) -> ObjectArray:
    """``+22``, ``-0.05``, ``+$12k``: signed numbers as text."""
    v = np.asarray(values, dtype=float)
    sign = np.where(v < 0, "-", "+").astype(object)
    if money:
        return sign + format_money(np.abs(v))
    if decimals == 0:
        body = _as_str(np.round(np.abs(v)).astype(np.int64))
    else:
        body = _as_str(np.round(np.abs(v), decimals))
    return sign + body


def top_reason_parts(
    amounts: npt.ArrayLike,
    labels: ObjectArray | Sequence[Describe],
    *,
    top: int = 3,
    min_abs: float = 0.0,
    amount_text: Callable[[FloatArray], ObjectArray] | None = None,
) -> list[ObjectArray]:
    """The ``top`` reasons per row, strongest first, as ``top`` arrays of ``(n,)`` texts
    (``""`` where a row has fewer reasons above ``min_abs``). See :func:`top_reasons`."""
    a = np.asarray(amounts, dtype=float)
    n, k = a.shape
    if n == 0 or k == 0:
        return []
    magnitude = np.where(np.isfinite(a), np.abs(a), -1.0)
    take = min(top, k)
    order = np.argsort(-magnitude, axis=1, kind="stable")[:, :take]
    chosen = np.take_along_axis(a, order, axis=1)
    keep = np.take_along_axis(magnitude, order, axis=1) > min_abs
    parts = []
    for j in range(take):
        column, rows_kept = order[:, j], keep[:, j]
        texts = np.full(n, "", dtype=object)
        if callable(labels[0]):
            for group in np.unique(column[rows_kept]):
                rows = np.flatnonzero(rows_kept & (column == group))
                texts[rows] = labels[int(group)](rows)
        else:
            rows = np.flatnonzero(rows_kept)
            texts[rows] = np.asarray(labels, dtype=object)[rows, column[rows]]
        if amount_text is not None and rows_kept.any():
            texts[rows_kept] = texts[rows_kept] + ": " + amount_text(chosen[rows_kept, j])
        parts.append(texts)
    return parts


def join_reasons(parts: Sequence[ObjectArray], *, separator: str = "; ") -> ObjectArray:
    """Join reason columns row by row, skipping empty texts."""
    if not parts:
        return np.empty(0, dtype=object)
    out = parts[0].copy()
    for texts in parts[1:]:
        joiner = np.where((out != "") & (texts != ""), separator, "").astype(object)
        out = out + joiner + texts
    return out


def top_reasons(
    amounts: npt.ArrayLike,
    labels: ObjectArray | Sequence[Describe],
    *,
    top: int = 3,
    min_abs: float = 0.0,
    amount_text: Callable[[FloatArray], ObjectArray] | None = None,
    separator: str = "; ",
) -> ObjectArray:
    """Join each row's ``top`` largest-magnitude reasons, skipping amounts ``<= min_abs``.

    ``amounts`` is ``(n, k)``. ``labels`` is either an ``(n, k)`` text matrix or ``k``
    functions ``rows -> texts`` that describe a column for the given row indices (so only
    the chosen ``n x top`` texts are ever built). With ``amount_text`` each reason reads
    ``"<label>: <amount_text(amount)>"``. Returns ``(n,)`` strings (possibly empty).
    """
    n = np.shape(amounts)[0]
    parts = top_reason_parts(amounts, labels, top=top, min_abs=min_abs, amount_text=amount_text)
    if not parts:
        return np.full(n, "", dtype=object)
    return join_reasons(parts, separator=separator)
