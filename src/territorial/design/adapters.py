"""Adapters: build a :class:`DesignProblem` from data frames or from the store.

The solvers only see arrays; these functions turn tables (CSV files, notebooks, the
store's accounts and reps) into the arrays and call the array-level constructor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from territorial.design.problem import Balance, DesignProblem, Limit, index_of
from territorial.domain.staffing import specialty_list
from territorial.errors import ConfigError, InfeasibleError, NotFoundError

log = logging.getLogger(__name__)

COORD_COLUMNS = (("lat", "lon"), ("latitude", "longitude"), ("x", "y"))


def _coords(df: pd.DataFrame, what: str) -> tuple[np.ndarray, str]:
    for a, b in COORD_COLUMNS:
        if a in df.columns and b in df.columns:
            kind = "xy" if a == "x" else "latlon"
            try:
                values = df[[a, b]].to_numpy(dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{what}: columns {a!r}/{b!r} must be numbers") from exc
            return values, kind
    raise ConfigError(
        f"{what} needs coordinate columns lat,lon or x,y (has {', '.join(map(str, df.columns))})"
    )


def _ids(df: pd.DataFrame, what: str) -> list[str]:
    if "id" not in df.columns:
        raise ConfigError(f"{what} needs an 'id' column")
    return df["id"].astype(str).str.strip().tolist()


def _plan_index(
    df: pd.DataFrame | None, unit_ids: Sequence[str], territory_ids: Sequence[str], what: str
) -> np.ndarray | None:
    """``id,territory`` rows to a ``(n,)`` territory index array (``-1`` for absent units)."""
    if df is None:
        return None
    for col in ("id", "territory"):
        if col not in df.columns:
            raise ConfigError(f"{what} needs columns id,territory")
    out = np.full(len(unit_ids), -1, dtype=np.int64)
    units = index_of(unit_ids, df["id"].astype(str).str.strip().tolist(), what=f"units in {what}")
    tpos = {t: j for j, t in enumerate(territory_ids)}
    terr = df["territory"].astype(str).str.strip().tolist()
    unknown = sorted({t for t in terr if t not in tpos})
    if unknown:
        raise ConfigError(
            f"{what} names territories that do not exist: {', '.join(map(repr, unknown[:5]))} "
            f"(known: {', '.join(list(territory_ids)[:5])}"
            f"{'...' if len(territory_ids) > 5 else ''})"
        )
    out[units] = [tpos[t] for t in terr]
    return out


def split_territories(totals: Mapping[str, float], n_territories: int) -> dict[str, int]:
    """Share ``n_territories`` among segments in proportion to ``totals`` (largest remainder).

    Every segment with a positive total gets at least one territory.
    """
    names = list(totals)
    if n_territories < len(names):
        raise InfeasibleError(
            f"{n_territories} territories cannot cover {len(names)} segments: each needs one"
        )
    w = np.array([max(float(totals[s]), 0.0) for s in names])
    w = w / w.sum() if w.sum() > 0 else np.full(len(names), 1 / len(names))
    raw = w * n_territories
    base = np.maximum(np.floor(raw).astype(int), 1)
    while base.sum() > n_territories:
        excess = np.where(base > 1, base - raw, -np.inf)
        base[int(np.argmax(excess))] -= 1
    rem = raw - base
    while base.sum() < n_territories:
        i = int(np.argmax(rem))
        base[i] += 1
        rem[i] -= 1
    return {s: int(b) for s, b in zip(names, base, strict=True)}


def problem_from_frames(
    units_df: pd.DataFrame,
    *,
    balance: Sequence[Balance | str],
    objective: str = "inertia",
    weight: str | None = None,
    n_territories: int | None = None,
    edges_df: pd.DataFrame | None = None,
    contiguity: bool | None = None,
    centers_df: pd.DataFrame | None = None,
    current_df: pd.DataFrame | None = None,
    locked_df: pd.DataFrame | None = None,
    allowed_df: pd.DataFrame | None = None,
    max_moves: int | None = None,
    move_penalty: float = 0.0,
    segment: str | None = None,
    segment_territories: Mapping[str, int] | None = None,
    distance: str | None = None,
    length_unit: str = "length",
) -> DesignProblem:
    """A design problem from tables (the CLI's and notebooks' way in).

    Parameters
    ----------
    units_df:
        ``id``, then ``lat``,``lon`` (great-circle miles) or ``x``,``y`` (Euclidean),
        then numeric measure columns (every other numeric column is a measure).
    balance:
        ``Balance`` objects or ``"COLUMN=TOL"`` strings.
    n_territories:
        Number of territories; with ``centers_df`` it may be omitted (one per center)
        and must otherwise equal the number of centers.
    edges_df:
        Adjacency ``a``,``b`` (unit ids), optional ``length``. ``contiguity`` defaults
        to True when edges are given.
    centers_df:
        Fixed centers ``id``,``lat``,``lon`` (or ``x``,``y``); territory ids are the
        center ids; an optional ``segment`` column assigns centers to segments.
    current_df, locked_df:
        ``id``,``territory`` tables: the current plan and units that must stay put.
    allowed_df:
        ``id``,``territory`` pairs: units listed may only go to the territories listed
        for them (units not listed may go anywhere).
    segment:
        Column of ``units_df`` whose values never share a territory.
    segment_territories:
        Territories per segment; default: ``n_territories`` split in proportion to the
        first balanced measure.
    distance:
        ``greatcircle``, ``euclidean`` or ``graph`` (default: ``graph`` when the edges
        have lengths, else by the coordinates).
    length_unit:
        The edge lengths' unit in reports (``"mi"`` for county maps).
    """
    if units_df.empty:
        raise ConfigError("the units table is empty")
    unit_ids = _ids(units_df, "units")
    coords, kind = _coords(units_df, "units")
    bal = tuple(b if isinstance(b, Balance) else _parse(b) for b in balance)
    skip = {"id", "lat", "lon", "latitude", "longitude", "x", "y", segment}
    measure_cols = [
        c for c in units_df.columns if c not in skip and pd.api.types.is_numeric_dtype(units_df[c])
    ]
    for b in bal:
        if b.measure not in units_df.columns:
            raise ConfigError(f"cannot balance on {b.measure!r}: no such column in the units table")
        if b.measure not in measure_cols:
            raise ConfigError(f"column {b.measure!r} must hold numbers to be balanced")
    if weight is not None and weight not in measure_cols:
        raise ConfigError(f"weight column {weight!r} is not a numeric column of the units table")
    measures = (
        units_df[measure_cols].to_numpy(dtype=np.float64)
        if measure_cols
        else np.zeros((len(units_df), 0))
    )
    if np.isnan(measures).any():
        r, c = np.argwhere(np.isnan(measures))[0]
        raise ConfigError(f"unit {unit_ids[r]!r} has no value for {measure_cols[c]!r}")

    # territories, centers and segments
    centers = None
    territory_ids: tuple[str, ...] = ()
    segments = territory_segments = None
    segment_names: tuple[str, ...] = ()
    if segment is not None:
        if segment not in units_df.columns:
            raise ConfigError(f"segment column {segment!r} not in the units table")
        seg_values = units_df[segment].astype(str).str.strip()
        segment_names = tuple(sorted(seg_values.unique()))
        segments = np.array([segment_names.index(s) for s in seg_values], dtype=np.int64)
    if centers_df is not None:
        center_ids = _ids(centers_df, "centers")
        centers, ckind = _coords(centers_df, "centers")
        if ckind != kind:
            raise ConfigError("centers and units must use the same coordinates (lat/lon or x/y)")
        if n_territories is not None and n_territories != len(center_ids):
            raise ConfigError(
                f"--territories {n_territories} but {len(center_ids)} centers given; "
                "omit --territories or make them agree"
            )
        n_territories = len(center_ids)
        territory_ids = tuple(center_ids)
        if segments is not None:
            if "segment" not in centers_df.columns:
                raise ConfigError("with segments, the centers table needs a 'segment' column")
            cseg = centers_df["segment"].astype(str).str.strip().tolist()
            bad = sorted(set(cseg) - set(segment_names))
            if bad:
                raise ConfigError(f"centers name unknown segments: {', '.join(map(repr, bad))}")
            territory_segments = np.array([segment_names.index(s) for s in cseg], dtype=np.int64)
    elif segments is not None:
        if segment_territories is None:
            if n_territories is None:
                raise ConfigError("give the number of territories (or per segment)")
            first = bal[0].measure if bal else None
            totals = {
                s: float(measures[segments == i, measure_cols.index(first)].sum())
                if first
                else float((segments == i).sum())
                for i, s in enumerate(segment_names)
            }
            segment_territories = split_territories(totals, n_territories)
        missing = [s for s in segment_names if s not in segment_territories]
        if missing:
            raise ConfigError(f"no territory count for segment(s) {', '.join(map(repr, missing))}")
        counts = [int(segment_territories[s]) for s in segment_names]
        if n_territories is not None and sum(counts) != n_territories:
            raise ConfigError(
                f"territories per segment add up to {sum(counts)}, not {n_territories}"
            )
        n_territories = sum(counts)
        territory_segments = np.repeat(np.arange(len(segment_names)), counts).astype(np.int64)
        width = max(3, len(str(max(counts))))
        territory_ids = tuple(
            f"{s}-{i + 1:0{width}d}"
            for s, c in zip(segment_names, counts, strict=True)
            for i in range(c)
        )
    if n_territories is None:
        raise ConfigError("give the number of territories (--territories) or centers")

    # adjacency
    edges = lengths = None
    if edges_df is not None:
        for col in ("a", "b"):
            if col not in edges_df.columns:
                raise ConfigError("the adjacency table needs columns a,b (and optional length)")
        ea = index_of(unit_ids, edges_df["a"].astype(str).str.strip().tolist(), what="edge ends")
        eb = index_of(unit_ids, edges_df["b"].astype(str).str.strip().tolist(), what="edge ends")
        edges = np.column_stack([ea, eb])
        if "length" in edges_df.columns:
            lengths = edges_df["length"].to_numpy(dtype=np.float64)
        if contiguity is None:
            contiguity = True
    problem_tids = territory_ids or tuple(
        f"T{j + 1:0{max(3, len(str(n_territories)))}d}" for j in range(n_territories)
    )
    current = _plan_index(current_df, unit_ids, problem_tids, "the current plan")
    locked = _plan_index(locked_df, unit_ids, problem_tids, "the locked units")
    allowed = None
    if allowed_df is not None:
        pairs = _plan_index(
            allowed_df.drop_duplicates(), unit_ids, problem_tids, "the allowed table"
        )
        del pairs  # validates ids; the matrix needs every pair
        allowed = np.ones((len(unit_ids), n_territories), dtype=bool)
        uidx = index_of(
            unit_ids, allowed_df["id"].astype(str).str.strip().tolist(), what="allowed units"
        )
        tpos = {t: j for j, t in enumerate(problem_tids)}
        tidx = np.array(
            [tpos[t] for t in allowed_df["territory"].astype(str).str.strip()], dtype=np.int64
        )
        allowed[np.unique(uidx)] = False
        allowed[uidx, tidx] = True
    if max_moves is not None and current is None:
        raise ConfigError("--max-moves needs the current plan (--current)")
    return DesignProblem(
        unit_ids=np.asarray(unit_ids),
        coords=coords,
        measures=measures,
        measure_names=tuple(measure_cols),
        n_territories=int(n_territories),
        balance=bal,
        objective=objective,  # type: ignore[arg-type]
        weight=weight,
        coord_kind=kind,  # type: ignore[arg-type]
        edges=edges,
        edge_lengths=lengths,
        length_unit=length_unit,
        contiguity=bool(contiguity),
        distance=distance,  # type: ignore[arg-type]
        centers=centers,
        territory_ids=problem_tids,
        current=current,
        max_moves=max_moves,
        move_penalty=move_penalty,
        locked=locked,
        allowed=allowed,
        segments=segments,
        territory_segments=territory_segments,
        segment_names=segment_names,
    )


def _parse(text: str) -> Balance:
    from territorial.design.problem import parse_balance

    return parse_balance(text)


# --- the store ---------------------------------------------------------------------------
#: Balanced measures (and tolerances) of ``territorial design --from-store`` by default.
DEFAULT_BALANCE: dict[str, float] = {"potential": 0.10, "workload_hours": 0.10}
#: Units a store design can be made of.
UNITS = ("account", "postal_code", "h3")
#: Measures that are not columns: every account counts 1.
COUNT_MEASURE = "accounts"
#: The score that rep capacity (hours per week) limits, in hours per year.
WORKLOAD_MEASURE = "workload_hours"

Pairs = list[tuple[str, str]]


def _fraction(value: Any, what: str) -> float:
    """``0.05``, ``"0.05"`` or ``"5%"`` as a fraction."""
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not a number (write 0.05 or 5%)") from None
    return number


class StoreDesignOptions(BaseModel):
    """Every option of ``territorial design --from-store``, typed: what the CLI, the API
    (``POST /api/design-jobs``, ``options``) and the workspace's design form pass to
    :func:`build_store_problem` and :func:`territorial.design.service.design_from_store`.

    Each field's ``json_schema_extra["cli"]`` names its command-line option; the
    workspace form is generated from these fields (labels, defaults).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    balance: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_BALANCE),
        description="Measures to balance, each with its own tolerance (fraction: 0.1 = ±10%)",
        json_schema_extra={"cli": "--balance MEASURE=TOL (repeatable)", "label": "Balance"},
    )
    objective: Literal["inertia", "median", "diameter"] = Field(
        "inertia",
        description="What compactness minimises",
        json_schema_extra={"cli": "--objective", "label": "Objective"},
    )
    weight: str | None = Field(
        None,
        description="Measure weighting distances; default: the first balanced measure; "
        "'none' weighs every unit 1",
        json_schema_extra={"cli": "--weight", "label": "Distance weight"},
    )
    territories: int | list[str] | None = Field(
        None,
        description="How many territories (a count other than the reps carrying one gives "
        "territories without reps), or the rep ids that carry one; default: every active "
        "rep whose role carries a territory",
        json_schema_extra={
            "cli": "--territories N | --territory-reps R1,R2",
            "label": "Territories",
        },
    )
    current_plan: int | Literal["active"] | None = Field(
        None,
        description="Stored plan to start from (realign): its id or 'active'",
        json_schema_extra={"cli": "--current-plan ID|active", "label": "Start from"},
    )
    current: Pairs | None = Field(
        None,
        description="Current plan as (account id, territory) pairs",
        json_schema_extra={"cli": "--current PLAN.csv"},
    )
    max_moves: int | None = Field(
        None,
        ge=0,
        description="At most this many units change territory (needs a current plan)",
        json_schema_extra={"cli": "--max-moves", "label": "Disruption limit (units)"},
    )
    move_penalty: float = Field(
        0.0,
        ge=0,
        description="Objective cost per moved unit (with a current plan)",
        json_schema_extra={"cli": "--move-penalty"},
    )
    keep_locks: bool = Field(
        True,
        description="Units locked in the current stored plan stay locked",
        json_schema_extra={"cli": "--keep-locks/--no-keep-locks", "label": "Keep locks"},
    )
    locked: Pairs | None = Field(
        None,
        description="(account id, territory) pairs that must stay",
        json_schema_extra={"cli": "--locked LOCKED.csv"},
    )
    allowed: Pairs | None = Field(
        None,
        description="(account id, territory) pairs: listed accounts only go to listed territories",
        json_schema_extra={"cli": "--allowed ALLOWED.csv"},
    )
    segment: str | None = Field(
        None,
        description="Account column whose values never share a territory (e.g. segment)",
        json_schema_extra={"cli": "--segment", "label": "Segment column"},
    )
    segment_territories: dict[str, int] | None = Field(
        None,
        description="Territories per segment (territories without reps only)",
        json_schema_extra={"cli": "--segment-territories SEGMENT=COUNT"},
    )
    specialties: bool = Field(
        False,
        description="An account of an industry some reps specialise in only goes to them",
        json_schema_extra={"cli": "--specialties", "label": "Respect specialties"},
    )
    capacity: bool = Field(
        True,
        description="Each rep's capacity_hours and max_accounts are their territory's limits",
        json_schema_extra={"cli": "--capacity/--no-capacity", "label": "Respect rep capacity"},
    )
    max_totals: dict[str, float] = Field(
        default_factory=dict,
        description="Absolute maximum of a measure's total in every territory",
        json_schema_extra={"cli": "--max MEASURE=VALUE (repeatable)"},
    )
    min_totals: dict[str, float] = Field(
        default_factory=dict,
        description="Absolute minimum of a measure's total in every territory",
        json_schema_extra={"cli": "--min MEASURE=VALUE (repeatable)"},
    )
    unit: Literal["account", "postal_code", "h3", "county", "counties"] = Field(
        "account",
        description="Design on accounts, on postal codes / H3 cells of accounts, or on "
        "counties (split where heavy) as contiguous territories",
        json_schema_extra={"cli": "--unit", "label": "Units"},
    )
    h3_resolution: int = Field(6, ge=0, le=15, json_schema_extra={"cli": "--h3-resolution"})
    solver: str = Field(
        "auto", description="Solver name or auto", json_schema_extra={"cli": "--solver"}
    )
    seed: int = Field(
        0,
        ge=0,
        description="Same seed, same plan",
        json_schema_extra={"cli": "--seed", "label": "Seed"},
    )
    time_limit: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds for the whole run",
        json_schema_extra={"cli": "--time-limit", "label": "Time limit (s)"},
    )
    work_limit: float | None = Field(
        None,
        gt=0,
        description="Deterministic mode: stop on counted work (same plan on any machine)",
        json_schema_extra={"cli": "--work-limit"},
    )
    best_effort: bool = Field(
        False,
        description="Keep the least-violating plan when no plan meets every constraint",
        json_schema_extra={"cli": "--best-effort", "label": "Keep a best-effort plan"},
    )

    @field_validator("balance", mode="before")
    @classmethod
    def _balance(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):  # ["potential=10%", ...] as typed on the CLI
            return parse_measure_values(value, flag="--balance", fraction=True)
        if isinstance(value, Mapping):
            return {str(k).strip(): _fraction(v, f"--balance {k}") for k, v in value.items()}
        return value

    @field_validator("balance")
    @classmethod
    def _balance_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, tol in value.items():
            if not name:
                raise ValueError("a balanced measure needs a name")
            if not 0.0 <= tol < 1.0:
                raise ValueError(
                    f"tolerance of {name!r} must be a fraction in [0, 1) (0.05 or 5%), got {tol}"
                )
        return value

    @field_validator("max_totals", "min_totals", mode="before")
    @classmethod
    def _limits(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return parse_measure_values(value, flag="--max/--min", fraction=False)
        return value

    @field_validator("max_totals", "min_totals")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for name, number in value.items():
            if not np.isfinite(number) or number < 0:
                raise ValueError(f"limit on {name!r} must be a non-negative number, got {number}")
        return value

    @field_validator("territories")
    @classmethod
    def _territories(cls, value: int | list[str] | None) -> int | list[str] | None:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"the number of territories must be at least 1, got {value}")
        if isinstance(value, list):
            ids = [str(v).strip() for v in value if str(v).strip()]
            if not ids:
                raise ValueError("name at least one rep to carry a territory")
            if len(set(ids)) != len(ids):
                raise ValueError("a rep is named twice in the territory list")
            return ids
        return value

    @field_validator("weight")
    @classmethod
    def _weight(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else value.strip()

    @property
    def weight_measure(self) -> str | None:
        """The measure weighting distances: ``weight``, else the first balanced measure
        (``None``: every unit weighs 1)."""
        if self.weight is not None:
            return None if self.weight.lower() in ("none", "1", "units") else self.weight
        return next(iter(self.balance), None)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> StoreDesignOptions:
        """Validated options from plain values (a job payload, a form); a
        :class:`ConfigError` naming the option when one is wrong."""
        try:
            return cls.model_validate(dict(data))
        except PydanticValidationError as exc:
            problems = []
            for err in exc.errors(include_url=False):
                where = ".".join(str(p) for p in err["loc"]) or "options"
                problems.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
            raise ConfigError("design options: " + "; ".join(problems)) from None


def parse_measure_values(items: Sequence[str], *, flag: str, fraction: bool) -> dict[str, float]:
    """``["a=10%", "b=0.05"]`` (as typed on the command line) to ``{"a": 0.1, "b": 0.05}``;
    with ``fraction=False`` values are plain numbers (``hours=1800``)."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ConfigError(f"{flag} wants MEASURE=VALUE (e.g. potential=5%), got {item!r}")
        if name in out:
            raise ConfigError(f"{flag} names {name!r} twice")
        try:
            number = (
                _fraction(value, f"{flag} {item}") if fraction else float(value.replace(",", ""))
            )
        except ValueError as exc:
            raise ConfigError(f"{flag} {item!r}: {value!r} is not a number") from exc
        out[name] = number
    return out


@dataclass(frozen=True, eq=False)
class StoreProblem:
    """A design problem built from the store, with what it was built from.

    Attributes
    ----------
    problem:
        The arrays the solvers see.
    account_units:
        Unit id of every designed account (index: account id), for
        :func:`territorial.store.plans.save_plan`.
    weight:
        The measure that weights distances (``None``: every unit weighs 1).
    current_plan_id:
        The stored plan the design starts from, if any (the new plan's parent).
    restricted:
        ``{"specialty": (n,) bool, "allowed": (n,) bool}``: units whose territories an
        industry specialty or the allowed list narrows (for the assignment reasons).
    notes:
        What the builder decided that the user should know (printed by the CLI, stored
        with the plan's parameters).
    """

    problem: DesignProblem
    account_units: pd.Series
    weight: str | None
    current_plan_id: int | None = None
    restricted: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _read_store(engine: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    from sqlalchemy import inspect

    from territorial.store import records

    accounts = records.read_accounts(engine)
    reps = records.read_reps(engine)
    scores = None
    if inspect(engine).has_table("account_scores"):
        from territorial.store.scores import read_scores

        scores = read_scores(engine)
        scores = scores if len(scores) else None
    return accounts, reps, scores


def _measure_columns(
    accounts: pd.DataFrame, scores: pd.DataFrame | None, wanted: Sequence[str]
) -> pd.DataFrame:
    """``accounts`` with one float column per wanted measure (account column or score)."""
    out = accounts.copy()
    out[COUNT_MEASURE] = 1.0
    score_cols = [] if scores is None else [c for c in scores.columns if c != "account_id"]
    for name in wanted:
        if name in out.columns and name not in score_cols:
            values = pd.to_numeric(out[name], errors="coerce")
            if values.isna().all() and len(values):
                raise ConfigError(f"measure {name!r} is an account column with no numbers")
            out[name] = values.astype(float).fillna(0.0)
            continue
        if name in score_cols:
            assert scores is not None
            values = pd.to_numeric(
                scores.set_index("account_id")[name].reindex(out["id"].astype(str)),
                errors="coerce",
            )
            out[name] = values.astype(float).fillna(0.0).to_numpy()
            continue
        numeric = sorted(c for c in accounts.columns if pd.api.types.is_numeric_dtype(accounts[c]))
        known = [COUNT_MEASURE, *[c for c in numeric if c not in ("latitude", "longitude")]]
        hint = (
            "; run `territorial score` first for potential and workload_hours"
            if scores is None
            else f"; scores: {', '.join(c for c in score_cols if c not in known)}"
        )
        raise ConfigError(
            f"measure {name!r} is neither an account column nor a score "
            f"(account measures: {', '.join(known)}{hint})"
        )
    return out


def _rep_segments(
    reps: pd.DataFrame, segment_values: Sequence[str], totals: Mapping[str, float]
) -> tuple[list[str], list[str]]:
    """Each anchored rep's segment: the one their specialties name; reps naming none (or
    several) are shared out by largest shortfall against the segments' shares of
    ``totals``. Returns ``(segment per rep, notes)``."""
    lower = {s.lower(): s for s in segment_values}
    chosen: list[str | None] = []
    for spec in reps["specialties"] if "specialties" in reps.columns else [None] * len(reps):
        named = {lower[s.lower()] for s in specialty_list(spec) if s.lower() in lower}
        chosen.append(named.pop() if len(named) == 1 else None)
    total = sum(max(v, 0.0) for v in totals.values()) or 1.0
    share = {s: max(totals.get(s, 0.0), 0.0) / total for s in segment_values}
    count = {s: sum(1 for c in chosen if c == s) for s in segment_values}
    free = [i for i, c in enumerate(chosen) if c is None]
    notes = []
    for i in free:
        k = sum(count.values()) + 1
        # a segment with units and no rep first, then the largest shortfall
        empty = [s for s in segment_values if count[s] == 0 and share[s] > 0]
        pick = empty[0] if empty else max(segment_values, key=lambda s: share[s] * k - count[s])
        chosen[i] = pick
        count[pick] += 1
    if free:
        notes.append(
            f"{len(free)} reps name no single segment among their specialties; they were "
            "given segments in proportion to the segments' shares of the first balanced measure"
        )
    return [str(c) for c in chosen], notes


def _pairs_frame(pairs: Pairs, unit_of: pd.Series, what: str) -> pd.DataFrame:
    """``(account id, territory)`` pairs as an ``id,territory`` frame over units."""
    df = pd.DataFrame(pairs, columns=["account", "territory"]).astype(str)
    unknown = sorted(set(df["account"]) - set(unit_of.index))
    if unknown:
        raise ConfigError(
            f"{len(unknown)} accounts in {what} are not designed accounts (unknown or "
            f"without a location): {', '.join(map(repr, unknown[:5]))}"
        )
    df["id"] = unit_of.loc[df["account"]].to_numpy()
    clash = df.groupby("id")["territory"].nunique()
    if (clash > 1).any():
        unit = clash[clash > 1].index[0]
        raise ConfigError(
            f"{what}: accounts of unit {unit!r} name different territories; with --unit "
            "other than account every account of a unit must agree"
        )
    return df.drop_duplicates("id")[["id", "territory"]]


def account_units(
    accounts: pd.DataFrame, *, unit: str = "account", h3_resolution: int = 6
) -> pd.Series:
    """Unit id of every account (index: account id): itself, its postal code or its H3 cell."""
    ids = accounts["id"].astype(str)
    if unit in ("account", "accounts"):
        return pd.Series(ids.values, index=ids.values)
    if unit == "postal_code":
        pc = accounts["postal_code"].astype("string").fillna("").str.strip()
        country = (
            accounts.get("country", pd.Series("", index=accounts.index)).astype("string").fillna("")
        )
        key = np.where(
            pc != "", (country + ":" + pc).to_numpy(dtype=str), "account:" + ids.to_numpy(dtype=str)
        )
        return pd.Series(key, index=ids.values)
    if unit == "h3":
        import h3

        cells = [
            h3.latlng_to_cell(float(lat), float(lon), h3_resolution)
            for lat, lon in zip(accounts["latitude"], accounts["longitude"], strict=True)
        ]
        return pd.Series(cells, index=ids.values)
    raise ConfigError(f"unit must be account, postal_code, h3 or county, got {unit!r}")


def aggregate_units(
    accounts: pd.DataFrame, unit_of: pd.Series, measures: Sequence[str]
) -> pd.DataFrame:
    """Sum measures per unit; location = the account-count-weighted centroid."""
    df = accounts[["latitude", "longitude", *measures]].copy()
    df["unit"] = unit_of.loc[accounts["id"].astype(str)].to_numpy()
    grouped = df.groupby("unit", sort=True)
    out = grouped[list(measures)].sum()
    out["lat"] = grouped["latitude"].mean()
    out["lon"] = grouped["longitude"].mean()
    out = out.reset_index().rename(columns={"unit": "id"})
    return out[["id", "lat", "lon", *measures]]


def build_store_problem(
    engine: Any,
    options: StoreDesignOptions,
    *,
    territory_roles: Sequence[str] | None = None,
    capacity: Any = None,
) -> StoreProblem:
    """The design problem of the store's accounts and reps for ``options``: the one
    problem builder of the CLI (``design --from-store``), the API and the workspace.

    * **Territories** are anchored at the home of every active rep whose role carries a
      territory (``territory_roles``, default the setting ``territory_roles``; reps with
      ``max_accounts`` 0 carry none); territory ids are rep ids. ``options.territories``
      lists reps instead, or gives a count: equal to those reps, it is them; otherwise
      the engine chooses centres and territories have no rep (``T001``...).
    * **Measures**: ``accounts`` (count), numeric account columns (``annual_revenue``)
      and scores (``potential`` dollars/year, ``workload_hours`` hours/year).
    * **Capacity**: with ``options.capacity`` each rep's ``max_accounts`` is an upper
      limit on their territory's ``accounts`` and ``capacity_hours`` (per week) x
      ``weeks_per_year`` x ``utilisation`` (the scoring configuration's ``capacity``,
      the same numbers ``territorial score`` and ``territorial capacity`` use) an upper
      limit on its ``workload_hours``; ``max_totals``/``min_totals`` add absolute limits.
    * **Specialties** restrict where accounts may go (never lock): an account whose
      industry some anchored reps specialise in may only go to those reps.
    * **Current plan**: a stored plan (``current_plan``: id or ``"active"``) or pairs;
      its locked accounts stay locked with ``keep_locks``; territories no longer in the
      design leave their accounts free.
    """
    import warnings

    from territorial.domain.staffing import carries_territory

    if territory_roles is None:
        from territorial.settings import load_settings

        territory_roles = load_settings().territory_role_names
    if capacity is None:
        from territorial.scoring import load_config

        capacity = load_config(None).capacity
    notes: list[str] = []
    accounts, reps, scores = _read_store(engine)
    if accounts.empty:
        raise NotFoundError("the store has no accounts; import some first (territorial import)")

    # --- territories: which reps carry one --------------------------------------------------
    reps = reps.copy()
    reps["id"] = reps["id"].astype(str)
    active = reps["active"].fillna(False).astype(bool) if "active" in reps.columns else True
    located_rep = reps["home_latitude"].notna() & reps["home_longitude"].notna()
    anchored: pd.DataFrame | None
    n_territories: int | None = None
    if isinstance(options.territories, list):
        by_id = reps.set_index("id")
        missing = [r for r in options.territories if r not in by_id.index]
        if missing:
            raise NotFoundError(f"no rep {', '.join(map(repr, missing[:5]))} in the store")
        anchored = by_id.loc[options.territories].reset_index()
        off = anchored[~anchored["active"].fillna(False).astype(bool)]["id"].tolist()
        if off:
            raise ConfigError(f"reps {', '.join(map(repr, off[:5]))} are not active")
        nowhere = anchored[anchored["home_latitude"].isna() | anchored["home_longitude"].isna()]
        if len(nowhere):
            raise ConfigError(
                f"reps {', '.join(map(repr, nowhere['id'].tolist()[:5]))} have no home "
                "location (home_latitude/home_longitude) to anchor a territory"
            )
    else:
        carriers = reps[active & carries_territory(reps, territory_roles)]
        skipped = int((active & ~carries_territory(reps, territory_roles)).sum())
        if skipped:
            notes.append(
                f"{skipped} active reps carry no territory (role not in territory_roles "
                f"{', '.join(territory_roles)}, or max_accounts 0)"
            )
        unlocated = carriers[carriers["home_latitude"].isna() | carriers["home_longitude"].isna()]
        if len(unlocated):
            notes.append(
                f"{len(unlocated)} reps who carry territories have no home location and were "
                f"left out: {', '.join(unlocated['id'].tolist()[:5])}"
            )
        anchored = carriers[carriers["id"].isin(reps[located_rep]["id"])].reset_index(drop=True)
        if isinstance(options.territories, int) and options.territories != len(anchored):
            notes.append(
                f"{options.territories} territories asked and {len(anchored)} reps carry one: "
                "the engine chooses the centres; territories get no rep (T001...)"
            )
            n_territories = options.territories
            anchored = None
        elif anchored.empty:
            raise NotFoundError(
                "no active rep carries a territory: none has a role among "
                f"{', '.join(territory_roles)} (setting territory_roles), a home location "
                "and max_accounts above 0"
            )
    if anchored is None:
        for flag, given in (("--specialties", options.specialties),):
            if given:
                raise ConfigError(
                    f"{flag} needs territories carried by reps; with a territory count that "
                    "differs from the reps, there are none (list reps or drop the count)"
                )
    elif options.segment_territories:
        raise ConfigError(
            "--segment-territories gives counts for territories without reps; with reps, "
            "each rep's segment comes from their specialties (or give --territories N)"
        )

    # --- accounts and measures --------------------------------------------------------------
    located = accounts["latitude"].notna() & accounts["longitude"].notna()
    if not located.all():
        warnings.warn(
            f"{int((~located).sum())} accounts have no location and are left out of the design",
            UserWarning,
            stacklevel=2,
        )
    accounts = accounts[located].reset_index(drop=True)
    if accounts.empty:
        raise NotFoundError("no account has a location (latitude/longitude) to design with")
    accounts["id"] = accounts["id"].astype(str)
    weight = options.weight_measure
    has_workload = scores is not None and WORKLOAD_MEASURE in scores.columns
    want_capacity = options.capacity and anchored is not None
    wanted = list(
        dict.fromkeys(
            [
                COUNT_MEASURE,
                *options.balance,
                *options.max_totals,
                *options.min_totals,
                *([weight] if weight else []),
                *([WORKLOAD_MEASURE] if want_capacity and has_workload else []),
            ]
        )
    )
    accounts = _measure_columns(accounts, scores, wanted)
    if want_capacity and not has_workload:
        notes.append(
            "reps' capacity_hours are not applied: no workload_hours (run territorial score)"
        )

    if options.unit != "account":
        for flag, given in (
            ("--specialties", options.specialties),
            ("--segment", options.segment),
        ):
            if given:
                raise ConfigError(
                    f"{flag} works on accounts; --unit {options.unit} groups accounts of "
                    "different industries and segments (use --unit account)"
                )
    edges_df = None
    if options.unit in AREA_UNITS:  # territories made of counties, contiguous on real borders
        from territorial.design.areas import county_units

        k = len(anchored) if anchored is not None else n_territories
        if k is None:
            raise ConfigError("--unit county needs reps with homes or --territories N")
        areas = county_units(accounts, measures=wanted, n_territories=int(k))
        unit_of = areas.account_unit
        units_df = areas.units[["id", "lat", "lon", *wanted]]
        edges_df = areas.edges_frame()[["a", "b", "length"]]
    elif options.unit == "account":
        unit_of = account_units(accounts, unit="account")
        units_df = accounts[["id", "latitude", "longitude", *wanted]].rename(
            columns={"latitude": "lat", "longitude": "lon"}
        )
    else:
        unit_of = account_units(accounts, unit=options.unit, h3_resolution=options.h3_resolution)
        units_df = aggregate_units(accounts, unit_of, wanted)

    segment_totals: dict[str, float] = {}
    if options.segment is not None:
        if options.segment not in accounts.columns:
            raise ConfigError(
                f"segment column {options.segment!r} is not an account column "
                f"({', '.join(c for c in accounts.columns if c not in wanted)})"
            )
        seg = accounts[options.segment].astype("string").fillna("(none)").str.strip()
        units_df = units_df.assign(**{options.segment: seg.to_numpy()})
        first = next(iter(options.balance), COUNT_MEASURE)
        segment_totals = accounts.groupby(seg.to_numpy())[first].sum().to_dict()

    centers_df = None
    if anchored is not None:
        centers_df = pd.DataFrame(
            {
                "id": anchored["id"].astype(str),
                "lat": anchored["home_latitude"].astype(float),
                "lon": anchored["home_longitude"].astype(float),
            }
        )
        if options.segment is not None:
            rep_seg, seg_notes = _rep_segments(anchored, sorted(segment_totals), segment_totals)
            centers_df["segment"] = rep_seg
            notes.extend(seg_notes)
    territory_ids = centers_df["id"].tolist() if centers_df is not None else None

    # --- current plan and locks ---------------------------------------------------------------
    current_df = locked_df = None
    current_plan_id: int | None = None
    if options.current_plan is not None and options.current is not None:
        raise ConfigError("give the current plan once: --current FILE or --current-plan ID")
    known_tids = set(territory_ids) if territory_ids is not None else None
    if options.current_plan is not None:
        from territorial.store.plans import load_plan

        if options.current_plan == "active":
            from territorial.planning.ownership import active_plan_id

            current_plan_id = active_plan_id(engine)
            if current_plan_id is None:
                raise NotFoundError("there is no active plan to start from")
        else:
            current_plan_id = int(options.current_plan)
        stored = load_plan(engine, plan_id=current_plan_id)["assignments"]
        stored = stored[stored["account_id"].astype(str).isin(unit_of.index)]
        pairs = list(
            zip(stored["account_id"].astype(str), stored["territory_id"].astype(str), strict=True)
        )
        locked_pairs = [
            p
            for p, lk in zip(pairs, stored["locked"].fillna(False).astype(bool), strict=True)
            if lk
        ]
        current_df = _current_frame(pairs, unit_of, known_tids, notes, f"plan {current_plan_id}")
        if options.keep_locks and locked_pairs:
            locked_df = _current_frame(
                locked_pairs, unit_of, known_tids, notes, f"locks of plan {current_plan_id}"
            )
    elif options.current is not None:
        current_df = _pairs_frame(options.current, unit_of, "the current plan")
    if options.locked is not None:
        given = _pairs_frame(options.locked, unit_of, "the locked accounts")
        locked_df = (
            given
            if locked_df is None
            else pd.concat([given, locked_df]).drop_duplicates("id", keep="first")
        )
    if options.max_moves is not None and current_df is None:
        raise ConfigError(
            "--max-moves needs a current plan: --current-plan ID (or active) or --current FILE"
        )
    allowed_df = (
        _pairs_frame(options.allowed, unit_of, "the allowed list")
        if options.allowed is not None
        else None
    )

    problem = problem_from_frames(
        units_df,
        balance=[Balance(m, t) for m, t in options.balance.items()],
        objective=options.objective,
        weight=weight,
        n_territories=n_territories,
        centers_df=centers_df,
        edges_df=edges_df,
        contiguity=edges_df is not None,
        current_df=current_df,
        locked_df=locked_df,
        allowed_df=allowed_df,
        max_moves=options.max_moves,
        move_penalty=options.move_penalty,
        segment=options.segment,
        segment_territories=options.segment_territories,
        length_unit="mi" if options.unit in AREA_UNITS else "length",
    )
    restricted: dict[str, np.ndarray] = {}
    if problem.allowed is not None:
        restricted["allowed"] = ~problem.allowed.all(axis=1)

    # --- specialties: allowed territories, never locks ----------------------------------------
    changes: dict[str, Any] = {}
    if options.specialties and anchored is not None:
        allowed, special_rows, spec_notes = _specialty_allowed(accounts, anchored, problem)
        notes.extend(spec_notes)
        if allowed is not None:
            restricted["specialty"] = special_rows
            changes["allowed"] = allowed if problem.allowed is None else allowed & problem.allowed

    # --- limits: rep capacity and absolute limits ----------------------------------------------
    limits = _limits(problem, anchored, options, capacity, want_capacity and has_workload, notes)
    if limits:
        changes["limits"] = limits
    if changes:
        problem = problem.with_changes(**changes)
    return StoreProblem(
        problem=problem,
        account_units=unit_of,
        weight=weight,
        current_plan_id=current_plan_id,
        restricted=restricted,
        notes=tuple(notes),
    )


def _current_frame(
    pairs: Pairs,
    unit_of: pd.Series,
    known: set[str] | None,
    notes: list[str],
    what: str,
) -> pd.DataFrame | None:
    """A stored plan's pairs over the design's units; territories no longer designed
    (a rep who left, territories without reps) leave their accounts unassigned."""
    if not pairs:
        return None
    df = pd.DataFrame(pairs, columns=["account", "territory"])
    df["id"] = unit_of.loc[df["account"]].to_numpy()
    if known is not None:
        gone = ~df["territory"].isin(known)
        if gone.any():
            notes.append(
                f"{int(gone.sum())} accounts of {what} belong to territories not in this "
                f"design ({', '.join(sorted(set(df.loc[gone, 'territory']))[:5])}); they start free"
            )
            df = df[~gone]
    else:
        notes.append(f"{what}: territories without reps cannot start from it; all start free")
        return None
    df = df.drop_duplicates("id")
    return df[["id", "territory"]] if len(df) else None


def _specialty_allowed(
    accounts: pd.DataFrame, anchored: pd.DataFrame, problem: DesignProblem
) -> tuple[np.ndarray | None, np.ndarray, list[str]]:
    """``(n, k)`` allowed matrix from industry specialties: an account whose industry some
    anchored reps specialise in may only go to them. Returns the matrix (``None`` when no
    account is restricted), which units are restricted, and notes."""
    n, k = problem.n_units, problem.n_territories
    if "industry" not in accounts.columns:
        return None, np.zeros(n, dtype=bool), ["--specialties: accounts have no industry column"]
    tpos = {t: j for j, t in enumerate(problem.territory_ids)}
    specialists: dict[str, list[int]] = {}
    for rid, spec in zip(
        anchored["id"].astype(str), anchored.get("specialties", [None] * len(anchored)), strict=True
    ):
        for name in specialty_list(spec):
            specialists.setdefault(name.lower(), []).append(tpos[rid])
    industry = accounts.set_index("id")["industry"].astype("string").str.strip().str.lower()
    industry = industry.reindex(problem.unit_ids.tolist())
    allowed = np.ones((n, k), dtype=bool)
    restricted = np.zeros(n, dtype=bool)
    for name, cols in specialists.items():
        rows = np.flatnonzero((industry == name).fillna(False).to_numpy(bool))
        if rows.size:
            allowed[rows] = False
            allowed[np.ix_(rows, cols)] = True
            restricted[rows] = True
    notes = []
    if restricted.any():
        notes.append(
            f"--specialties: {int(restricted.sum()):,} accounts may only go to reps "
            f"specialised in their industry ({len(specialists)} specialties)"
        )
    else:
        notes.append("--specialties: no account's industry is a specialty of a rep")
    return (allowed if restricted.any() else None), restricted, notes


def _limits(
    problem: DesignProblem,
    anchored: pd.DataFrame | None,
    options: StoreDesignOptions,
    capacity: Any,
    hours: bool,
    notes: list[str],
) -> tuple[Limit, ...]:
    """Upper limits from reps' capacity and absolute ``--max``/``--min`` limits."""
    from territorial.domain.staffing import yearly_hours

    k = problem.n_territories
    upper: dict[str, np.ndarray] = {}
    lower: dict[str, np.ndarray] = {}
    if options.capacity and anchored is not None:
        if "max_accounts" in anchored.columns:
            cap = pd.to_numeric(anchored["max_accounts"], errors="coerce").to_numpy(float)
            cap = np.where(cap > 0, cap, np.nan)
            if np.isfinite(cap).any():
                upper[COUNT_MEASURE] = cap
        if hours:
            yearly = yearly_hours(
                anchored.get("capacity_hours"),
                weeks_per_year=capacity.weeks_per_year,
                utilisation=capacity.utilisation,
                default_weekly=capacity.hours_per_week,
            )
            upper[WORKLOAD_MEASURE] = yearly
            notes.append(
                f"capacity: each rep's workload_hours at most capacity_hours/week x "
                f"{capacity.weeks_per_year:g} weeks x utilisation {capacity.utilisation:g} "
                f"({np.nanmin(yearly):,.0f}-{np.nanmax(yearly):,.0f} h/yr); accounts at most "
                "max_accounts"
            )
    for name, value in options.max_totals.items():
        upper[name] = np.fmin(upper.get(name, np.full(k, np.nan)), np.full(k, value))
    for name, value in options.min_totals.items():
        lower[name] = np.full(k, value)
    for name, up in upper.items():
        if name not in problem.measure_names or np.isnan(up).any():
            continue
        total = float(problem.measures[:, problem.measure_names.index(name)].sum())
        if up.sum() < total:
            source = (
                "the reps' capacity (capacity_hours/week x weeks x utilisation)"
                if name == WORKLOAD_MEASURE and name not in options.max_totals
                else "their maximums"
            )
            raise InfeasibleError(
                f"the {k} territories can carry at most {up.sum():,.6g} {name} in total by "
                f"{source}, but the accounts total {total:,.6g} "
                f"({total / up.sum():.0%} of it); add reps, raise the limits or design "
                "with --no-capacity"
            )
    out = []
    for name in dict.fromkeys([*upper, *lower]):
        if name not in problem.measure_names:
            raise ConfigError(
                f"cannot limit {name!r}: the measures are {', '.join(problem.measure_names)}"
            )
        out.append(Limit(name, lower=lower.get(name), upper=upper.get(name)))
    return tuple(out)


def problem_from_store(
    engine: Any,
    *,
    measures: Sequence[str] = ("accounts", "annual_revenue"),
    tolerance: float = 0.05,
    objective: str = "inertia",
    weight: str | None = None,
    unit: str = "account",
    h3_resolution: int = 6,
    specialties: bool = False,
    current_plan_id: int | None = None,
    max_moves: int | None = None,
) -> tuple[DesignProblem, pd.Series]:
    """Shorthand of :func:`build_store_problem`: every measure at one ``tolerance``;
    returns ``(problem, account_units)``. ``weight=None`` keeps every unit at 1."""
    options = StoreDesignOptions.parse(
        {
            "balance": {m: tolerance for m in measures},
            "objective": objective,
            "weight": weight or "none",
            "unit": unit,
            "h3_resolution": h3_resolution,
            "specialties": specialties,
            "current_plan": current_plan_id,
            "max_moves": max_moves,
        }
    )
    built = build_store_problem(engine, options)
    return built.problem, built.account_units


# --- territories made of areas -------------------------------------------------------------
#: ``unit`` values that design on counties (split where heavy) with contiguity.
AREA_UNITS = ("county", "counties")


def area_problem(
    accounts: pd.DataFrame,
    *,
    measures: Sequence[str],
    tolerance: float,
    objective: str = "inertia",
    weight: str | None = None,
    centers_df: pd.DataFrame | None = None,
    n_territories: int | None = None,
    current_df: pd.DataFrame | None = None,
    max_moves: int | None = None,
) -> tuple[DesignProblem, pd.Series]:
    """A contiguous design problem on counties (split where heavy) from located accounts.

    ``accounts`` has ``id``, ``latitude``, ``longitude`` and the ``measures``
    (:func:`territorial.design.areas.county_units` builds the units and their
    real-border adjacency). Territories are the ``centers_df`` rows (rep homes) or
    ``n_territories`` free ones. ``current_df`` (``id``, ``territory`` per account)
    becomes each unit's current territory: the one holding most of its accounts.
    Returns the problem and the unit of every account (index: account id).
    """
    from territorial.design.areas import county_units

    k = len(centers_df) if centers_df is not None else n_territories
    if k is None:
        raise ConfigError("give the number of territories or the centers")
    areas = county_units(accounts, measures=list(measures), n_territories=k)
    unit_of = areas.account_unit
    units_df = areas.units[["id", "lat", "lon", *measures]]
    current_units = None
    if current_df is not None:
        cur = current_df.assign(id=current_df["id"].astype(str))
        cur = cur.assign(unit=unit_of.reindex(cur["id"]).to_numpy()).dropna(subset=["unit"])
        if centers_df is not None:
            cur = cur[cur["territory"].astype(str).isin(centers_df["id"].astype(str))]
        majority = cur.groupby(["unit", "territory"]).size().reset_index(name="n")
        majority = majority.sort_values(["unit", "n"], ascending=[True, False])
        current_units = majority.drop_duplicates("unit")[["unit", "territory"]].rename(
            columns={"unit": "id"}
        )
    edges = areas.edges_frame()
    problem = problem_from_frames(
        units_df,
        balance=[Balance(m, tolerance) for m in measures],
        objective=objective,
        weight=weight,
        n_territories=None if centers_df is not None else k,
        edges_df=edges[["a", "b", "length"]],
        length_unit="mi",
        contiguity=True,
        centers_df=centers_df,
        current_df=current_units,
        max_moves=max_moves,
    )
    return problem, unit_of


__all__ = [
    "AREA_UNITS",
    "DEFAULT_BALANCE",
    "StoreDesignOptions",
    "StoreProblem",
    "account_units",
    "aggregate_units",
    "area_problem",
    "build_store_problem",
    "parse_measure_values",
    "problem_from_frames",
    "problem_from_store",
    "split_territories",
]
