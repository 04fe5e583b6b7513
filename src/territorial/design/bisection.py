"""Recursive spanning-tree bisection and ReCom recuts: balanced, contiguous first plans.

On an adjacency graph of areas (counties and their parts), a cut edge of a spanning
tree splits a connected region into two connected regions. That is the move of the
ReCom districting chain (DeFord, Duchin and Solomon, *Recombination: a family of
Markov chains for redistricting*, 2021; GerryChain's ``recursive_tree_part`` and
``bipartition_tree``), used here to build and repair plans:

1. **Bisection** (:func:`bisection_plan`). The whole map (``K`` territories) gets a
   random spanning tree (the minimum spanning tree on random edge weights: Kruskal's
   algorithm on the edges in random order); every tree edge is a
   candidate cut, and the subtree below it holds some load on each balanced
   measure. A cut is taken when one side holds ``k_a`` territories' worth of every
   measure (``k_a`` the nearest whole number) within the band, and the other side
   ``K - k_a``; among the cuts in band the one closest to halving ``K`` wins. Both
   sides are then split the same way until every region is one territory. A side of
   one territory must lie within the tolerance (``band``) of the mean; a side of
   ``k`` territories within ``band / sqrt(k)`` of its share (a band that narrows
   with ``k``, so that every later split has room). When no tree of
   ``trees_per_split`` gives a cut in band, the least-violating cut seen is taken and
   the recuts and border moves repair it later.
2. **Recuts** (:func:`recut_unbalanced`). The territory furthest outside its band and
   one of its neighbours are merged and cut again along a random spanning tree of
   the pair; the recut is kept when it lowers the pair's squared deviation from the
   mean (in bands), which spreads an excess along chains of territories until every
   territory is inside.

Both keep every territory connected in the graph the problem gives (island links
included). Every random choice comes from the ``numpy`` generator passed in; the
clock only decides when to stop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from territorial.design.problem import FloatArray, IntArray

log = logging.getLogger(__name__)

#: ``clock() -> bool``: True once the caller's time is up.
Expired = Callable[[], bool]
#: ``refine(nodes, local_edges, side, windows) -> side``: border moves between the two
#: sides of a cut (``side`` True for side a) that keep both connected and bring their
#: totals into ``windows`` (``(2, m, 2)``: low and high total of side a and side b per
#: measure). The contiguous solver passes its local search
#: (:func:`territorial.design.contiguity.two_way_refiner`).
Refine = Callable[[IntArray, IntArray, np.ndarray, FloatArray], np.ndarray]


@dataclass(frozen=True, slots=True)
class BisectionOptions:
    """Tuning of the spanning-tree bisection and the ReCom recuts."""

    #: Spanning trees drawn for one split before the least-violating cut is taken
    #: (and, with a refiner, moved into the band by border moves).
    trees_per_split: int = 60
    #: A side of ``k`` territories must be within ``band x k ** -inner_exponent`` of its
    #: share: a band that narrows with ``k`` leaves every later split room to cut.
    inner_exponent: float = 0.5
    #: Spanning trees drawn per recut of a pair of territories.
    trees_per_recut: int = 4
    #: Recut attempts (pairs tried) per unit of the map's territories count, at most.
    recut_rounds_per_territory: int = 10


@dataclass(frozen=True, slots=True)
class Target:
    """What a territory should hold: ``mean`` per balanced measure and ``band``, the
    relative half-width of the window (``0.05`` for ±5%); measures with a zero mean are
    ignored."""

    mean: FloatArray
    band: FloatArray

    def scaled(self, totals: FloatArray) -> FloatArray:
        """``(.., m)`` deviation of territory totals from the mean, in bands (|x| <= 1: inside)."""
        mean = np.where(self.mean > 0, self.mean, 1.0)
        band = np.where(self.band > 0, self.band, 1.0)
        dev = (totals / mean - 1.0) / band
        return np.where(self.mean > 0, dev, 0.0)


@dataclass(frozen=True, slots=True)
class BisectionPlan:
    """Outcome of :func:`bisection_plan`: the plan and how it was reached."""

    #: Territory ``0..K-1`` of every unit.
    assignment: IntArray
    #: Splits made (``K - 1``).
    splits: int
    #: Spanning trees drawn.
    trees: int
    #: Splits where no tree gave a cut inside the band (the best cut was taken).
    splits_out_of_band: int
    #: Of those, splits the refiner's border moves brought into the band.
    splits_refined: int = 0


def edge_list(indptr: IntArray, indices: IntArray) -> IntArray:
    """``(e, 2)`` undirected edges (``a < b``) of a CSR adjacency."""
    src = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    keep = src < indices
    return np.column_stack([src[keep], indices[keep]]).astype(np.int64)


def is_connected(n: int, edges: IntArray) -> bool:
    """Whether the graph on ``n`` units with ``edges`` is one piece."""
    if n <= 1:
        return True
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return int(connected_components(graph, directed=False)[0]) == 1


@njit(cache=True)
def _subtree_loads(order, pred, loads):  # pragma: no cover
    """Load below every tree node (itself included), children before parents."""
    out = loads.copy()
    for idx in range(order.shape[0] - 1, 0, -1):
        v = order[idx]
        p = pred[v]
        if p >= 0:
            for c in range(out.shape[1]):
                out[p, c] += out[v, c]
    return out


@njit(cache=True)
def _find(parent, x):  # pragma: no cover
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:  # path compression
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@njit(cache=True)
def _kruskal_tree(m, ea, eb, perm, root):  # pragma: no cover
    """Spanning tree of a graph taking edges in the order ``perm`` (Kruskal on random
    weights: the minimum spanning tree for weights ranked as ``perm``), returned as the
    breadth-first order from ``root`` and each node's parent (``-1`` for the root).
    ``order`` is shorter than ``m`` when the graph is not connected."""
    parent = np.arange(m)
    tree_a = np.empty(max(m - 1, 0), dtype=np.int64)
    tree_b = np.empty(max(m - 1, 0), dtype=np.int64)
    count = 0
    for idx in range(perm.shape[0]):
        e = perm[idx]
        ra = _find(parent, ea[e])
        rb = _find(parent, eb[e])
        if ra != rb:
            parent[ra] = rb
            tree_a[count] = ea[e]
            tree_b[count] = eb[e]
            count += 1
            if count == m - 1:
                break
    # adjacency of the tree (CSR), then breadth-first from the root
    deg = np.zeros(m + 1, dtype=np.int64)
    for i in range(count):
        deg[tree_a[i] + 1] += 1
        deg[tree_b[i] + 1] += 1
    for i in range(m):
        deg[i + 1] += deg[i]
    fill = deg[:-1].copy()
    adj = np.empty(2 * count, dtype=np.int64)
    for i in range(count):
        adj[fill[tree_a[i]]] = tree_b[i]
        fill[tree_a[i]] += 1
        adj[fill[tree_b[i]]] = tree_a[i]
        fill[tree_b[i]] += 1
    pred = np.full(m, -2, dtype=np.int64)
    order = np.empty(m, dtype=np.int64)
    pred[root] = -1
    order[0] = root
    head = 0
    tail = 1
    while head < tail:
        u = order[head]
        head += 1
        for p in range(deg[u], deg[u + 1]):
            v = adj[p]
            if pred[v] == -2:
                pred[v] = u
                order[tail] = v
                tail += 1
    return order[:tail], pred


class _Region:
    """A set of units with its induced edges, for drawing spanning trees."""

    def __init__(self, nodes: IntArray, edges: IntArray, n: int) -> None:
        self.nodes = nodes
        local = np.full(n, -1, dtype=np.int64)
        local[nodes] = np.arange(len(nodes))
        a, b = local[edges[:, 0]], local[edges[:, 1]]
        inside = (a >= 0) & (b >= 0)
        self.a, self.b = a[inside], b[inside]

    def tree(self, rng: np.random.Generator) -> tuple[IntArray, IntArray] | None:
        """BFS order and parents of a random spanning tree (``None``: not connected).

        The minimum spanning tree on random edge weights (Kruskal's algorithm on the
        edges in random order), as :func:`scipy.sparse.csgraph.minimum_spanning_tree`
        would give, without its per-call overhead on small regions.
        """
        m = len(self.nodes)
        perm = rng.permutation(len(self.a)).astype(np.int64)
        root = int(rng.integers(m))
        order, pred = _kruskal_tree(m, self.a, self.b, perm, root)
        if len(order) < m:
            return None
        return order, pred


@njit(cache=True)
def _mark_subtree(order, pred, v):  # pragma: no cover
    """Boolean mask (local indices) of the subtree under node ``v``."""
    below = np.zeros(pred.shape[0], dtype=np.bool_)
    below[v] = True
    # BFS order lists parents before children: one pass marks every descendant
    for idx in range(order.shape[0]):
        u = order[idx]
        p = pred[u]
        if p >= 0 and below[p]:
            below[u] = True
    return below


def _cut_scores(
    sub: FloatArray, total: FloatArray, k: int, target: Target, inner: float
) -> tuple[IntArray, FloatArray]:
    """For every subtree: territories ``k_a`` of its side and the cut's excess (<= 1: in band).

    The excess is the largest deviation of either side from its share of the mean,
    over measures, in bands (a side of ``k_a`` territories has ``band x k_a ** -inner``).
    """
    mean = np.where(target.mean > 0, target.mean, 1.0)
    use = target.mean > 0
    share = sub / mean  # territories' worth per measure
    ka = np.clip(np.rint(share[:, use].mean(axis=1)) if use.any() else 1, 1, k - 1).astype(np.int64)
    kb = k - ka
    band = np.where(target.band > 0, target.band, 1e-9)
    rest = total / mean - share
    band_a = band[None, :] * (ka.astype(np.float64) ** -inner)[:, None]
    band_b = band[None, :] * (kb.astype(np.float64) ** -inner)[:, None]
    dev_a = np.abs(share - ka[:, None]) / ka[:, None] / band_a
    dev_b = np.abs(rest - kb[:, None]) / kb[:, None] / band_b
    excess = np.maximum(dev_a, dev_b)[:, use].max(axis=1) if use.any() else np.zeros(len(ka))
    return ka, excess


def windows(target: Target, ka: int, kb: int, inner: float) -> FloatArray:
    """``(2, m, 2)`` low/high totals of two sides holding ``ka`` and ``kb`` territories."""
    out = np.zeros((2, len(target.mean), 2))
    for row, kk in enumerate((ka, kb)):
        half = target.band * (1.0 if kk <= 1 else kk**-inner)
        out[row, :, 0] = kk * target.mean * (1.0 - half)
        out[row, :, 1] = kk * target.mean * (1.0 + half)
    return out


def _in_windows(local: FloatArray, side: np.ndarray, win: FloatArray, target: Target) -> bool:
    use = target.mean > 0
    ok = True
    for row, part in enumerate((side, ~side)):
        tot = local[part].sum(axis=0)
        ok &= bool(((tot >= win[row, :, 0] - 1e-9) & (tot <= win[row, :, 1] + 1e-9))[use].all())
    return ok


def _split(
    region: _Region,
    loads: FloatArray,
    k: int,
    target: Target,
    options: BisectionOptions,
    rng: np.random.Generator,
    refine: Refine | None = None,
) -> tuple[np.ndarray, int, int, int]:
    """Cut a connected region of ``k`` territories in two.

    Returns ``(side_a mask, k_a, trees drawn, how)``: ``how`` is 0 for a tree cut in
    band, 1 for a cut the refiner brought into band, 2 for the least-violating cut.
    """
    local_loads = np.ascontiguousarray(loads[region.nodes])
    total = local_loads.sum(axis=0)
    best: tuple[float, np.ndarray, int] | None = None
    trees = 0
    for _ in range(max(options.trees_per_split, 1)):
        drawn = region.tree(rng)
        trees += 1
        if drawn is None:
            raise ValueError("bisection needs a connected region")
        order, pred = drawn
        sub = _subtree_loads(order, pred, local_loads)
        ka, excess = _cut_scores(sub, total, k, target, options.inner_exponent)
        excess[order[0]] = np.inf  # the root is no cut
        inside = np.flatnonzero(excess <= 1.0)
        if inside.size:
            # the most even split of the territories in band, then the smallest excess
            pick = inside[np.lexsort((excess[inside], np.abs(2 * ka[inside] - k)))[0]]
            return _mark_subtree(order, pred, int(pick)), int(ka[pick]), trees, 0
        v = int(np.argmin(excess))
        if best is None or excess[v] < best[0]:
            best = (float(excess[v]), _mark_subtree(order, pred, v), int(ka[v]))
    assert best is not None
    side, ka_best = best[1], best[2]
    if refine is not None:
        win = windows(target, ka_best, k - ka_best, options.inner_exponent)
        moved = refine(region.nodes, np.column_stack([region.a, region.b]), side.copy(), win)
        if moved.any() and not moved.all():
            side = moved
            if _in_windows(local_loads, side, win, target):
                return side, ka_best, trees, 1
    return side, ka_best, trees, 2


def bisection_plan(
    n: int,
    edges: IntArray,
    loads: FloatArray,
    k: int,
    target: Target,
    *,
    rng: np.random.Generator,
    options: BisectionOptions | None = None,
    expired: Expired | None = None,
    refine: Refine | None = None,
) -> BisectionPlan:
    """``k`` connected territories of about equal load by recursive spanning-tree bisection.

    Parameters
    ----------
    n, edges:
        Units and their ``(e, 2)`` adjacency; the graph must be connected.
    loads:
        ``(n, m)`` balanced measures per unit (dollars, hours...).
    k:
        Territories to make.
    target:
        Mean and relative band per measure (:class:`Target`).
    rng:
        Source of every random choice.
    options:
        :class:`BisectionOptions`.
    expired:
        Once it returns True, each remaining split takes the first tree's best cut.
    refine:
        Border moves for a split no tree cut within the band (:data:`Refine`).
    """
    opts = options or BisectionOptions()
    if k < 1 or n < k:
        raise ValueError(f"cannot make {k} territories of {n} units")
    if not is_connected(n, edges):
        raise ValueError("bisection needs a connected adjacency graph")
    loads = np.ascontiguousarray(loads, dtype=np.float64).reshape(n, -1)
    assign = np.full(n, -1, dtype=np.int64)
    stack: list[tuple[IntArray, int]] = [(np.arange(n, dtype=np.int64), k)]
    label = 0
    splits = trees = out_of_band = refined = 0
    hurry = BisectionOptions(trees_per_split=1, inner_exponent=opts.inner_exponent)
    while stack:
        nodes, kk = stack.pop()
        if kk == 1 or len(nodes) == 1:
            assign[nodes] = label
            label += 1
            continue
        if len(nodes) == kk:  # one unit each
            assign[nodes] = np.arange(label, label + kk)
            label += kk
            continue
        region = _Region(nodes, edges, n)
        use = hurry if expired is not None and expired() else opts
        side, ka, drawn, how = _split(region, loads, kk, target, use, rng, refine)
        # a side cannot hold more territories than units
        ka = int(min(max(ka, kk - int((~side).sum())), int(side.sum())))
        splits += 1
        trees += drawn
        out_of_band += int(how > 0)
        refined += int(how == 1)
        stack.append((nodes[~side], kk - ka))
        stack.append((nodes[side], ka))
    log.debug("bisection: %d splits, %d trees, %d out of band", splits, trees, out_of_band)
    return BisectionPlan(
        assignment=assign,
        splits=splits,
        trees=trees,
        splits_out_of_band=out_of_band,
        splits_refined=refined,
    )


def neighbours_of(edges: IntArray, assign: IntArray, t: int) -> IntArray:
    """The territories bordering territory ``t``."""
    ta, tb = assign[edges[:, 0]], assign[edges[:, 1]]
    other = np.concatenate([tb[(ta == t) & (tb != t)], ta[(tb == t) & (ta != t)]])
    return np.unique(other)


def territory_neighbours(edges: IntArray, assign: IntArray, k: int) -> list[IntArray]:
    """The territories bordering each territory."""
    ta, tb = assign[edges[:, 0]], assign[edges[:, 1]]
    cross = ta != tb
    pairs = np.unique(np.column_stack([ta[cross], tb[cross]]), axis=0)
    pairs = np.unique(np.vstack([pairs, pairs[:, ::-1]]), axis=0) if len(pairs) else pairs
    out: list[IntArray] = [np.zeros(0, dtype=np.int64) for _ in range(k)]
    if len(pairs):
        starts = np.searchsorted(pairs[:, 0], np.arange(k + 1))
        for t in range(k):
            out[t] = pairs[starts[t] : starts[t + 1], 1]
    return out


@dataclass
class RecutStats:
    """Counters of :func:`recut_unbalanced`."""

    tried: int = 0
    accepted: int = 0
    trees: int = 0


def _pair_cost(scaled: FloatArray) -> float:
    """Squared deviation in bands, with the part outside the band weighted up."""
    outside = np.maximum(np.abs(scaled) - 1.0, 0.0)
    return float((scaled**2).sum() + 100.0 * (outside**2).sum())


def recut_pair(
    edges: IntArray,
    loads: FloatArray,
    assign: IntArray,
    a: int,
    b: int,
    target: Target,
    *,
    rng: np.random.Generator,
    trees: int,
    frozen: np.ndarray | None = None,
    refine: Refine | None = None,
) -> tuple[bool, int]:
    """Merge territories ``a`` and ``b`` and cut them again (in place) when that balances better.

    Draws ``trees`` random spanning trees of the pair and keeps the best cut over all
    of them if it lowers the pair's squared deviation in bands. ``frozen`` units
    (locked) keep their territory: a cut that moves one is skipped. Returns
    ``(changed, trees drawn)``.
    """
    n = len(assign)
    nodes = np.flatnonzero((assign == a) | (assign == b))
    if len(nodes) < 2:
        return False, 0
    region = _Region(nodes, edges, n)
    local = np.ascontiguousarray(loads[nodes])
    total = local.sum(axis=0)
    now = _pair_cost(
        target.scaled(
            np.vstack([local[assign[nodes] == a].sum(0), local[assign[nodes] == b].sum(0)])
        )
    )
    best: tuple[float, np.ndarray] | None = None
    drawn = 0
    for _ in range(max(trees, 1)):
        tree = region.tree(rng)
        drawn += 1
        if tree is None:
            return False, drawn  # the pair is not connected (should not happen)
        order, pred = tree
        sub = _subtree_loads(order, pred, local)
        sa = target.scaled(sub)
        sb = target.scaled(total[None, :] - sub)
        cost = (sa**2).sum(axis=1) + (sb**2).sum(axis=1)
        cost += 100.0 * (
            (np.maximum(np.abs(sa) - 1, 0) ** 2).sum(axis=1)
            + (np.maximum(np.abs(sb) - 1, 0) ** 2).sum(axis=1)
        )
        cost[order[0]] = np.inf
        v = int(np.argmin(cost))
        if best is None or cost[v] < best[0]:
            best = (float(cost[v]), _mark_subtree(order, pred, v))
    if best is None:
        return False, drawn
    side = best[1]
    cost_best = best[0]
    pair_windows = windows(target, 1, 1, 0.5)
    if refine is not None and not _in_windows(local, side, pair_windows, target):
        # a side outside its band: border moves between the two
        moved = refine(
            region.nodes, np.column_stack([region.a, region.b]), side.copy(), pair_windows
        )
        if moved.any() and not moved.all():
            cost_moved = _pair_cost(
                target.scaled(np.vstack([local[moved].sum(0), local[~moved].sum(0)]))
            )
            if cost_moved < cost_best:
                side, cost_best = moved, cost_moved
    if cost_best >= now - 1e-9:
        return False, drawn
    # keep as many units as possible where they were: side a is the one a held most of
    if (assign[nodes][side] == a).sum() + (assign[nodes][~side] == b).sum() < len(nodes) / 2:
        side = ~side
    new = np.where(side, a, b)
    if frozen is not None and (frozen[nodes] & (new != assign[nodes])).any():
        return False, drawn
    assign[nodes] = new
    return True, drawn


def recut_unbalanced(
    edges: IntArray,
    loads: FloatArray,
    assign: IntArray,
    target: Target,
    *,
    rng: np.random.Generator,
    options: BisectionOptions | None = None,
    expired: Expired | None = None,
    frozen: np.ndarray | None = None,
    refine: Refine | None = None,
) -> RecutStats:
    """ReCom recuts on the territories outside their band until all are inside (in place).

    Each round takes one of the worst territories (drawn among the three worst) and
    recuts it with a neighbour (the neighbouring territories tried in random order
    until one recut helps). Stops when every territory is inside its band, after
    ``recut_rounds_per_territory x k`` attempts, or when ``expired()``.
    """
    opts = options or BisectionOptions()
    stats = RecutStats()
    k = int(assign.max()) + 1 if len(assign) else 0
    if k < 2:
        return stats
    limit = opts.recut_rounds_per_territory * k
    fails = np.zeros(k, dtype=np.int64)
    while stats.tried < limit:
        if expired is not None and expired():
            break
        totals = np.zeros((k, loads.shape[1]))
        np.add.at(totals, assign, loads)
        scaled = target.scaled(totals)
        worst = np.abs(scaled).max(axis=1)
        if worst.max() <= 1.0:
            break
        # territories outside, the least often failed and the worst first
        outside = np.flatnonzero(worst > 1.0)
        order = outside[np.lexsort((-worst[outside], fails[outside]))]
        t = int(order[int(rng.integers(min(3, len(order))))])
        near = neighbours_of(edges, assign, t)
        # partners whose deviation cancels t's first (the pair's mean nearest the target)
        near = near[np.argsort(np.abs(scaled[near] + scaled[t]).sum(axis=1), kind="stable")]
        changed = False
        for b in near.tolist():
            stats.tried += 1
            ok, drawn = recut_pair(
                edges, loads, assign, t, b, target, rng=rng, trees=opts.trees_per_recut,
                frozen=frozen, refine=refine,
            )  # fmt: skip
            stats.trees += drawn
            if ok:
                stats.accepted += 1
                changed = True
                break
        if changed:
            fails[t] = 0
        else:
            fails[t] += 1
            stats.tried += int(not len(near))
    return stats


__all__ = [
    "BisectionOptions",
    "BisectionPlan",
    "RecutStats",
    "Target",
    "bisection_plan",
    "edge_list",
    "is_connected",
    "neighbours_of",
    "recut_pair",
    "recut_unbalanced",
    "territory_neighbours",
    "windows",
]
