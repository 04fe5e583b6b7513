"""Security at the edge: headers on every answer, refused paths, bounded JSON bodies.

:class:`EdgeMiddleware` (pure ASGI, a few microseconds a request):

* answers 400 to a request whose path or query holds a NUL (``%00``) or is not
  UTF-8, before any route sees it;
* adds to every response: ``Content-Security-Policy`` (scripts and styles only from
  this server, no inline script, no framing; the API documentation pages get the
  ``style-src 'unsafe-inline'`` and ``worker-src blob:`` that Swagger UI and ReDoc
  need), ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy: same-origin``,
  ``Permissions-Policy`` (no camera, microphone, geolocation), and
  ``Strict-Transport-Security`` when the request came over HTTPS (directly, or
  through a proxy trusted with ``--forwarded-allow-ips``).

:class:`BoundedJSONRoute` parses JSON bodies with orjson (C, no recursion limit
crash) and refuses bodies nested deeper than :data:`~territorial.bounded.JSON_MAX_DEPTH`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from territorial.bounded import JSON_MAX_DEPTH, json_depth

#: The policy of every page and answer: nothing from elsewhere, no inline script, no
#: ``<style>`` element; ``style=""`` attributes are allowed (colour swatches, Leaflet's
#: positioning; they cannot run script).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: The API documentation pages: Swagger UI and ReDoc set inline styles, ReDoc runs its
#: search in a blob: worker. Still no inline script and nothing from elsewhere.
CSP_DOCS = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000; includeSubDomains"

_COMMON: list[tuple[bytes, bytes]] = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
_BAD_PATH = orjson.dumps(
    {
        "error": "ValidationError",
        "message": "the address holds a NUL character or bytes that are not UTF-8",
    }
)


class EdgeMiddleware:
    """Refuse NUL/non-UTF-8 addresses with 400 and add the security headers."""

    def __init__(self, app: ASGIApp, max_body_bytes: int | None = None) -> None:
        # Streamed bodies (no Content-Length) are counted by Starlette's limiter.
        self.app = (
            app if max_body_bytes is None else RequestBodyLimitMiddleware(app, max_body_bytes)
        )
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        raw: bytes = scope.get("raw_path") or b""
        query: bytes = scope.get("query_string") or b""
        if "\x00" in path or b"%00" in raw or b"%00" in query or b"\x00" in query:
            await _answer(send, 400, _BAD_PATH, https=scope.get("scheme") == "https")
            return
        try:
            query.decode("utf-8")
        except UnicodeDecodeError:
            await _answer(send, 400, _BAD_PATH, https=scope.get("scheme") == "https")
            return
        docs = path.startswith(DOCS_PATHS)
        https = scope.get("scheme") == "https"
        if self.max_body_bytes is not None:
            # A declared length over the limit is answered before the body is read.
            for name, value in scope.get("headers", ()):
                if name == b"content-length":
                    if value.isdigit() and int(value) > self.max_body_bytes:
                        body = orjson.dumps(
                            {
                                "error": "HTTPError",
                                "message": f"the request body has {int(value):,} bytes; this "
                                f"server reads at most {self.max_body_bytes:,} "
                                "(setting max_request_mb)",
                            }
                        )
                        await _answer(send, 413, body, https=https)
                        return
                    break

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                for name, value in _security_headers(docs=docs, https=https):
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _security_headers(*, docs: bool, https: bool) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-security-policy", (CSP_DOCS if docs else CSP).encode()), *_COMMON]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


async def _answer(send: Send, status: int, body: bytes, *, https: bool) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *_security_headers(docs=False, https=https),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _BoundedRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            # Count brackets first (C speed): only a body with many can be deep.
            if body.count(b"[") + body.count(b"{") > JSON_MAX_DEPTH:
                depth = json_depth(body)
                if depth > JSON_MAX_DEPTH:
                    raise json.JSONDecodeError(
                        f"the body nests objects and arrays {depth} levels deep; "
                        f"at most {JSON_MAX_DEPTH} are read",
                        body.decode("utf-8", "replace")[:0],
                        0,
                    )
            self._json = orjson.loads(body)
        return self._json


class BoundedJSONRoute(APIRoute):
    """An API route whose JSON body is parsed by orjson within a nesting limit."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(_BoundedRequest(request.scope, request.receive))

        return bounded
