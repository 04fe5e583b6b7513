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
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from territorial.bounded import shown
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
    413: {
        "model": ErrorPublic,
        "description": "Request body larger than the server's limit (setting max_request_mb)",
    },
    422: {"model": ErrorPublic, "description": "Invalid input; problems name each field"},
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _shown(value: Any) -> str | None:
    """A short rendering of a bad input: bounded in depth and length (never recursive)."""
    return shown(value if not isinstance(value, str) else repr(value))


async def territorial_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TerritorialError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers or None)


async def request_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors()[:50]:
        loc = tuple(err.get("loc", ()))
        where = loc[0] if loc else "body"
        reason = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid" and (detail := (err.get("ctx") or {}).get("error")):
            reason = f"{reason}: {detail}"
        problems.append(
            {
                "file": str(where),
                "row": None,
                "column": "body" if err.get("type") == "json_invalid" else _field(loc),
                "value": _shown(err.get("input")) if err.get("type") != "missing" else None,
                "reason": reason,
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
    message = str(exc.detail)
    if exc.status_code == 413:
        limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
        message = (
            f"the request body is larger than {limit:,} bytes, the most this server reads "
            "(setting max_request_mb)"
            if isinstance(limit, int)
            else "the request body is too large"
        )
    return JSONResponse(
        {"error": "HTTPError", "message": message},
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
