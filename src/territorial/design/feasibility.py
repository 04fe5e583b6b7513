"""Pre-checks that explain, with numbers, why a design request cannot be met.

:func:`check_feasibility` raises :class:`~territorial.errors.InfeasibleError` on a
request no plan can satisfy (provably), and warns (``warnings.warn``,
``stacklevel=2``) on suspect data that a solver will probably struggle with.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from territorial.design import metrics
from territorial.design.problem import DesignProblem
from territorial.errors import InfeasibleError


class DesignWarning(UserWarning):
    """Suspect design input (the run goes on)."""


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.4g}"


def _segment_groups(problem: DesignProblem) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, unit mask, territory indices)`` per segment (one group without segments)."""
    if problem.segments is None or problem.territory_segments is None:
        return [("", np.ones(problem.n_units, dtype=bool), np.arange(problem.n_territories))]
    out = []
    for s in np.unique(problem.territory_segments):
        umask = problem.segments == s
        out.append(
            (problem.segment_label(int(s)), umask, np.flatnonzero(problem.territory_segments == s))
        )
    return out


def check_feasibility(problem: DesignProblem) -> None:
    """Raise ``InfeasibleError`` when the request provably has no plan; warn on suspect data.

    Checks, per segment: enough units for the territories; no single unit above a
    territory's upper balance bound; integer measures (counts) leave an attainable
    total between the bounds; locked units do not overload a territory; with a
    current plan and ``max_moves=0`` the current plan itself must be balanced; with
    contiguity, no more connected components than territories.
    """
    ids = problem.unit_ids
    tids = problem.territory_ids
    for label, umask, terrs in _segment_groups(problem):
        where = f" in segment {label!r}" if label else ""
        k = len(terrs)
        n = int(umask.sum())
        if k > n:
            raise InfeasibleError(
                f"{k} territories{where} but only {n} units: every territory needs a unit"
            )
        for b, m in zip(problem.balance, problem.balance_index, strict=True):
            col = problem.measures[umask, m]
            total = float(col.sum())
            mean = total / k
            if mean <= 0:
                continue
            lo, up = mean * (1 - b.tolerance), mean * (1 + b.tolerance)
            top = int(np.argmax(col))
            unit_ids = ids[umask]
            if col[top] > up * (1 + 1e-12):
                raise InfeasibleError(
                    f"{b.measure}{where}: unit {str(unit_ids[top])!r} alone is "
                    f"{col[top] / mean:.1%} of the mean territory total ({_fmt(mean)}), "
                    f"above the +{b.tolerance:.1%} limit; raise the tolerance above "
                    f"{col[top] / mean - 1:.1%} or use more, smaller territories"
                )
            counts = bool(np.all((col == 0) | (col == 1)))
            if col[top] > 2 * b.tolerance * mean and not counts:
                warnings.warn(
                    f"tolerance ±{b.tolerance:.1%} on {b.measure}{where} is tighter than the "
                    f"largest unit: {str(unit_ids[top])!r} alone is {col[top] / mean:.1%} "
                    "of the mean; "
                    "balance may be hard to reach",
                    DesignWarning,
                    stacklevel=2,
                )
            if np.allclose(col, np.round(col)) and col.size:
                # integer totals: some integer must lie in [lo, up], and k of them must add up
                lo_i, up_i = int(np.ceil(lo - 1e-9)), int(np.floor(up + 1e-9))
                if lo_i > up_i or k * up_i < round(total) or k * lo_i > round(total):
                    raise InfeasibleError(
                        f"{b.measure}{where}: totals are whole numbers; the mean is "
                        f"{mean:.2f} per territory and ±{b.tolerance:.1%} allows only "
                        f"[{lo:.2f}, {up:.2f}], which holds no feasible whole number for "
                        f"{k} territories summing to {round(total)}; loosen the tolerance "
                        f"to at least ±{1 / (2 * mean) if mean else 0:.1%} or change the "
                        "territory count"
                    )
            # locked units (and units allowed in a single territory) pin load
            pinned = np.full(problem.n_units, -1, dtype=np.int64)
            if problem.locked is not None:
                pinned = problem.locked.copy()
            if problem.allowed is not None:
                single = problem.allowed.sum(axis=1) == 1
                pinned[single & (pinned < 0)] = np.argmax(
                    problem.allowed[single & (pinned < 0)], axis=1
                )
            sel = umask & (pinned >= 0)
            if sel.any():
                loads = np.bincount(
                    pinned[sel], weights=problem.measures[sel, m], minlength=problem.n_territories
                )
                over = np.flatnonzero(loads > up * (1 + 1e-12))
                if over.size:
                    j = int(over[0])
                    raise InfeasibleError(
                        f"{b.measure}: the units locked to territory {tids[j]!r} already total "
                        f"{_fmt(loads[j])}, {loads[j] / mean:.1%} of the mean ({_fmt(mean)}), "
                        f"above the +{b.tolerance:.1%} limit ({_fmt(up)}); unlock some of them "
                        "or loosen the tolerance"
                    )
    if problem.current is not None and problem.locked is not None and problem.max_moves is not None:
        cur, lk = problem.current, problem.locked
        forced = int(((lk >= 0) & (cur >= 0) & (cur != lk)).sum())
        if forced > problem.max_moves:
            raise InfeasibleError(
                f"{forced} locked units are locked to a territory other than their current "
                f"one, so at least {forced} units move, more than max_moves={problem.max_moves}"
            )
    if problem.current is not None and problem.max_moves == 0:
        cur = problem.current
        if (cur >= 0).all():
            why = metrics.WITHIN_BALANCE.explain(problem, cur)
            if why is not None:
                raise InfeasibleError(
                    f"max_moves is 0 but the current plan is not balanced ({why}); allow some moves"
                )
    if problem.contiguity and problem.edges is not None:
        n = problem.n_units
        e = problem.edges
        g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        ncomp, labels = connected_components(g, directed=False)
        if ncomp > problem.n_territories:
            sizes = np.bincount(labels)
            raise InfeasibleError(
                f"the adjacency graph has {ncomp} separate pieces (islands) but only "
                f"{problem.n_territories} territories: each territory must be connected, so "
                f"at least {ncomp} territories are needed (largest piece {sizes.max()} units, "
                f"{int((sizes == 1).sum())} isolated units); add edges or territories"
            )
        if ncomp > 1:
            warnings.warn(
                f"the adjacency graph has {ncomp} separate pieces; territories cannot span them",
                DesignWarning,
                stacklevel=2,
            )
    w = problem.weights
    if problem.weight is not None and (w == 0).mean() > 0.5:
        warnings.warn(
            f"{int((w == 0).sum())} of {problem.n_units} units have zero {problem.weight!r}: "
            "they do not count for compactness",
            DesignWarning,
            stacklevel=2,
        )
    for b, m in zip(problem.balance, problem.balance_index, strict=True):
        if problem.measures[:, m].sum() == 0:
            warnings.warn(
                f"{b.measure!r} is zero for every unit; balancing it has no effect",
                DesignWarning,
                stacklevel=2,
            )


__all__ = ["DesignWarning", "check_feasibility"]
