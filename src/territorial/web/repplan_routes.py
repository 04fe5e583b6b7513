"""Workspace pages of rep plans: the rep's plan, the account view, the flags queue.

Thin: each handler finds what the session's user may see
(:func:`territorial.repplan.visible_reps`), calls one library function and renders it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from territorial.errors import ConfigError, NotFoundError, TerritorialError
from territorial.planning.lifecycle import Actor
from territorial.repplan import flags, plan_for, visible_reps
from territorial.repplan.account_view import account_view
from territorial.web import auth
from territorial.web.routes import PREFIX, EngineDep, SessionDep, _json, _page, _WorkspaceRoute

router = APIRouter(prefix=PREFIX, route_class=_WorkspaceRoute, include_in_schema=False)
_MEDIA = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ics": "text/calendar",
    "csv": "text/csv",
}


def _actor(session: auth.Session) -> Actor:
    user = session.user
    return Actor(user.email, user.role, user.id)


def _rep_choices(engine: Any, visible: frozenset[str] | None) -> list[str]:
    """Reps whose plans the user may open (none while the store has no scores)."""
    from territorial.repplan import cached_plan_data

    try:
        carriers = cached_plan_data(engine).carriers()
    except ConfigError:  # nothing scored yet: the page says what is missing
        return []
    return [r for r in carriers if visible is None or r in visible]


def _which_rep(engine: Any, session: auth.Session, rep: str | None) -> str | None:
    return rep or session.user.rep_id


async def _form(request: Request, session: auth.Session) -> dict[str, str]:
    form = await request.form()
    session.check_csrf(str(form.get("csrf_token", "")))
    return {k: str(v) for k, v in form.items()}


# --- the rep's plan -----------------------------------------------------------------------
@router.get("/plan", response_class=HTMLResponse)
def plan_page(
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    rep: str | None = None,
    done: str | None = None,
    error: str | None = None,
    find: str | None = None,
) -> Response:
    """The rep's plan; without one, what is missing and who fixes it; with ``find``, the
    accounts of other territories the rep may request."""
    from territorial.repplan.readiness import plan_readiness

    visible = visible_reps(engine, session.user)
    choices = _rep_choices(engine, visible)
    rep_id = rep or session.user.rep_id
    if rep is None and rep_id not in choices and choices:
        # a manager (or a planner) lands on the first rep they may open
        rep_id = choices[0]
    if rep_id is not None and visible is not None and rep_id not in visible:
        raise NotFoundError(f"no rep {rep_id!r}")
    plan, missing = None, plan_readiness(engine, rep_id=rep_id)
    if not missing:
        try:
            plan = plan_for(engine, rep_id=str(rep_id), visible=visible)
        except NotFoundError:
            raise
        except TerritorialError as exc:
            error = error or exc.message
    own = rep_id is not None and rep_id == session.user.rep_id
    found, find_error = None, None
    if find is not None and own and not missing:
        try:
            found = flags.requestable_accounts(engine, rep_id=str(rep_id), query=find)
        except ConfigError as exc:
            find_error = exc.message
    mine = flags.list_flags(engine, status=None, rep_ids=frozenset({rep_id})) if rep_id else []
    return _page(
        request,
        "repplan.html",
        session,
        nav="plan",
        plan=plan,
        rep_id=rep_id,
        choices=choices,
        missing=missing,
        error=error or find_error,
        done=done,
        own=own,
        find=find,
        found=found,
        flags=mine[-20:],
        kinds=flags.FLAG_KINDS,
    )


@router.get("/api/plan")
def plan_json(engine: EngineDep, session: SessionDep, rep: str | None = None) -> Response:
    rep_id = _which_rep(engine, session, rep)
    if rep_id is None:
        raise ConfigError("name a rep: ?rep=REP_ID")
    visible = visible_reps(engine, session.user)
    return _json(plan_for(engine, rep_id=rep_id, visible=visible).to_dict())


@router.get("/plan/map.png")
def plan_map(engine: EngineDep, session: SessionDep, rep: str) -> Response:
    from territorial.repplan.pdf import map_png

    plan = plan_for(engine, rep_id=rep, visible=visible_reps(engine, session.user))
    return Response(
        map_png(plan, width_in=5.5, height_in=4),
        media_type="image/png",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/plan/files/{rep}.{kind}")
def plan_file(rep: str, kind: str, engine: EngineDep, session: SessionDep) -> Response:
    from territorial.repplan.export import schedule_csv, write_plan_files

    if kind not in _MEDIA:
        raise NotFoundError(f"no {kind!r} file; pdf, xlsx, ics or csv")
    plan = plan_for(engine, rep_id=rep, visible=visible_reps(engine, session.user))
    if kind == "csv":
        body = schedule_csv(plan)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            write_plan_files(plan, FilePath(tmp), pdf=kind == "pdf")
            body = (FilePath(tmp) / f"{rep}.{kind}").read_bytes()
    return Response(
        body,
        media_type=_MEDIA[kind],
        headers={
            "Content-Disposition": f'attachment; filename="{rep}.{kind}"',
            "Cache-Control": "no-store",
        },
    )


# --- the account view ---------------------------------------------------------------------
@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(
    account_id: str,
    request: Request,
    engine: EngineDep,
    session: SessionDep,
    done: str | None = None,
    error: str | None = None,
) -> Response:
    view = account_view(
        engine, account_id=account_id, visible_reps=visible_reps(engine, session.user)
    )
    return _page(
        request,
        "account_view.html",
        session,
        nav="plan",
        view=view,
        kinds=flags.FLAG_KINDS,
        done=done,
        error=error,
    )


@router.get("/api/accounts/{account_id}/view")
def account_view_json(account_id: str, engine: EngineDep, session: SessionDep) -> Response:
    return _json(
        account_view(engine, account_id=account_id, visible_reps=visible_reps(engine, session.user))
    )


@router.post("/accounts/{account_id}/flag")
async def flag_account(
    account_id: str, request: Request, engine: EngineDep, session: SessionDep
) -> Response:
    form = await _form(request, session)
    rep_id = session.user.rep_id
    if not rep_id:
        raise ConfigError("only a user who is a rep can flag accounts")
    kind = form.get("kind", "")
    try:
        flag = flags.add_flag(
            engine,
            rep_id=rep_id,
            account_id=account_id,
            kind=kind,
            comment=form.get("comment", ""),
            to_territory=form.get("to_territory") or None,
            by=session.user.email,
        )
    except (ConfigError, TerritorialError) as exc:
        if isinstance(exc, NotFoundError):
            raise
        back = _back(form, account_id)
        sep = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{sep}error={quote(exc.message)}", status_code=303)
    back = _back(form, account_id)
    sep = "&" if "?" in back else "?"
    what = "request" if kind == flags.REQUEST else "flag"
    return RedirectResponse(f"{back}{sep}done={what}+%23{flag['id']}+sent", status_code=303)


def _back(form: dict[str, str], account_id: str) -> str:
    """Where the form came from (a workspace page), else the account's page."""
    back = form.get("back") or ""
    if not back.startswith(PREFIX + "/") or back.startswith(PREFIX + "//"):
        back = f"{PREFIX}/accounts/{quote(account_id)}"
    return back


# --- the planners' queue ------------------------------------------------------------------
def _queue(request: Request, engine: Any, session: auth.Session, **context: Any) -> HTMLResponse:
    session.require_editor()
    return _page(
        request,
        "flags.html",
        session,
        nav="flags",
        open_flags=flags.list_flags(engine, status="open"),
        decided=flags.list_flags(engine, status=None)[-50:][::-1],
        counts=flags.feedback_counts(engine),
        kinds=flags.KINDS,
        **context,
    )


@router.get("/flags", response_class=HTMLResponse)
def flags_page(request: Request, engine: EngineDep, session: SessionDep) -> Response:
    return _queue(request, engine, session)


@router.post("/flags/{flag_id}/{action}", response_class=HTMLResponse)
async def decide_flag(
    flag_id: int, action: str, request: Request, engine: EngineDep, session: SessionDep
) -> Response:
    session.require_editor()
    form = await _form(request, session)
    try:
        if action == "accept":
            flag = flags.accept(
                engine,
                flag_id=flag_id,
                actor=_actor(session),
                to_territory=form.get("to_territory") or None,
                note=form.get("note") or None,
            )
            moved = (
                f", moved in draft plan {flag['draft_plan_id']}" if flag["draft_plan_id"] else ""
            )
            done = f"accepted flag #{flag_id}{moved}"
        elif action == "decline":
            flags.decline(
                engine, flag_id=flag_id, reason=form.get("reason", ""), actor=_actor(session)
            )
            done = f"declined flag #{flag_id}"
        else:
            raise NotFoundError(f"no action {action!r}")
    except TerritorialError as exc:
        response = _queue(request, engine, session, error=exc.message)
        response.status_code = exc.http_status
        return response
    return _queue(request, engine, session, done=done)
