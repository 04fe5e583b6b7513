"""The design problem as arrays: what every solver in ``territorial.design`` reads.

A :class:`DesignProblem` knows nothing about files, ORM rows or HTTP. Adapters
(``from_frame``, the CLI, the store) build the arrays and call the constructor; the
constructor validates shapes and values and fails early with the numbers in the
message, so a solver can trust what it is given.

Conventions
-----------
* ``n`` basic units (accounts, postal codes, counties, H3 cells), ``k`` territories,
  ``m`` measures.
* Coordinates are ``(lat, lon)`` in degrees when ``coord_kind == "latlon"`` (distances
  are great-circle miles) or planar ``(x, y)`` when ``coord_kind == "xy"`` (Euclidean
  distances in the coordinates' own unit). With ``distance == "graph"`` distances are
  shortest paths over the adjacency edges' lengths.
* Territory ``j`` is identified by ``territory_ids[j]``; assignments are integer
  arrays of territory indices, ``-1`` meaning "none" in optional inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from territorial.errors import ConfigError, InfeasibleError

Objective = Literal["inertia", "median", "diameter"]
CoordKind = Literal["latlon", "xy"]
DistanceKind = Literal["greatcircle", "euclidean", "graph"]

OBJECTIVES: tuple[str, ...] = ("inertia", "median", "diameter")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Balance:
    """Keep every territory's total of ``measure`` within ``±tolerance`` of the mean.

    ``tolerance`` is a fraction: ``0.05`` means ±5%.
    """

    measure: str
    tolerance: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.tolerance < 1.0):
            raise ConfigError(
                f"balance tolerance for {self.measure!r} must be a fraction in [0, 1), "
                f"got {self.tolerance} (write 0.05 or 5% for ±5%)"
            )


@dataclass(frozen=True, slots=True, eq=False)
class Limit:
    """Absolute limits on each territory's total of ``measure`` (a rep's capacity).

    ``lower`` and ``upper`` are ``(k,)`` arrays in the measure's own unit (hours,
    accounts, dollars), one entry per territory in ``territory_ids`` order; ``NaN``
    means "no limit for that territory" and ``None`` no limit on that side at all. A
    single number stands for the same limit on every territory (the problem
    broadcasts it to ``(k,)``). Limits are hard constraints, like the balance band,
    and combine with it: a territory's total must meet both.
    """

    measure: str
    lower: FloatArray | float | None = None
    upper: FloatArray | float | None = None

    def __post_init__(self) -> None:
        if self.lower is None and self.upper is None:
            raise ConfigError(f"limit on {self.measure!r} has neither a lower nor an upper value")
        for side in ("lower", "upper"):
            value = getattr(self, side)
            if value is None:
                continue
            arr = np.array(value, dtype=np.float64)
            if arr.ndim > 1:
                raise ConfigError(
                    f"{side} limit on {self.measure!r} must be a number or one value per "
                    f"territory, got shape {arr.shape}"
                )
            arr[np.isposinf(arr)] = np.nan  # +inf: no limit
            bad = np.flatnonzero(~np.isnan(arr) & ((arr < 0) | ~np.isfinite(arr)))
            if bad.size:
                j = int(bad[0])
                where = f" (territory #{j + 1})" if arr.ndim else ""
                raise ConfigError(
                    f"{side} limit on {self.measure!r} is {float(arr.reshape(-1)[j])}{where}; "
                    "limits must be non-negative numbers (NaN for none)"
                )
            object.__setattr__(self, side, arr)
        if self.lower is not None and self.upper is not None:
            lo, up = np.broadcast_arrays(self.lower, self.upper)
            clash = np.flatnonzero((lo > up).reshape(-1))
            if clash.size:
                j = int(clash[0])
                where = f" for territory #{j + 1}" if lo.ndim else ""
                raise ConfigError(
                    f"limit on {self.measure!r}{where}: lower {float(lo.reshape(-1)[j]):,.6g} "
                    f"is above upper {float(up.reshape(-1)[j]):,.6g}"
                )

    def broadcast(self, k: int) -> Limit:
        """The same limit with ``(k,)`` arrays (a number becomes one per territory)."""

        def full(value: FloatArray | float | None, side: str) -> FloatArray | None:
            if value is None:
                return None
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim == 0:
                return np.full(k, float(arr))
            if arr.shape != (k,):
                raise ConfigError(
                    f"{side} limit on {self.measure!r} has {arr.shape[0]} values for "
                    f"{k} territories"
                )
            return arr.copy()

        return Limit(self.measure, full(self.lower, "lower"), full(self.upper, "upper"))

    def subset(self, territories: IntArray) -> Limit:
        """The limit of some territories only (a segment's), per-territory arrays cut."""

        def cut(value: FloatArray | float | None) -> FloatArray | float | None:
            if value is None or np.ndim(value) == 0:
                return value
            return np.asarray(value)[territories]

        return Limit(self.measure, cut(self.lower), cut(self.upper))


def parse_balance(text: str) -> Balance:
    """Parse ``COLUMN=TOL`` as given on the command line: ``potential=0.05`` or ``potential=5%``."""
    name, sep, tol = text.partition("=")
    if not sep or not name.strip() or not tol.strip():
        raise ConfigError(f"--balance wants COLUMN=TOLERANCE (e.g. potential=0.05), got {text!r}")
    tol = tol.strip()
    try:
        value = float(tol[:-1]) / 100.0 if tol.endswith("%") else float(tol)
    except ValueError as exc:
        raise ConfigError(f"--balance {text!r}: tolerance {tol!r} is not a number") from exc
    return Balance(name.strip(), value)


@dataclass(frozen=True, slots=True, eq=False)
class DesignProblem:
    """A territory design problem, validated on construction.

    Parameters
    ----------
    unit_ids:
        ``(n,)`` string ids of the basic units.
    coords:
        ``(n, 2)`` float coordinates, see ``coord_kind``.
    measures:
        ``(n, m)`` non-negative float measures (potential in dollars, workload in
        hours, account counts...), column ``i`` named ``measure_names[i]``.
    n_territories:
        Total number of territories ``k`` (over all segments).
    balance:
        Measures to balance, each with its tolerance. May be empty.
    objective:
        ``"inertia"``, ``"median"`` or ``"diameter"``.
    weight:
        Name of the measure that weights distances for inertia/median; ``None``
        means every unit weighs 1.
    edges, edge_lengths:
        Optional ``(e, 2)`` adjacency between units (indices) and ``(e,)`` lengths.
    length_unit:
        Name of the edge lengths' unit in reports (``"mi"`` on county maps).
    contiguity:
        Require every territory to be connected in the adjacency graph.
    distance:
        How distances are measured (see module docstring).
    centers:
        Optional ``(k, 2)`` fixed territory centers (rep home bases) in the same
        coordinates as ``coords``; then ``territory_ids`` are the centers' ids.
    territory_ids:
        ``(k,)`` names of the territories. Default ``T001``... .
    current:
        Optional ``(n,)`` current plan (territory index per unit, ``-1`` unassigned).
    max_moves:
        With ``current``, at most this many units may change territory.
    move_penalty:
        With ``current``, objective penalty per moved unit (objective units).
    locked:
        Optional ``(n,)`` territory index a unit must stay in, ``-1`` when free.
    allowed:
        Optional ``(n, k)`` boolean matrix: unit ``i`` may go to territory ``j``.
    segments:
        Optional ``(n,)`` segment index per unit; units of different segments never
        share a territory. ``territory_segments`` then gives each territory's segment.
    territory_segments:
        ``(k,)`` segment index per territory, required with ``segments``.
    segment_names:
        Display names of segment indices.
    limits:
        Absolute per-territory limits on measure totals (:class:`Limit`: a rep's
        capacity in hours, a maximum of accounts), at most one per measure; hard
        constraints like the balance band, and combinable with it.
    """

    unit_ids: npt.NDArray[np.str_]
    coords: FloatArray
    measures: FloatArray
    measure_names: tuple[str, ...]
    n_territories: int
    balance: tuple[Balance, ...] = ()
    objective: Objective = "inertia"
    weight: str | None = None
    coord_kind: CoordKind = "latlon"
    edges: IntArray | None = None
    edge_lengths: FloatArray | None = None
    length_unit: str = "length"
    contiguity: bool = False
    distance: DistanceKind | None = None
    centers: FloatArray | None = None
    territory_ids: tuple[str, ...] = ()
    current: IntArray | None = None
    max_moves: int | None = None
    move_penalty: float = 0.0
    locked: IntArray | None = None
    allowed: BoolArray | None = None
    segments: IntArray | None = None
    territory_segments: IntArray | None = None
    segment_names: tuple[str, ...] = ()
    limits: tuple[Limit, ...] = ()
    _balance_index: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        ids = np.asarray(self.unit_ids).astype(str)
        n = ids.shape[0]
        if n == 0:
            raise ConfigError("the design problem has no units")
        if len(set(ids.tolist())) != n:
            seen: set[str] = set()
            dup = next(u for u in ids.tolist() if u in seen or seen.add(u))  # type: ignore[func-returns-value]
            raise ConfigError(f"unit id {dup!r} appears more than once")
        set_(self, "unit_ids", ids)

        coords = np.asarray(self.coords, dtype=np.float64)
        if coords.shape != (n, 2):
            raise ConfigError(f"coords must have shape ({n}, 2), got {coords.shape}")
        if not np.isfinite(coords).all():
            bad = int(np.flatnonzero(~np.isfinite(coords).all(axis=1))[0])
            raise ConfigError(f"unit {ids[bad]!r} has no usable location {coords[bad].tolist()}")
        if self.coord_kind == "latlon":
            lat_bad = np.flatnonzero(np.abs(coords[:, 0]) > 90)
            lon_bad = np.flatnonzero(np.abs(coords[:, 1]) > 180)
            if lat_bad.size or lon_bad.size:
                i = int(lat_bad[0] if lat_bad.size else lon_bad[0])
                raise ConfigError(
                    f"unit {ids[i]!r}: latitude/longitude {coords[i].tolist()} out of range"
                )
        set_(self, "coords", coords)

        measures = np.asarray(self.measures, dtype=np.float64)
        if measures.ndim == 1:
            measures = measures[:, None]
        if measures.shape[0] != n or measures.shape[1] != len(self.measure_names):
            raise ConfigError(
                f"measures must have shape ({n}, {len(self.measure_names)}), got {measures.shape}"
            )
        if not np.isfinite(measures).all() or (measures < 0).any():
            r, c = np.argwhere(~np.isfinite(measures) | (measures < 0))[0]
            raise ConfigError(
                f"measure {self.measure_names[c]!r} of unit {ids[r]!r} is {measures[r, c]}; "
                "measures must be finite and non-negative"
            )
        set_(self, "measures", measures)
        set_(self, "measure_names", tuple(self.measure_names))

        k = int(self.n_territories)
        if k < 1:
            raise ConfigError(f"the number of territories must be at least 1, got {k}")
        if k > n:
            raise InfeasibleError(
                f"{k} territories cannot be made from {n} units: every territory needs a unit"
            )
        set_(self, "n_territories", k)

        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        names = self.measure_names
        for b in self.balance:
            if b.measure not in names:
                raise ConfigError(
                    f"cannot balance on {b.measure!r}: the measures are {', '.join(names)}"
                )
        set_(self, "_balance_index", tuple(names.index(b.measure) for b in self.balance))
        if self.weight is not None and self.weight not in names:
            raise ConfigError(f"weight {self.weight!r} is not a measure ({', '.join(names)})")

        limits: list[Limit] = []
        for lim in self.limits:
            if not isinstance(lim, Limit):
                raise ConfigError(f"limits must be Limit objects, got {type(lim).__name__}")
            if lim.measure not in names:
                raise ConfigError(
                    f"cannot limit {lim.measure!r}: the measures are {', '.join(names)}"
                )
            if any(prev.measure == lim.measure for prev in limits):
                raise ConfigError(
                    f"two limits on {lim.measure!r}; give one Limit with both lower and upper"
                )
            limits.append(lim.broadcast(k))
        set_(self, "limits", tuple(limits))

        tids = tuple(str(t) for t in self.territory_ids) or tuple(
            f"T{j + 1:0{max(3, len(str(k)))}d}" for j in range(k)
        )
        if len(tids) != k or len(set(tids)) != k:
            raise ConfigError(f"territory_ids must be {k} distinct names, got {len(set(tids))}")
        set_(self, "territory_ids", tids)

        if self.edges is not None:
            edges = np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)
            if edges.size and (edges.min() < 0 or edges.max() >= n):
                raise ConfigError("adjacency edges refer to unit indices outside 0..n-1")
            set_(self, "edges", edges)
            if self.edge_lengths is not None:
                lengths = np.asarray(self.edge_lengths, dtype=np.float64)
                if lengths.shape != (edges.shape[0],) or (lengths < 0).any():
                    raise ConfigError("edge lengths must be one non-negative number per edge")
                set_(self, "edge_lengths", lengths)
        elif self.contiguity:
            raise ConfigError("contiguity needs an adjacency graph (edges)")
        if self.edge_lengths is not None and self.edges is None:
            raise ConfigError("edge lengths given without edges")

        distance = self.distance or (
            "graph"
            if self.edge_lengths is not None
            else ("greatcircle" if self.coord_kind == "latlon" else "euclidean")
        )
        if distance == "graph" and self.edge_lengths is None:
            raise ConfigError("graph distances need edge lengths")
        set_(self, "distance", distance)

        if self.centers is not None:
            centers = np.asarray(self.centers, dtype=np.float64)
            if centers.shape != (k, 2):
                raise ConfigError(f"centers must have shape ({k}, 2), got {centers.shape}")
            set_(self, "centers", centers)

        for name in ("current", "locked"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=np.int64)
            if arr.shape != (n,):
                raise ConfigError(f"{name} must have one entry per unit ({n}), got {arr.shape}")
            if arr.size and (arr.min() < -1 or arr.max() >= k):
                raise ConfigError(f"{name} refers to a territory index outside -1..{k - 1}")
            set_(self, name, arr)
        if self.max_moves is not None:
            if self.current is None:
                raise ConfigError("max_moves needs a current plan")
            if self.max_moves < 0:
                raise ConfigError(f"max_moves must be >= 0, got {self.max_moves}")

        if self.allowed is not None:
            allowed = np.asarray(self.allowed, dtype=bool)
            if allowed.shape != (n, k):
                raise ConfigError(f"allowed must have shape ({n}, {k}), got {allowed.shape}")
            nowhere = np.flatnonzero(~allowed.any(axis=1))
            if nowhere.size:
                raise InfeasibleError(
                    f"unit {ids[nowhere[0]]!r} is allowed in no territory "
                    f"({nowhere.size} such units)"
                )
            set_(self, "allowed", allowed)
        if self.locked is not None and self.allowed is not None:
            li = np.flatnonzero(self.locked >= 0)
            clash = li[~self.allowed[li, self.locked[li]]]
            if clash.size:
                i = int(clash[0])
                raise InfeasibleError(
                    f"unit {ids[i]!r} is locked to {tids[self.locked[i]]!r} but not allowed there"
                )

        if self.segments is not None:
            seg = np.asarray(self.segments, dtype=np.int64)
            if seg.shape != (n,):
                raise ConfigError(f"segments must have one entry per unit ({n})")
            if self.territory_segments is None:
                raise ConfigError("segments need territory_segments (segment of each territory)")
            tseg = np.asarray(self.territory_segments, dtype=np.int64)
            if tseg.shape != (k,):
                raise ConfigError(f"territory_segments must have {k} entries")
            for s in np.unique(seg):
                if not (tseg == s).any():
                    raise InfeasibleError(
                        f"segment {self.segment_label(int(s))!r} has units but no territory"
                    )
            set_(self, "segments", seg)
            set_(self, "territory_segments", tseg)

    # --- derived views -------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return int(self.unit_ids.shape[0])

    @property
    def balance_index(self) -> tuple[int, ...]:
        """Column indices into ``measures`` of the balanced measures, in ``balance`` order."""
        return self._balance_index

    @property
    def weights(self) -> FloatArray:
        """``(n,)`` distance weights: the ``weight`` measure, or ones."""
        if self.weight is None:
            return np.ones(self.n_units)
        return self.measures[:, self.measure_names.index(self.weight)]

    @property
    def distance_unit(self) -> str:
        if self.distance == "greatcircle":
            return "mi"
        return self.length_unit if self.distance == "graph" else "units"

    @property
    def objective_unit(self) -> str:
        """Human unit of the objective value, e.g. ``"population x mi^2"``."""
        w = self.weight or "units"
        d = self.distance_unit
        if self.objective == "inertia":
            return f"{w} x {d}^2"
        if self.objective == "median":
            return f"{w} x {d}"
        return d

    def limit_arrays(self) -> tuple[FloatArray, FloatArray]:
        """``(k, m)`` lower and upper limits on every measure's total (``NaN``: none)."""
        k, m = self.n_territories, len(self.measure_names)
        lower = np.full((k, m), np.nan)
        upper = np.full((k, m), np.nan)
        for lim in self.limits:
            c = self.measure_names.index(lim.measure)
            if lim.lower is not None:
                lower[:, c] = lim.lower
            if lim.upper is not None:
                upper[:, c] = lim.upper
        return lower, upper

    def segment_label(self, s: int) -> str:
        return self.segment_names[s] if s < len(self.segment_names) else str(s)

    def with_changes(self, **changes: object) -> DesignProblem:
        """A copy with some fields replaced (validated again)."""
        from dataclasses import fields as dc_fields

        values = {f.name: getattr(self, f.name) for f in dc_fields(self) if f.init}
        values.update(changes)
        return DesignProblem(**values)


def balance_bounds(
    problem: DesignProblem, territory_count: int | None = None, unit_mask: BoolArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bound per balanced measure for one territory's total.

    With ``unit_mask``/``territory_count`` the mean is taken over a subset (one
    segment's units and territories). Returns two ``(len(balance),)`` arrays.
    """
    idx = list(problem.balance_index)
    cols = problem.measures[:, idx] if unit_mask is None else problem.measures[unit_mask][:, idx]
    k = territory_count or problem.n_territories
    mean = cols.sum(axis=0) / k
    tol = np.array([b.tolerance for b in problem.balance])
    return mean * (1 - tol), mean * (1 + tol)


def index_of(ids: Sequence[str], wanted: Sequence[str], *, what: str) -> IntArray:
    """Map ``wanted`` ids to positions in ``ids``; unknown ids raise a ConfigError naming them."""
    pos = {u: i for i, u in enumerate(ids)}
    missing = [w for w in wanted if w not in pos]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise ConfigError(f"{len(missing)} {what} not among the units: {shown}")
    return np.fromiter((pos[w] for w in wanted), dtype=np.int64, count=len(wanted))
