"""Dependencies of the API routes, as ``Annotated`` aliases.

The engine, the settings and the routing service live on ``app.state`` (set by
:func:`territorial.api.app.create_app`).

Who is calling (:class:`Principal`) comes from ``Authorization: Bearer TOKEN``:

* a personal API token (``trl_...``, ``territorial tokens create``): it acts with its
  user's role at the time of the call. Admins and planners may read and write;
  managers may only read; reps may not use the API. A ``read`` token may only read.
* the bootstrap token ``TERRITORIAL_API_TOKEN`` (compared in constant time): an admin,
  for setting up before personal tokens exist.

A token in the query string is refused with 401 (addresses end up in logs and
browser histories), before any other check of the query.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from territorial.errors import AuthenticationError, PermissionDeniedError, ValidationError
from territorial.routing.service import RoutingService
from territorial.settings import Settings
from territorial.store.access import ApiToken
from territorial.store.workspace import User

_bearer = HTTPBearer(
    auto_error=False,
    description="A personal API token (territorial tokens create) or the bootstrap "
    "TERRITORIAL_API_TOKEN.",
)

#: Query parameters that look like credentials: refused with 401 wherever they appear.
TOKEN_QUERY_NAMES = frozenset(
    {"token", "access_token", "api_token", "apitoken", "api_key", "apikey", "bearer", "auth"}
)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_routing(request: Request) -> RoutingService:
    return request.app.state.routing


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RoutingDep = Annotated[RoutingService, Depends(get_routing)]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling the API: a user through a personal token, or the bootstrap token."""

    role: str
    user: User | None = None
    token: ApiToken | None = None

    @property
    def name(self) -> str:
        """For ``created_by`` columns and the audit trail."""
        if self.user is None:
            return "api"
        return f"{self.user.email} (token {self.token.id})" if self.token else self.user.email

    @property
    def can_write(self) -> bool:
        from territorial.web.auth import API_WRITE_ROLES

        scope_ok = self.token is None or self.token.scope == "write"
        return scope_ok and self.role in API_WRITE_ROLES


def _refuse_query_token(request: Request) -> None:
    if TOKEN_QUERY_NAMES.intersection(k.lower() for k in request.query_params):
        raise AuthenticationError(
            "send the token in the Authorization header ('Authorization: Bearer TOKEN'), "
            "never in the address"
        )


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller's principal; :class:`AuthenticationError` (401) says what is wrong."""
    from territorial.web.auth import API_READ_ROLES, TOKEN_PREFIX, authenticate_token

    _refuse_query_token(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer TOKEN'")
    secret = credentials.credentials
    settings: Settings = request.app.state.settings
    if secret.startswith(TOKEN_PREFIX):
        user, token = authenticate_token(request.app.state.engine, secret)
        if user.role not in API_READ_ROLES:
            raise PermissionDeniedError(f"a {user.role}'s token may not use the REST API")
        return Principal(role=user.role, user=user, token=token)
    expected = settings.api_token
    if not expected:
        raise AuthenticationError(
            "wrong bearer token (no bootstrap token is configured: use a personal token "
            "from 'territorial tokens create', or set TERRITORIAL_API_TOKEN on the server)"
        )
    if not hmac.compare_digest(secret.encode(), expected.encode()):
        raise AuthenticationError("wrong bearer token")
    return Principal(role="admin")


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller, allowed to use this method (403 when it may not)."""
    principal = authenticate(request, credentials)
    if request.method not in _READ_METHODS and not principal.can_write:
        why = (
            "this token is read-only"
            if principal.token is not None and principal.token.scope == "read"
            else f"a {principal.role} may only read"
        )
        raise PermissionDeniedError(f"{why}: {request.method} {request.url.path} changes data")
    return principal


TokenDep = Annotated[Principal, Depends(require_token)]
PrincipalDep = TokenDep


_QUERY_NAMES: dict[int, frozenset[str]] = {}
_NEEDS_AUTH: dict[int, bool] = {}


def _needs_auth(dependant: Any) -> bool:
    """Whether a route's dependencies include :func:`require_token`."""
    stack = [dependant]
    while stack:
        current = stack.pop()
        if getattr(current, "call", None) is require_token:
            return True
        stack.extend(getattr(current, "dependencies", ()))
    return False


def reject_unknown_query(request: Request) -> None:
    """A query parameter the operation does not define is an error (catches typos).

    A token in the query is answered 401 first; on a route that needs a token, the
    caller must be authenticated before being told which parameters exist.
    """
    if not request.query_params:
        return
    _refuse_query_token(request)
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = frozenset(
            f.alias for f in get_flat_params(dependant) if isinstance(f.field_info, params.Query)
        )
        _QUERY_NAMES[id(route)] = names
    unknown = sorted(set(request.query_params) - names)
    if unknown:
        needs = _NEEDS_AUTH.get(id(route))
        if needs is None:
            needs = _NEEDS_AUTH[id(route)] = _needs_auth(dependant)
        if needs:
            header = request.headers.get("authorization", "")
            scheme, _, secret = header.partition(" ")
            creds = (
                HTTPAuthorizationCredentials(scheme=scheme, credentials=secret.strip())
                if secret
                else None
            )
            authenticate(request, creds)
        known = ", ".join(sorted(names)) or "none"
        raise ValidationError(
            f"unknown query parameter(s) {', '.join(repr(u) for u in unknown)}; "
            f"this operation takes: {known}"
        )
