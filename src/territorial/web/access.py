"""Workspace pages for access: users (admins) and one's own API tokens.

Thin: each handler checks who is asking and the form's CSRF token, calls one function
of :mod:`territorial.web.auth` and renders the page again with what happened.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from territorial.errors import TerritorialError
from territorial.store import access, workspace
from territorial.web import auth
from territorial.web.routes import PREFIX, EngineDep, SessionDep, _page, _WorkspaceRoute

router = APIRouter(prefix=PREFIX, route_class=_WorkspaceRoute, include_in_schema=False)


async def _form(request: Request, session: auth.Session) -> dict[str, str]:
    form = await request.form()
    session.check_csrf(str(form.get("csrf_token", "")))
    return {k: str(v) for k, v in form.items()}


# --- users (admins) -----------------------------------------------------------------
def _users_page(
    request: Request, engine: Any, session: auth.Session, **context: Any
) -> HTMLResponse:
    session.require_admin()
    return _page(
        request,
        "users.html",
        session,
        nav="users",
        users=workspace.list_users(engine, include_removed=True),
        **context,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, engine: EngineDep, session: SessionDep) -> Response:
    return _users_page(request, engine, session)


_USER_ACTIONS = {
    "disable": (auth.disable_user, "disabled {email}; their sessions have ended"),
    "enable": (auth.enable_user, "enabled {email}"),
    "remove": (auth.remove_user, "removed {email}; sessions ended, tokens revoked"),
}


@router.post("/users/{action}", response_class=HTMLResponse)
async def user_action(
    action: str, request: Request, engine: EngineDep, session: SessionDep
) -> Response:
    session.require_admin()
    form = await _form(request, session)
    email = form.get("email", "")
    try:
        if action == "reset-password":
            auth.reset_password(
                engine, email=email, password=form.get("password", ""), by=session.user
            )
            done = f"new password set for {email}; their sessions have ended"
        elif action in _USER_ACTIONS:
            change, message = _USER_ACTIONS[action]
            change(engine, email=email, by=session.user)
            done = message.format(email=email)
        else:
            return _users_page(request, engine, session, error=f"unknown action {action!r}")
    except TerritorialError as exc:
        response = _users_page(request, engine, session, error=exc.message)
        response.status_code = exc.http_status
        return response
    return _users_page(request, engine, session, done=done)


# --- one's own API tokens -------------------------------------------------------------
def _tokens_page(
    request: Request, engine: Any, session: auth.Session, **context: Any
) -> HTMLResponse:
    return _page(
        request,
        "tokens.html",
        session,
        nav="tokens",
        tokens=access.list_tokens(engine, user_id=session.user.id),
        **context,
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, engine: EngineDep, session: SessionDep) -> Response:
    return _tokens_page(request, engine, session)


@router.post("/tokens", response_class=HTMLResponse)
async def create_token(request: Request, engine: EngineDep, session: SessionDep) -> Response:
    form = await _form(request, session)
    try:
        days = int(form.get("days") or 90)
        token, secret = auth.create_api_token(
            engine,
            email=session.user.email,
            name=form.get("name", ""),
            days=days,
            scope="read" if form.get("read_only") else "write",
            by=session.user,
        )
    except ValueError:
        return _tokens_page(request, engine, session, error="days must be a whole number")
    except TerritorialError as exc:
        response = _tokens_page(request, engine, session, error=exc.message)
        response.status_code = exc.http_status
        return response
    return _tokens_page(request, engine, session, created=token, secret=secret)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def revoke_token(
    token_id: int, request: Request, engine: EngineDep, session: SessionDep
) -> Response:
    await _form(request, session)
    try:
        token = auth.revoke_api_token(engine, token_id=token_id, by=session.user)
    except TerritorialError as exc:
        response = _tokens_page(request, engine, session, error=exc.message)
        response.status_code = exc.http_status
        return response
    return _tokens_page(request, engine, session, done=f"revoked token {token.name!r}")
