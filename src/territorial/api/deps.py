"""Dependencies of the API routes, as ``Annotated`` aliases.

The engine, the settings and the routing service live on ``app.state`` (set by
:func:`territorial.api.app.create_app`); the bearer token is compared in constant
time with ``settings.api_token``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from territorial.errors import AuthenticationError, ValidationError
from territorial.routing.service import RoutingService
from territorial.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="Settings.api_token (TERRITORIAL_API_TOKEN)")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_routing(request: Request) -> RoutingService:
    return request.app.state.routing


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RoutingDep = Annotated[RoutingService, Depends(get_routing)]


def require_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's bearer token, checked against ``settings.api_token`` (constant time)."""
    expected = settings.api_token
    if not expected:
        raise AuthenticationError(
            "the API token is not configured: set TERRITORIAL_API_TOKEN on the server"
        )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer TOKEN'")
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise AuthenticationError("wrong bearer token")
    return credentials.credentials


TokenDep = Annotated[str, Depends(require_token)]


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def reject_unknown_query(request: Request) -> None:
    """A query parameter the operation does not define is an error (catches typos)."""
    if not request.query_params:
        return
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
        known = ", ".join(sorted(names)) or "none"
        raise ValidationError(
            f"unknown query parameter(s) {', '.join(repr(u) for u in unknown)}; "
            f"this operation takes: {known}"
        )
