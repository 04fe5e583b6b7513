"""Quotas, performance, signals and goals over the REST API: the same figures as the CLI
and the workspace, from the same library functions (:mod:`territorial.goals`)."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from territorial.api.deps import EngineDep, SettingsDep, TokenDep, reject_unknown_query
from territorial.api.errors import ERROR_RESPONSES

router = APIRouter(
    prefix="/api",
    responses=ERROR_RESPONSES,
    dependencies=[Depends(reject_unknown_query)],
    tags=["goals and performance"],
)

Format = Literal["json", "csv", "xlsx"]
_MEDIA_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": _MEDIA_XLSX}


#: The content types of a table answer (``format=json|csv|xlsx``), for the OpenAPI.
TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}, _MEDIA_XLSX: {}}}
}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (NaN as null, numpy scalars as Python values)."""
    out = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            if isinstance(value, date):
                value = value.isoformat()
            clean[str(key)] = value
        out.append(clean)
    return out


def table_answer(frame: pd.DataFrame, fmt: str, name: str) -> Any:
    if fmt == "json":
        return {
            "rows": records(frame),
            "count": len(frame),
            **{k: v for k, v in frame.attrs.items()},
        }
    from territorial.goals.export import table_bytes

    return Response(
        content=table_bytes(frame, fmt=fmt, sheet=name),
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


class QuotaRequest(BaseModel):
    """Split ``target`` dollars over the territories of ``plan_id`` for ``period``."""

    model_config = ConfigDict(extra="forbid")
    plan_id: int = Field(ge=1, le=2**31 - 1)
    target: float = Field(gt=0, le=1e15, description="company target, dollars")
    period: str = Field(max_length=16, description="FY2027, 2027-Q1 or 2027-03")
    method: Literal["potential", "history", "blend"] = "potential"
    potential_weight: float = Field(default=0.5, ge=0, le=1000)
    history_weight: float = Field(default=0.5, ge=0, le=1000)
    growth_cap: float = Field(default=0.5, ge=0, le=10)
    floor: float | None = Field(default=None, ge=0, le=1e15)
    cap: float | None = Field(default=None, gt=0, le=1e15)
    ramp: list[float] = Field(
        default=[0.25, 0.5, 0.75], max_length=36, description="fractions 0-1 per month since start"
    )
    fiscal_start_month: int = Field(default=1, ge=1, le=12)
    save: bool = True


class GoalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["rep", "territory"]
    subject_id: str = Field(min_length=1, max_length=128)
    metric: str = Field(max_length=32)
    target: float = Field(ge=0, le=1e15)
    note: str | None = Field(default=None, max_length=2000)


def _quota_answer(result: Any, quota_set_id: int | None) -> dict[str, Any]:
    return {
        "quota_set_id": quota_set_id,
        "plan_id": result.plan_id,
        "period": result.period.label,
        "target": result.target,
        "options": result.options.to_dict(),
        "explanation": result.explanation,
        "fairness": {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in result.fairness.items()
        }
        | {"outliers": records(pd.DataFrame(result.fairness["outliers"]))},
        "quotas": records(result.quotas),
        "monthly": records(result.monthly),
    }


@router.post("/quotas")
def create_quotas(body: QuotaRequest, engine: EngineDep, principal: TokenDep) -> dict[str, Any]:
    """Quotas per territory (and the monthly phasing), stored as a new version."""
    from territorial.goals.quotas import QuotaOptions, plan_quotas, save_quotas

    options = QuotaOptions(
        method=body.method,
        potential_weight=body.potential_weight,
        history_weight=body.history_weight,
        growth_cap=body.growth_cap,
        floor=body.floor,
        cap=body.cap,
        ramp=tuple(body.ramp),
        fiscal_start_month=body.fiscal_start_month,
    )
    result = plan_quotas(
        engine, target=body.target, period=body.period, plan_id=body.plan_id, options=options
    )
    saved = save_quotas(engine, result=result, created_by=principal.name) if body.save else None
    return _quota_answer(result, saved)


@router.get("/quotas")
def list_quotas(
    engine: EngineDep, _: TokenDep, period: Annotated[str | None, Query(max_length=16)] = None
) -> list[dict[str, Any]]:
    """Every stored quota set, newest first (versions are never deleted)."""
    from territorial.store.goals import list_quota_sets

    return records(pd.DataFrame(list_quota_sets(engine, period=period)))


@router.get("/quotas/{quota_set_id}", responses=TABLE_RESPONSES)
def get_quotas(
    quota_set_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    engine: EngineDep,
    _: TokenDep,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """One quota set: its header, territories and monthly phasing (CSV/XLSX: territories)."""
    from territorial.store.goals import get_quota_set, read_quota_months, read_quota_rows

    header = get_quota_set(engine, quota_set_id=quota_set_id)
    rows = read_quota_rows(engine, quota_set_id=quota_set_id)
    if format != "json":
        return table_answer(rows, format, f"quotas_{quota_set_id}")
    months = read_quota_months(engine, quota_set_id=quota_set_id)
    return {
        **records(pd.DataFrame([header]))[0],
        "quotas": records(rows),
        "monthly": records(months),
    }


@router.get("/performance", responses=TABLE_RESPONSES)
async def get_performance(
    engine: EngineDep,
    settings: SettingsDep,
    _: TokenDep,
    by: Annotated[
        str,
        Query(max_length=16, description="rep, territory, segment, team, state, industry, product"),
    ] = "rep",
    grain: Annotated[str, Query(max_length=8, description="day, week, month or quarter")] = "month",
    start: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    end: Annotated[str | None, Query(alias="to", pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    quota_set: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """One row per group and period (see ``docs/goals.md`` for every column)."""
    from territorial.goals.performance import performance_table
    from territorial.goals.periods import parse_day

    frame = await run_in_threadpool(
        performance_table,
        engine,
        by=by,
        grain=grain,
        start=None if start is None else parse_day(start, option="from"),
        end=None if end is None else parse_day(end, option="to"),
        quota_set_id=quota_set,
        cache_dir=settings.home / "cache",
    )
    return table_answer(frame, format, f"performance_{by}_{grain}")


@router.get("/signals", responses=TABLE_RESPONSES)
async def get_signals(
    engine: EngineDep,
    settings: SettingsDep,
    _: TokenDep,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """Current signals: territories out of band, with figure, threshold and action."""
    from territorial.goals.signals import detect_signals

    frame = await run_in_threadpool(detect_signals, engine, cache_dir=settings.home / "cache")
    return table_answer(frame, format, "signals")


@router.get("/goals", responses=TABLE_RESPONSES)
async def get_goals(
    engine: EngineDep,
    settings: SettingsDep,
    _: TokenDep,
    progress: Annotated[bool, Query()] = False,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """Current goals; with ``progress=true`` their actual values this period and last."""
    from territorial.goals.smart import goal_progress
    from territorial.store.goals import list_goals

    if progress:
        frame = await run_in_threadpool(goal_progress, engine, cache_dir=settings.home / "cache")
    else:
        frame = pd.DataFrame(list_goals(engine))
    return table_answer(frame, format, "goals")


@router.post("/goals", status_code=201)
def create_goal(body: GoalRequest, engine: EngineDep, principal: TokenDep) -> dict[str, Any]:
    """A manager's goal for a rep or territory (the previous one is superseded, kept)."""
    from territorial.goals.smart import set_goal
    from territorial.store.goals import list_goals

    goal_id = set_goal(
        engine,
        scope=body.scope,
        subject_id=body.subject_id,
        metric=body.metric,
        target=body.target,
        note=body.note,
        created_by=principal.name,
    )
    goal = next(g for g in list_goals(engine, subject_id=body.subject_id) if g["id"] == goal_id)
    return records(pd.DataFrame([goal]))[0]


@router.get("/market", responses=TABLE_RESPONSES)
async def get_market(
    engine: EngineDep,
    settings: SettingsDep,
    _: TokenDep,
    by: Annotated[str, Query(max_length=16, description="territory, segment or state")] = (
        "territory"
    ),
    activity_days: Annotated[
        int, Query(description="white space: owned accounts untouched this many days")
    ] = 90,
    window_days: Annotated[int, Query(description="days of bookings, funnel, products")] = 365,
    table: Annotated[
        Literal["market", "funnel", "products"] | None,
        Query(description="one table only (default: all three; CSV: market)"),
    ] = None,
    format: Annotated[Format, Query()] = "json",
) -> Any:
    """The market per territory, segment or state (``docs/goals.md``): TAM/SAM, white
    space by reason, tiers, under-market flag; the lead-source funnel; the product mix."""
    from territorial.goals.export import tables_bytes
    from territorial.goals.market import check_market_options, market_by_territory

    check_market_options(by, activity_days, window_days)
    view = await run_in_threadpool(
        market_by_territory,
        engine,
        by=by,
        activity_days=activity_days,
        window_days=window_days,
        cache_dir=settings.home / "cache",
    )
    frames = view.tables()
    if table is not None:
        return table_answer(frames[table], format, f"market_{by}_{table}")
    if format == "csv":
        return table_answer(view.market, format, f"market_{by}")
    if format == "xlsx":
        return Response(
            content=tables_bytes(frames),
            media_type=_MEDIA_XLSX,
            headers={"Content-Disposition": f'attachment; filename="market_{by}.xlsx"'},
        )
    return {**view.attrs, **{name: records(frame) for name, frame in frames.items()}}
