"""Translating errors to HTTP answers, in one place.

Every :class:`~territorial.errors.TerritorialError` already knows its status
(``http_status``); request validation failures become a 422 with a precise message
naming each bad field. Anything else is a bug: it is logged and answered with a
plain 500 without internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from territorial.errors import TerritorialError

log = logging.getLogger(__name__)


class ProblemPublic(BaseModel):
    """One problem of a rejected input (a rules file line, a request field)."""

    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    reason: str
    severity: str = "error"


class ErrorPublic(BaseModel):
    """Body of every error answer."""

    error: str
    message: str
    problems: list[ProblemPublic] | None = None


#: Error answers documented on every API route (OpenAPI ``responses``).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "Bad request"},
    401: {"model": ErrorPublic, "description": "Missing or wrong bearer token"},
    403: {"model": ErrorPublic, "description": "Not allowed"},
    404: {"model": ErrorPublic, "description": "Not found"},
    409: {"model": ErrorPublic, "description": "Conflict with the stored state"},
    422: {"model": ErrorPublic, "description": "Invalid input; problems name each field"},
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


async def territorial_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TerritorialError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


async def request_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors()[:50]:
        loc = tuple(err.get("loc", ()))
        where = loc[0] if loc else "body"
        problems.append(
            {
                "file": str(where),
                "row": None,
                "column": _field(loc),
                "value": _shown(err.get("input")) if err.get("type") != "missing" else None,
                "reason": str(err.get("msg", "invalid")),
                "severity": "error",
            }
        )
    message = "; ".join(f"{p['column']}: {p['reason']}" for p in problems[:5]) or "invalid"
    return JSONResponse(
        {
            "error": "ValidationError",
            "message": f"invalid request: {message}",
            "problems": problems,
        },
        status_code=422,
    )


def _allowed_methods(request: Request) -> str | None:
    """Every method the OpenAPI description offers at this path.

    Starlette's 405 names only the first route matching the path, while a path such
    as ``/api/rules`` has one route per method.
    """
    allowed: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            allowed |= {m.upper() for m in operations if m.lower() in _HTTP_METHODS}
    return ", ".join(sorted(allowed)) or None


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = allowed
    return JSONResponse(
        {"error": "HTTPError", "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=headers or None,
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"error": "InternalError", "message": "unexpected error; see the server log"},
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the translations on ``app``."""
    app.add_exception_handler(TerritorialError, territorial_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
