"""The planner's workspace: server-rendered pages and the JSON they fetch.

Thin on purpose: each handler checks who is asking, calls one function of
:mod:`territorial.web.services` (or :mod:`territorial.web.auth`) and renders or
serialises the answer. Every path lives under ``/workspace``.

The store engine comes from ``request.app.state.engine`` (set by
``territorial.api.app.create_app``); failing that, from ``app.state.settings`` or the
environment's settings, opened once and kept on ``app.state``.
"""

from __future__ import annotations

import gzip
import hmac
import json
import math
import secrets
import threading
from collections.abc import Callable, Coroutine, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from territorial.errors import AuthenticationError, ConfigError, NotFoundError, TerritorialError
from territorial.settings import load_settings
from territorial.store import open_store, workspace
from territorial.web import auth, services
from territorial.web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, Session

PREFIX = "/workspace"
_HERE = Path(__file__).parent
STATIC = _HERE / "static"
US_ATLAS = _HERE.parent / "data" / "us-atlas"


class _WorkspaceRoute(APIRoute):
    """Turns Territorial errors into their HTTP status, so the router works in any app."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except TerritorialError as exc:
                if isinstance(exc, AuthenticationError) and _wants_html(request):
                    return _login_redirect(request)
                if _wants_html(request):
                    return _error_page(request, exc)
                return JSONResponse(exc.to_dict(), status_code=exc.http_status)

        return guarded


router = APIRouter(prefix=PREFIX, route_class=_WorkspaceRoute, include_in_schema=False)
templates = Jinja2Templates(directory=str(_HERE / "templates"))
templates.env.filters["money"] = lambda v: f"${v:,.0f}" if v is not None else "-"
templates.env.filters["num"] = lambda v, d=0: f"{v:,.{d}f}" if v is not None else "-"
templates.env.filters["pct"] = lambda v: f"{v * 100:+.1f}%" if v is not None else "-"
templates.env.filters["tolerance"] = lambda v: f"{v * 100:.2f}".rstrip("0").rstrip(".") + "%"
templates.env.globals["MEASURES"] = services.MEASURES
templates.env.globals["PREFIX"] = PREFIX
_engine_lock = threading.Lock()


# --- dependencies ---------------------------------------------------------------------
def get_engine(request: Request) -> Engine:
    state = request.app.state
    engine = getattr(state, "engine", None)
    if engine is None:
        with _engine_lock:
            engine = getattr(state, "engine", None)
            if engine is None:
                settings = getattr(state, "settings", None) or load_settings()
                engine = open_store(settings.resolved_database_url)
                state.engine = engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def _session(request: Request, engine: Engine) -> Session | None:
    return auth.session_for_token(engine, request.cookies.get(SESSION_COOKIE))


def require_session(request: Request, engine: EngineDep) -> Session:
    session = _session(request, engine)
    if session is None:
        raise AuthenticationError("log in first")
    return session


SessionDep = Annotated[Session, Depends(require_session)]


def require_csrf(request: Request, session: SessionDep) -> Session:
    """State-changing fetch calls echo the session's CSRF token in ``X-CSRF-Token``."""
    session.check_csrf(request.headers.get("x-csrf-token"))
    return session


CsrfSessionDep = Annotated[Session, Depends(require_csrf)]


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)


def _page(request: Request, name: str, session: Session | None, **context: Any) -> HTMLResponse:
    context.update(request=request, session=session, user=session.user if session else None)
    response = templates.TemplateResponse(request, name, context)
    response.headers["Cache-Control"] = "no-store"
    return response


_ERROR_TITLES = {403: "Not for your role", 404: "Not found", 409: "Not possible now"}


def _error_page(request: Request, exc: TerritorialError) -> Response:
    """A page (not JSON) for a refused or missing thing, with the way back."""
    session = None
    try:
        session = _session(request, get_engine(request))
    except TerritorialError:
        session = None
    response = _page(
        request,
        "error.html",
        session,
        status=exc.http_status,
        title=_ERROR_TITLES.get(exc.http_status, "Something is wrong"),
        message=exc.message,
    )
    response.status_code = exc.http_status
    return response


def _safe_next(target: str | None) -> str:
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


# --- log-in ---------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = _page(
        request, "login.html", None, login_csrf=token, next=_safe_next(next), error=error
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path=PREFIX,
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login")
async def login(request: Request, engine: EngineDep) -> Response:
    form = await request.form()
    given, cookie = str(form.get("csrf_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(given.encode(), cookie.encode()):
        return RedirectResponse(f"{PREFIX}/login?error=expired", status_code=303)
    try:
        _user, token = auth.log_in(
            engine,
            email=str(form.get("email", "")),
            password=str(form.get("password", "")),
            address=request.client.host if request.client else "unknown",
            policy=_login_policy(request),
        )
    except auth.LockedOutError as exc:
        return _locked_out(request, str(form.get("next", "")), exc.retry_after)
    except AuthenticationError as exc:
        nxt = quote(_safe_next(str(form.get("next", ""))))
        why = "disabled" if "account is" in exc.message else "wrong"
        return RedirectResponse(f"{PREFIX}/login?error={why}&next={nxt}", status_code=303)
    services.warm_up(engine)
    target = _safe_next(str(form.get("next", "")))
    if target == f"{PREFIX}/" and _user.role == "rep" and route_exists(request, REP_PLAN_PATH):
        target = REP_PLAN_PATH  # a rep lands on their plan (issue 13)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        path="/",
        max_age=auth.SESSION_HOURS * 3600,
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


def _login_policy(request: Request) -> auth.LoginPolicy:
    settings = getattr(request.app.state, "settings", None) or load_settings()
    return auth.LoginPolicy.from_settings(settings)


def _locked_out(request: Request, next_: str, retry_after: int) -> Response:
    """The log-in page again, answered 429 with Retry-After (seconds)."""
    token = secrets.token_urlsafe(24)
    response = _page(
        request,
        "login.html",
        None,
        login_csrf=token,
        next=_safe_next(next_),
        error="locked",
        retry_minutes=max(1, -(-retry_after // 60)),
    )
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path=PREFIX,
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request, engine: EngineDep, session: SessionDep) -> Response:
    form = await request.form()
    session.check_csrf(str(form.get("csrf_token", "")))
    auth.log_out(engine, token=request.cookies.get(SESSION_COOKIE, ""))
    workspace.record_event(engine, action="logout", user=session.user)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- pages ----------------------------------------------------------------------------
def _plan_choices(engine: Engine, session: Session) -> list[dict[str, Any]]:
    if not session.user.can_edit:
        return []
    return services.list_plans(engine)


def route_exists(request: Request, path: str) -> bool:
    """Whether the app serves GET ``path`` (links to pages other modules add). Routers
    included in the app are looked into (FastAPI 0.165 keeps them as one route each)."""

    def walk(routes: Sequence[Any]) -> bool:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None and walk(inner.routes):
                return True
            if isinstance(r, APIRoute) and r.path == path and "GET" in r.methods:
                return True
        return False

    return walk(request.app.router.routes)


#: The rep's plan page (issue 13) when its module is installed.
REP_PLAN_PATH = f"{PREFIX}/plan"


@router.get("", include_in_schema=False, response_class=HTMLResponse)
@router.get("/", include_in_schema=False, response_class=HTMLResponse)
def home(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    done: str | None = None,
    version: int | None = None,
) -> Response:
    """Each role's start: leaders the state of all territories, managers their team
    (each rep's plan a click away), reps their book."""
    rep_plan = REP_PLAN_PATH if route_exists(request, REP_PLAN_PATH) else None
    rep_plans: frozenset[str] = frozenset()
    if rep_plan and session.user.role != "rep":
        from territorial.repplan import cached_plan_data, visible_reps

        visible = visible_reps(engine, session.user)
        try:
            carriers = cached_plan_data(engine).carriers()
        except TerritorialError:  # not scored yet: no plans to open (their page says why)
            carriers = []
        rep_plans = frozenset(r for r in carriers if visible is None or r in visible)
    return _page(
        request,
        "home.html",
        session,
        done=done if done in services.PLAN_STEPS else None,
        done_version=version,
        rep_plan=rep_plan,
        rep_plans=rep_plans,
        **services.home_for(engine, session.user),
    )


@router.post("/plans/{plan_id}/{step}")
async def plan_step(
    plan_id: int, step: str, request: Request, engine: EngineDep, session: SessionDep
) -> Response:
    """Submit, approve or reject from the home page (a form with the CSRF token)."""
    form = await request.form()
    session.check_csrf(str(form.get("csrf_token", "")))
    note = str(form.get("note", "")).strip() or None
    services.plan_step(engine, session.user, plan_id=plan_id, step=step, note=note)
    return RedirectResponse(f"{PREFIX}/?done={step}&version={plan_id}", status_code=303)


@router.get("/plans/{plan_id}/export/{target}")
def plan_export(plan_id: int, target: str, engine: EngineDep, session: SessionDep) -> Response:
    """CRM write-back files of a version (planners): the API's download, same files."""
    from territorial.api.plans import export_response

    session.require_editor()
    if target not in ("salesforce", "hubspot", "csv"):
        raise NotFoundError(f"no export {target!r}; one of salesforce, hubspot, csv")
    return export_response(engine, plan_id=plan_id, target=target)


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    plan: str | None = None,
    draft_of: int | None = None,
    moved: int | None = None,
) -> Response:
    scope = services.scope_for(engine, session.user)
    view = services.view_for(engine, scope, plan)
    return _page(
        request,
        "map.html",
        session,
        view=view,
        plans=_plan_choices(engine, session),
        territories=[
            (t, view.data.name_of(t), view.color(j))
            for j, t in enumerate(view.territory_ids)
            if scope.sees_territory(t)
        ],
        bounds=services.map_bounds(view, scope),
        draft_of=draft_of,
        moved_count=moved,
        balance=services.balance_rows(view, scope),
        moved=services.moved_versus_active(engine, view),
    )


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, engine: EngineDep, session: SessionDep, plan: str | None = None
) -> Response:
    scope = services.scope_for(engine, session.user)
    view = services.view_for(engine, scope, plan)
    return _page(
        request,
        "dashboard.html",
        session,
        view=view,
        plans=_plan_choices(engine, session),
        balance=services.balance_rows(view, scope, contiguity=True),
        moved=services.moved_versus_active(engine, view),
    )


@router.get("/fragments/balance", response_class=HTMLResponse)
def balance_fragment(
    request: Request, engine: EngineDep, session: SessionDep, plan: str | None = None
) -> Response:
    scope = services.scope_for(engine, session.user)
    view = services.view_for(engine, scope, plan)
    return _page(
        request,
        "_balance.html",
        session,
        view=view,
        balance=services.balance_rows(view, scope),
        moved=services.moved_versus_active(engine, view),
        compact=True,
    )


@router.get("/scenarios", response_class=HTMLResponse)
def scenarios_page(request: Request, engine: EngineDep, session: SessionDep) -> Response:
    session.require_editor()
    data = services.account_data(engine)
    n_reps = int(data.reps["active"].fillna(True).astype(bool).sum()) if len(data.reps) else 0
    return _page(
        request,
        "scenarios.html",
        session,
        plans=services.list_plans(engine),
        n_reps=n_reps,
        n_accounts=data.n,
        form=services.design_form(engine),
    )


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    a: str | None = None,
    b: str | None = None,
) -> Response:
    session.require_editor()
    plans = services.list_plans(engine)
    result, feedback = None, {}
    if a and b:
        from territorial.repplan.flags import feedback_counts

        result = services.compare_plans(engine, plan_a=a, plan_b=b)
        # the reps' flags raised under A (all of them against the CRM owners), per territory
        base = int(a) if a.isdigit() else None
        rows = feedback_counts(engine, plan_id=base, by="territory")
        feedback = {r["territory_id"]: r for r in rows}
    return _page(
        request,
        "compare.html",
        session,
        plans=plans,
        result=result,
        a=a,
        b=b,
        feedback=feedback,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, engine: EngineDep, session: SessionDep) -> Response:
    session.require_editor()
    return _page(request, "audit.html", session, events=workspace.list_events(engine))


# --- map data -------------------------------------------------------------------------
def _bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    if not bbox:
        return None
    try:
        w, s, e, n = (float(x) for x in bbox.split(","))
    except ValueError as exc:
        raise ConfigError(f"bbox wants west,south,east,north; got {bbox!r}") from exc
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise ConfigError("bbox values must be finite numbers")
    return w, s, e, n


def _json(payload: Any) -> Response:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get("/api/accounts.geojson")
def accounts_geojson(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    plan: str | None = None,
    bbox: str | None = None,
    zoom: Annotated[int, Query(ge=0, le=22)] = 4,
    color: str = "territory",
) -> Response:
    scope = services.scope_for(engine, session.user)
    view = services.view_for(engine, scope, plan)
    fills = None
    if color in ("attainment", "signals"):
        fills = services.map_colors(engine, view, scope, by=color, cache_dir=_cache_dir(request))[
            "fills"
        ]
    return _json(
        services.account_layer(
            view, scope, bbox=_bbox(bbox), zoom=zoom, color_by=color, fills=fills
        )
    )


def _cache_dir(request: Request) -> Path | None:
    """Where the goals package keeps its extract (the settings' home), when known."""
    settings = getattr(request.app.state, "settings", None)
    return None if settings is None else settings.home / "cache"


@router.get("/api/map-colors")
def map_colors(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    plan: str | None = None,
    by: str = "territory",
) -> Response:
    """Fills and legend for colouring the map by attainment, signals, tier or potential."""
    scope = services.scope_for(engine, session.user)
    view = services.view_for(engine, scope, plan)
    return _json(services.map_colors(engine, view, scope, by=by, cache_dir=_cache_dir(request)))


@router.get("/api/territory-areas")
def territory_areas(engine: EngineDep, session: SessionDep, plan: str | None = None) -> Response:
    scope = services.scope_for(engine, session.user)
    return _json(services.territory_areas(services.view_for(engine, scope, plan), scope))


@router.get("/api/reps.geojson")
def reps_geojson(engine: EngineDep, session: SessionDep, plan: str | None = None) -> Response:
    scope = services.scope_for(engine, session.user)
    return _json(services.rep_layer(services.view_for(engine, scope, plan), scope))


@router.get("/api/accounts")
def accounts_table(
    engine: EngineDep,
    session: SessionDep,
    plan: str | None = None,
    q: str = "",
    territory: str | None = None,
    county: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    scope = services.scope_for(engine, session.user)
    view = services.view_for(engine, scope, plan)
    found = services.search_accounts(
        view, scope, query=q, territory=territory, county=county, limit=limit
    )
    return _json(found)


def _polygon(polygon: str | None) -> list[tuple[float, float]] | None:
    """``lon,lat;lon,lat;...`` (a lasso drawn on the map) as vertices."""
    if polygon is None:
        return None
    out = []
    for n, vertex in enumerate(polygon.split(";"), start=1):
        try:
            lon, lat = (float(x) for x in vertex.split(","))
        except ValueError as exc:
            raise ConfigError(
                f"polygon wants lon,lat;lon,lat;...; vertex {n} is {vertex[:40]!r}"
            ) from exc
        out.append((lon, lat))
    return out


@router.get("/api/selection")
def selection(
    engine: EngineDep,
    session: SessionDep,
    plan: str | None = None,
    bbox: str | None = None,
    polygon: Annotated[str | None, Query(max_length=60_000)] = None,
    county: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
) -> Response:
    """Accounts in a lasso (``polygon``), a rectangle (``bbox``) or a county, for the
    map's selection (ids and names)."""
    scope = services.scope_for(engine, session.user)
    view = services.view_for(engine, scope, plan)
    return _json(
        services.select_accounts(
            view, scope, polygon=_polygon(polygon), bbox=_bbox(bbox), county=county
        )
    )


@router.get("/api/accounts/{account_id}")
def account_detail(
    account_id: str, engine: EngineDep, session: SessionDep, plan: str | None = None
) -> Response:
    scope = services.scope_for(engine, session.user)
    return _json(services.account_detail(services.view_for(engine, scope, plan), scope, account_id))


# --- changes (JSON + X-CSRF-Token) ----------------------------------------------------
class MoveIn(BaseModel):
    account_ids: list[str] = Field(min_length=1, max_length=100_000)
    to_territory: str
    lock: bool = False


@router.post("/api/plans/{plan_id}/moves")
def move(plan_id: int, body: MoveIn, engine: EngineDep, session: CsrfSessionDep) -> Response:
    """Moves go into a draft: a frozen plan gets a draft copy first (its id is answered)."""
    result = services.move_accounts(
        engine,
        session.user,
        plan_id=plan_id,
        account_ids=body.account_ids,
        to_territory=body.to_territory,
        lock=body.lock,
    )
    return _json(result)


@router.post("/api/plans/{plan_id}/undo")
def undo(plan_id: int, engine: EngineDep, session: CsrfSessionDep) -> Response:
    return _json({"restored": services.undo_move(engine, session.user, plan_id=plan_id)})


@router.post("/api/plans/{plan_id}/redo")
def redo(plan_id: int, engine: EngineDep, session: CsrfSessionDep) -> Response:
    return _json({"restored": services.redo_move(engine, session.user, plan_id=plan_id)})


@router.get("/api/plans/{plan_id}/history")
def move_history(plan_id: int, engine: EngineDep, session: SessionDep) -> Response:
    return _json(services.move_history(engine, session.user, plan_id=plan_id))


@router.post("/api/plans/{plan_id}/{action}")
def plan_action(plan_id: int, action: str, engine: EngineDep, session: CsrfSessionDep) -> Response:
    """Submit, approve or activate a plan (the lifecycle's checks and messages)."""
    version = services.transition_plan(engine, session.user, plan_id=plan_id, action=action)
    return _json({"plan_id": plan_id, "status": version["status"]})


class OwnersIn(BaseModel):
    name: str = Field(default="Current owners", max_length=200)


@router.post("/api/plans/from-owners")
def plan_from_owners(body: OwnersIn, engine: EngineDep, session: CsrfSessionDep) -> Response:
    return _json({"plan_id": services.save_owners_as_plan(engine, session.user, name=body.name)})


class DesignIn(BaseModel):
    """The design form: a scenario name and the options of ``design --from-store``."""

    name: str = Field(min_length=1, max_length=200)
    options: dict[str, Any] = Field(default_factory=dict)


@router.post("/api/designs")
def start_design(body: DesignIn, engine: EngineDep, session: CsrfSessionDep) -> Response:
    return _json(services.start_design(engine, session.user, name=body.name, options=body.options))


@router.get("/api/jobs/{job_id}")
def job(job_id: int, engine: EngineDep, session: SessionDep) -> Response:
    return _json(services.job_status(engine, session.user, job_id=job_id))


# --- assets ---------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _gzipped(path: Path) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=6)


def _asset(request: Request, path: Path, media_type: str | None = None) -> Response:
    headers = {"Cache-Control": "public, max-age=3600"}
    large = path.stat().st_size > 20_000
    if large and "gzip" in request.headers.get("accept-encoding", ""):
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        return Response(_gzipped(path), media_type=media_type or _media(path), headers=headers)
    return FileResponse(path, media_type=media_type or _media(path), headers=headers)


def _media(path: Path) -> str:
    return {
        ".js": "text/javascript",
        ".css": "text/css",
        ".json": "application/json",
        ".png": "image/png",
        ".svg": "image/svg+xml",
    }.get(path.suffix, "application/octet-stream")


@router.get("/static/{asset:path}")
def static(asset: str, request: Request) -> Response:
    path = (STATIC / asset).resolve()
    if not path.is_file() or STATIC.resolve() not in path.parents:
        raise NotFoundError(f"no static file {asset!r}")
    return _asset(request, path)


@router.get("/basemap/cities.json")
def cities() -> Response:
    """The largest US cities (name, state, lat, lon, population) for the map's labels."""
    return Response(
        services.city_labels(),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/basemap/{name}.json")
def basemap(name: str, request: Request) -> Response:
    """US states and counties (us-atlas TopoJSON shipped with the package)."""
    if name not in ("states-10m", "counties-10m"):
        raise NotFoundError(f"no base map {name!r}")
    path = US_ATLAS / f"{name}.json"
    if not path.is_file():
        raise NotFoundError(f"base map file missing: {path}")
    return _asset(request, path, "application/json")
