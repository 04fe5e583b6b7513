"""Workspace pages for goals and performance: the leader's standings of every territory,
a manager's team, a rep's own number, goals and trend; CSV/XLSX downloads and trend
charts (SVG drawn on the server). Figures come from :mod:`territorial.goals`.

Who sees what follows :func:`territorial.web.auth.visible_territories`: admins and
planners everything, a manager their team, a rep themself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from territorial.errors import PermissionDeniedError
from territorial.web import auth
from territorial.web.routes import PREFIX, EngineDep, SessionDep, _page, _WorkspaceRoute

router = APIRouter(prefix=PREFIX, route_class=_WorkspaceRoute, include_in_schema=False)


def _cache(request: Request) -> Any:
    settings = getattr(request.app.state, "settings", None)
    return None if settings is None else settings.home / "cache"


def _rows(frame: Any) -> list[dict[str, Any]]:
    from territorial.api.goals import records

    return records(frame)


def _view(engine: Any, session: Any, request: Request, team: str | None) -> dict[str, Any]:
    """Standings for the caller: every territory (leader), a team's reps (manager)."""
    from territorial.goals.standings import standings

    user = session.user
    visible = auth.visible_territories(engine, user)
    if visible is None and team is None:
        frame = standings(engine, by="territory", cache_dir=_cache(request))
        return {"level": "leader", "by": "territory", "frame": frame, "team": None}
    if visible is None:
        from sqlalchemy import select

        from territorial.store.tables import reps

        with engine.connect() as conn:
            members = conn.execute(select(reps.c.id).where(reps.c.manager_id == team)).scalars()
            keys = frozenset({team, *members})
    else:
        if user.role == "rep":
            raise PermissionDeniedError("a rep sees their own page")
        keys = visible
        team = user.rep_id
    frame = standings(engine, by="rep", keys=keys, cache_dir=_cache(request))
    return {"level": "manager", "by": "rep", "frame": frame, "team": team}


@router.get("/performance")
def performance_page(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    team: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    user = session.user
    if user.role == "rep":
        if not user.rep_id:
            raise PermissionDeniedError("your user is not linked to a rep")
        return RedirectResponse(f"{PREFIX}/performance/rep/{user.rep_id}", status_code=303)
    view = _view(engine, session, request, team)
    frame = view["frame"]
    from territorial.goals.signals import detect_signals

    signals = detect_signals(engine, cache_dir=_cache(request))
    if view["by"] == "rep":
        signals = signals[signals["rep_id"].isin(set(frame["key"]))]
    counts = signals.groupby("territory_id" if view["by"] == "territory" else "rep_id").size()
    rows = _rows(frame)
    for row in rows:
        row["signals"] = int(counts.get(row["key"], 0))
    return _page(
        request,
        "performance.html",
        session,
        nav="performance",
        view=view,
        rows=rows,
        attrs=frame.attrs,
        signals=_rows(signals.head(50)),
    )


@router.get("/performance/rep/{rep_id}")
def rep_page(request: Request, rep_id: str, engine: EngineDep, session: SessionDep) -> Response:
    from territorial.goals.smart import goal_progress
    from territorial.goals.standings import monthly_trend, standings

    visible = auth.visible_territories(engine, session.user)
    if visible is not None and rep_id not in visible:
        raise PermissionDeniedError(f"you may not see rep {rep_id}'s numbers")
    standing = standings(engine, by="rep", keys=frozenset({rep_id}), cache_dir=_cache(request))
    progress = goal_progress(engine, cache_dir=_cache(request))
    progress = progress[(progress["scope"] == "rep") & (progress["subject_id"] == rep_id)]
    trend = monthly_trend(engine, by="rep", key=rep_id, cache_dir=_cache(request))
    return _page(
        request,
        "performance_rep.html",
        session,
        nav="performance",
        rep_id=rep_id,
        standing=(_rows(standing) or [None])[0],
        attrs=standing.attrs,
        goals=_rows(progress),
        trend=_rows(trend),
    )


@router.get("/performance/trend.svg")
def trend_chart(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    key: Annotated[str, Query(max_length=128)],
    by: Annotated[Literal["rep", "territory"], Query()] = "rep",
) -> Response:
    from territorial.goals.standings import monthly_trend, trend_svg

    visible = auth.visible_territories(engine, session.user)
    if visible is not None and (by != "rep" or key not in visible):
        raise PermissionDeniedError(f"you may not see {by} {key}'s numbers")
    trend = monthly_trend(engine, by=by, key=key, cache_dir=_cache(request))
    svg = trend_svg(trend, title=f"{by} {key}: monthly bookings and quota")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/performance/standings.{fmt}")
def standings_download(
    request: Request,
    fmt: Literal["csv", "xlsx"],
    engine: EngineDep,
    session: SessionDep,
    team: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    from territorial.api.goals import table_answer

    if session.user.role == "rep":
        from territorial.goals.standings import standings

        frame = standings(
            engine, by="rep", keys=frozenset({session.user.rep_id or ""}), cache_dir=_cache(request)
        )
    else:
        frame = _view(engine, session, request, team)["frame"]
    return table_answer(frame, fmt, "standings")


def _market(
    engine: Any, session: Any, request: Request, by: str, activity_days: int, window_days: int
) -> Any:
    """The market view for the caller: every group (leader), the team's territories
    (manager, ``by=territory`` only); reps are refused."""
    from territorial.goals.market import MarketView, check_market_options, market_by_territory

    user = session.user
    if user.role == "rep":
        raise PermissionDeniedError("the market page is for leaders and managers")
    check_market_options(by, activity_days, window_days)
    visible = auth.visible_territories(engine, user)
    if visible is not None and by != "territory":
        raise PermissionDeniedError("a manager sees the market of their team's territories only")
    view = market_by_territory(
        engine,
        by=by,
        activity_days=activity_days,
        window_days=window_days,
        cache_dir=_cache(request),
    )
    if visible is None:
        return view
    market = view.market[view.market["rep_id"].isin(visible)].reset_index(drop=True)
    keys = set(market["key"])
    return MarketView(
        market=market,
        funnel=view.funnel[view.funnel["key"].isin(keys)].reset_index(drop=True),
        products=view.products[view.products["key"].isin(keys)].reset_index(drop=True),
        attrs=view.attrs,
    )


@router.get("/market")
def market_page(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    by: Annotated[str, Query(max_length=16)] = "territory",
    activity_days: Annotated[int, Query()] = 90,
    window_days: Annotated[int, Query()] = 365,
) -> Response:
    view = _market(engine, session, request, by, activity_days, window_days)
    return _page(
        request,
        "market.html",
        session,
        nav="market",
        by=by,
        activity_days=activity_days,
        window_days=window_days,
        leader=auth.visible_territories(engine, session.user) is None,
        attrs=view.attrs,
        rows=_rows(view.market),
        funnel=_rows(view.funnel),
        products=_rows(view.products),
    )


@router.get("/market/market.{fmt}")
def market_download(
    request: Request,
    fmt: Literal["csv", "xlsx"],
    engine: EngineDep,
    session: SessionDep,
    by: Annotated[str, Query(max_length=16)] = "territory",
    activity_days: Annotated[int, Query()] = 90,
    window_days: Annotated[int, Query()] = 365,
    table: Annotated[Literal["market", "funnel", "products"] | None, Query()] = None,
) -> Response:
    """CSV: one table (``table``, default the market); XLSX: all three sheets or one."""
    from territorial.api.goals import table_answer
    from territorial.goals.export import tables_bytes

    view = _market(engine, session, request, by, activity_days, window_days)
    if fmt == "csv" or table is not None:
        frame = view.tables()[table or "market"]
        return table_answer(frame, fmt, f"market_{by}_{table or 'market'}")
    return Response(
        tables_bytes(view.tables()),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="market_{by}.xlsx"'},
    )
