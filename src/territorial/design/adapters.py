"""Adapters: build a :class:`DesignProblem` from data frames or from the store.

The solvers only see arrays; these functions turn tables (CSV files, notebooks, the
store's accounts and reps) into the arrays and call the array-level constructor.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from territorial.design.problem import Balance, DesignProblem, index_of
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
def _read_table(engine: Any, name: str) -> pd.DataFrame:
    try:
        from territorial.store import records

        reader = getattr(records, f"read_{name}", None)
        if reader is not None:
            out = reader(engine)
            return out if isinstance(out, pd.DataFrame) else pd.DataFrame(out)
    except ImportError:
        pass
    from sqlalchemy import inspect

    if not inspect(engine).has_table(name):
        raise NotFoundError(f"the store has no {name!r} table")
    return pd.read_sql_table(name, engine)


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
    """A design problem from the store's accounts and active reps.

    Territories are anchored at active reps' homes (fixed centers; rep ids are the
    territory ids). ``measures`` may name ``accounts`` (count), any numeric account
    column (``annual_revenue``, ``employees``) or a column of the scoring table
    ``account_scores`` when present (``potential``, ``workload_hours``). With
    ``specialties`` a rep whose specialties list industries only gets accounts of
    those industries (accounts of industries no rep specialises in go anywhere).
    ``unit`` aggregates accounts into postal codes or H3 cells for very large books,
    or (``"county"``) designs contiguous territories made of counties
    (:func:`area_problem`).

    Returns the problem and the unit id of every account (index: account id), which
    :func:`territorial.store.plans.save_plan` uses to store per-account assignments.
    """
    accounts = _read_table(engine, "accounts")
    reps = _read_table(engine, "reps")
    if accounts.empty:
        raise NotFoundError("the store has no accounts; import some first")
    reps = reps[reps["active"].astype(bool)] if "active" in reps.columns else reps
    reps = reps.dropna(subset=["home_latitude", "home_longitude"])
    if reps.empty:
        raise NotFoundError("no active rep has a home location (home_latitude/home_longitude)")
    located = accounts.dropna(subset=["latitude", "longitude"])
    if len(located) < len(accounts):
        warnings.warn(
            f"{len(accounts) - len(located)} accounts have no location and are left out "
            "of the design",
            UserWarning,
            stacklevel=2,
        )
    accounts = located.copy()
    accounts["accounts"] = 1.0
    try:
        scores = _read_table(engine, "account_scores")
    except NotFoundError:
        scores = None
    for mname in measures:
        if mname in accounts.columns:
            continue
        if scores is not None and mname in scores.columns:
            key = "account_id" if "account_id" in scores.columns else "id"
            accounts = accounts.merge(
                scores[[key, mname]].rename(columns={key: "id"}), on="id", how="left"
            )
            continue
        raise ConfigError(f"measure {mname!r} is neither an account column nor a score")
    for mname in measures:
        accounts[mname] = pd.to_numeric(accounts[mname], errors="coerce").fillna(0.0)
    centers_df = pd.DataFrame(
        {"id": reps["id"].astype(str), "lat": reps["home_latitude"], "lon": reps["home_longitude"]}
    )
    if unit in AREA_UNITS:  # territories made of counties: see area_problem
        if specialties:
            raise ConfigError(
                "--specialties works on account units only: a county holds accounts of "
                "every industry (use --unit account)"
            )
        current_df = None
        if current_plan_id is not None:
            from territorial.store.plans import load_plan

            cur = load_plan(engine, plan_id=current_plan_id)["assignments"]
            current_df = cur.rename(columns={"account_id": "id", "territory_id": "territory"})
        return area_problem(
            accounts,
            measures=measures,
            tolerance=tolerance,
            objective=objective,
            weight=weight,
            centers_df=centers_df,
            current_df=current_df,
            max_moves=max_moves,
        )
    unit_of = account_units(accounts, unit=unit, h3_resolution=h3_resolution)
    units_df = aggregate_units(accounts, unit_of, list(measures))
    allowed_df = None
    if specialties and unit == "account" and "industry" in accounts.columns:
        rows = []
        spec = {r.id: set(r.specialties or []) for r in reps.itertuples() if r.specialties}
        covered = set().union(*spec.values()) if spec else set()
        for acc in accounts.itertuples():
            if acc.industry in covered:
                for rid, inds in spec.items():
                    if acc.industry in inds:
                        rows.append((str(acc.id), str(rid)))
        allowed_df = pd.DataFrame(rows, columns=["id", "territory"]) if rows else None
    current_df = None
    if current_plan_id is not None:
        from territorial.store.plans import load_plan

        cur = load_plan(engine, plan_id=current_plan_id)["assignments"]
        cur = cur.rename(columns={"account_id": "id", "territory_id": "territory"})
        cur["id"] = unit_of.reindex(cur["id"].astype(str)).to_numpy()
        cur = cur.dropna(subset=["id"]).drop_duplicates("id")
        cur = cur[cur["territory"].isin(centers_df["id"])]
        current_df = cur[["id", "territory"]]
    problem = problem_from_frames(
        units_df,
        balance=[Balance(m, tolerance) for m in measures],
        objective=objective,
        weight=weight,
        centers_df=centers_df,
        current_df=current_df,
        allowed_df=allowed_df,
        max_moves=max_moves,
    )
    return problem, unit_of


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
        contiguity=True,
        centers_df=centers_df,
        current_df=current_units,
        max_moves=max_moves,
    )
    return problem, unit_of


__all__ = [
    "AREA_UNITS",
    "account_units",
    "aggregate_units",
    "area_problem",
    "problem_from_frames",
    "problem_from_store",
    "split_territories",
]
