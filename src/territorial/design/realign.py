"""Realignment repair: restore balance from a current plan with as few moves as possible.

Used by the balanced heuristic (:mod:`territorial.design.balanced`) when a current plan is
given with ``max_moves`` / ``move_penalty``. Greedy single moves cannot fix a region whose
territories are *all* over their band (every neighbour is full too); load must travel
along chains of territories to the ones with room. So:

1. **Excess and deficit.** Each territory's load per balanced measure against its window,
   aiming 10% of the tolerance inside it (so unit granularity rarely tips it out).
2. **Flows.** A small LP (HiGHS via ``scipy.optimize.linprog``) over the territory graph:
   an arc ``j -> j2`` when units of ``j`` have ``j2`` among their candidate territories.
   Each arc has three "bundles" (its units in thirds of increasing price per unit of
   load; with several measures also split rich / poor in the first measure, so the LP can
   change a territory's measure mix); a bundle carries its units' average composition,
   its capacity is their total, and a unit of flow costs the bundle's average price:
   moves per unit of load (``moves_first``: a budget and no move price) or objective
   increase plus ``move_price`` per move. Load left outside the windows, and the largest
   such excess, are priced far above any flow; under a budget the estimated moves are
   capped by what is left, so a short budget goes to the worst territories first.
3. **Realise** every bundle's flow with the donor's units in it, cheapest per unit of
   load first, never above ``max_moves`` and never moving locked units or into disallowed
   territories (the candidate rows already exclude those). Repeat from the new loads.

The greedy repair and the balance-keeping local search of the heuristic then finish
(compactness with the remaining budget).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, eye, hstack, vstack

from territorial.design.solvers import current_clock

log = logging.getLogger(__name__)

#: Aim this fraction of the tolerance inside the window.
MARGIN = 0.1
#: Flow prices are scaled to a median of 1 and clipped here (conditioning of the LP).
PRICE_CLIP = 1e3
#: LP price of one unit of load left outside the window, in units of the dearest flow.
SLACK_PRICE = 10.0


def _violation(loads: np.ndarray, lo: np.ndarray, up: np.ndarray) -> float:
    return float((np.maximum(loads - up, 0.0) + np.maximum(lo - loads, 0.0)).sum())


def flow_repair(
    cand: np.ndarray,
    cost: np.ndarray,
    a: np.ndarray,
    col: np.ndarray,
    loads: np.ndarray,
    lo: np.ndarray,
    up: np.ndarray,
    movable: np.ndarray,
    current: np.ndarray,
    max_moves: int,
    moves: int,
    move_price: float,
    *,
    moves_first: bool = False,
    rounds: int = 6,
) -> int:
    """Move units along LP flows until every territory is within its window.

    ``col``/``loads`` are updated in place (as the heuristic's kernels do);
    ``max_moves < 0`` means no budget. ``moves_first``: minimise moves, the objective only
    breaking ties (else objective increase + ``move_price`` per move). Returns the moves used.
    """
    n, width = cand.shape
    k, mb = loads.shape
    if mb == 0 or n == 0 or k < 2:
        return moves
    rows = np.arange(n)
    tol = np.maximum(up - 1.0, 0.0)
    margin = MARGIN * tol
    s = a.sum(axis=1) / mb  # flow unit: the unit's average normalised measure
    rich = np.zeros(n, dtype=np.int64)
    if mb > 1:  # units rich / poor in the first measure: the LP can change the mix
        share = np.where(s > 0, a[:, 0] / np.maximum(s * mb, 1e-300), 0.0)
        pos = s > 0
        rich = (share > (np.median(share[pos]) if pos.any() else 0.0)).astype(np.int64)
    for rnd in range(rounds):
        viol = _violation(loads, lo, up)
        if viol <= 1e-9 or (max_moves >= 0 and moves >= max_moves):
            break
        terr = cand[rows, col]
        # boundary records (unit, column) for arcs terr[i] -> cand[i, c]
        rec_i, rec_c = [], []
        for c in range(width):
            j2 = cand[:, c]
            ok = movable & (j2 >= 0) & (j2 != terr) & (s > 0)
            rec_i.append(np.flatnonzero(ok))
            rec_c.append(np.full(int(ok.sum()), c, dtype=np.int64))
        ri = np.concatenate(rec_i)
        rc = np.concatenate(rec_c)
        if ri.size == 0:
            break
        src = terr[ri]
        dst = cand[ri, rc]
        keep = src != dst  # (a territory can sit in two columns of a row)
        ri, rc, src, dst = ri[keep], rc[keep], src[keep], dst[keep]
        on = current[ri] >= 0
        dm = (on & (dst != current[ri])).astype(np.int64) - (on & (src != current[ri]))
        dcost = cost[ri, rc] - cost[ri, col[ri]]
        if moves_first:
            # moves first (a budget and no move price): one move = 1, and the objective
            # increase only breaks ties (a typical increase costs 5% of a move)
            scale = max(float(np.median(np.abs(dcost))), 1e-300)
            delta = dm + 0.05 * dcost / scale
            unit_price = 1.0
        else:  # objective increase of the move, a moved unit priced at ``move_price``
            delta = dcost + move_price * dm
            unit_price = max(move_price, 1e-12)
        score = delta / s[ri]
        # bundles: per arc (and mix class), the units in thirds of increasing score, so
        # the LP sees that the first loads over an arc are cheaper than the last
        arc = (src * k + dst) * 2 + rich[ri]
        order = np.lexsort((score, arc))
        arc_o = arc[order]
        first = np.searchsorted(arc_o, arc_o, side="left")
        size = np.searchsorted(arc_o, arc_o, side="right") - first
        third = np.empty(len(ri), dtype=np.int64)
        third[order] = (3 * (np.arange(len(ri)) - first)) // size
        key = arc * 3 + third
        groups, ginv = np.unique(key, return_inverse=True)
        g_src = groups // 6 // k
        g_dst = (groups // 6) % k
        ng = len(groups)
        cap = np.bincount(ginv, weights=s[ri], minlength=ng)
        per_load = np.bincount(ginv, minlength=ng) / np.maximum(cap, 1e-300)  # moves / load
        comp = np.empty((ng, mb))
        for m in range(mb):
            comp[:, m] = np.bincount(ginv, weights=a[ri, m], minlength=ng) / np.maximum(cap, 1e-300)
        price = np.bincount(ginv, weights=delta, minlength=ng) / np.maximum(cap, 1e-300)
        # never free: a flow always costs at least a tenth of its moves; scaled to a
        # median of 1 and clipped so the LP stays well conditioned
        price = np.maximum(price, 0.1 * unit_price * per_load)
        price = np.minimum(price / max(float(np.median(price)), 1e-300), PRICE_CLIP)
        big = SLACK_PRICE * PRICE_CLIP
        # variables: flows (ng); per (territory, measure) slack over / under the window,
        # split in a bounded part inside the margin (cheap) and the part beyond (dear);
        # and z, the largest excess beyond the window (so a short budget still cuts the worst)
        nb = k * mb
        a_rows, a_cols, a_vals = [], [], []
        for m in range(mb):
            a_rows += [g_src * mb + m, g_dst * mb + m]
            a_cols += [np.arange(ng), np.arange(ng)]
            a_vals += [comp[:, m], -comp[:, m]]
        net = coo_matrix(  # net outflow of (j, m)
            (np.concatenate(a_vals), (np.concatenate(a_rows), np.concatenate(a_cols))),
            shape=(nb, ng),
        ).tocsr()
        ident = eye(nb, format="csr")
        zero = coo_matrix((nb, nb)).tocsr()
        zcol0 = coo_matrix((nb, 1)).tocsr()
        ones = coo_matrix(np.ones((nb, 1))).tocsr()
        flat = loads.reshape(-1)
        up_t = np.tile(up - margin, k)
        lo_t = np.tile(lo + margin, k)
        # load - net <= up' + over1 + over2 ; load - net >= lo' - under1 - under2 ; z >= over2..
        blocks = [
            [-net, -ident, -ident, zero, zero, zcol0],
            [net, zero, zero, -ident, -ident, zcol0],
            [coo_matrix((nb, ng)), zero, ident, zero, zero, -ones],
            [coo_matrix((nb, ng)), zero, zero, zero, ident, -ones],
        ]
        b_ub = [up_t - flat, flat - lo_t, np.zeros(nb), np.zeros(nb)]
        if max_moves >= 0:
            left = 0.95 * (max_moves - moves)
            blocks.append(
                [coo_matrix(per_load[None, :])] + [coo_matrix((1, nb))] * 4 + [coo_matrix((1, 1))]
            )
            b_ub.append(np.array([left]))
        a_ub = vstack([hstack(b) for b in blocks]).tocsr()
        cheap = 2.0  # (the median price)
        c_vec = np.concatenate(
            [price, np.full(nb, cheap), np.full(nb, big), np.full(nb, cheap), np.full(nb, big),
             [big * k]]
        )  # fmt: skip
        m_t = np.tile(margin, k)
        upper = np.concatenate([cap, m_t, np.full(nb, np.inf), m_t, np.full(nb, np.inf), [np.inf]])
        bounds = np.column_stack([np.zeros(len(upper)), upper])
        res = linprog(c_vec, A_ub=a_ub, b_ub=np.concatenate(b_ub), bounds=bounds, method="highs")
        current_clock().charge_scipy(res, a_ub.shape[0] + a_ub.shape[1])
        if res.status != 0 or res.x is None:
            log.debug("realign flow LP failed: %s", res.message)
            break
        log.debug(
            "realign LP: %d arcs-bundles, est. moves %.0f, excess left %.4g, worst %.4g",
            ng, float(per_load @ res.x[:ng]), float(res.x[ng + nb : ng + 2 * nb].sum()
            + res.x[ng + 3 * nb : ng + 4 * nb].sum()), float(res.x[-1]),
        )  # fmt: skip
        flow = res.x[:ng]
        # realise each bundle's flow: the donor's units in it, cheapest per unit of load
        order = np.lexsort((score, ginv))
        applied = 0
        taken = np.zeros(n, dtype=bool)
        bounds_g = np.searchsorted(ginv[order], np.arange(ng + 1))
        for g in np.argsort(-flow):
            f = float(flow[g])
            if f <= 1e-9:
                break
            t_from, t_to = int(g_src[g]), int(g_dst[g])
            done = 0.0
            for t in range(bounds_g[g], bounds_g[g + 1]):
                r = order[t]
                i = int(ri[r])
                if taken[i] or cand[i, col[i]] != t_from:
                    continue
                si = float(s[i])
                if done + 0.5 * si > f:
                    continue
                d_move = int(current[i] >= 0 and t_to != current[i]) - int(
                    current[i] >= 0 and t_from != current[i]
                )
                if max_moves >= 0 and moves + d_move > max_moves:
                    continue
                loads[t_from] -= a[i]
                loads[t_to] += a[i]
                col[i] = rc[r]
                moves += d_move
                taken[i] = True
                done += si
                applied += 1
                if done >= f - 1e-12:
                    break
        after = _violation(loads, lo, up)
        log.debug(
            "realign flow round %d: violation %.4g -> %.4g, %d units moved (moves %d)",
            rnd, viol, after, applied, moves,
        )  # fmt: skip
        if applied == 0 or after > viol * 0.999:
            break
    log.debug(
        "realign flows done: violation %.4g, worst excess %.4g, moves %d",
        _violation(loads, lo, up), float(np.maximum(np.maximum(loads - up, lo - loads), 0).max()),
        moves,
    )  # fmt: skip
    return moves


__all__ = ["flow_repair"]
