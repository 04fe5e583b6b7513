"""The one FastAPI application factory.

``create_app(settings)`` opens (and migrates) the store, builds the routing service,
installs the error translations and includes the routers: the REST API under
``/api`` and the web workspace's pages under ``/workspace``.
Serve it with ``territorial serve`` or ``uvicorn --factory territorial.api.app:create_app``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine

from territorial.api.docs import router as docs_router
from territorial.api.errors import install_error_handlers
from territorial.api.goals import router as goals_router
from territorial.api.plans import router as plans_router
from territorial.api.repplan import router as repplan_router
from territorial.api.routing import router as routing_router
from territorial.api.security import BoundedJSONRoute, EdgeMiddleware
from territorial.routing.alerts import AlertWorker, Sender
from territorial.routing.service import RoutingService
from territorial.settings import Settings, load_settings
from territorial.store import open_store
from territorial.web.access import router as access_router
from territorial.web.goals_routes import router as goals_web_router
from territorial.web.repplan_routes import router as repplan_web_router
from territorial.web.routes import router as web_router
from territorial.web.services import warm_up as warm_workspace

log = logging.getLogger(__name__)

DESCRIPTION = """
Territorial's routing service: route leads, accounts and opportunities to territories
and owners with a full why-trace, manage versions of the territory rules (YAML),
overrides and absences, and read the append-only audit log of decisions.

Authentication: every call except `/api/health` needs `Authorization: Bearer TOKEN`
with a personal API token (`territorial tokens create`, or the workspace's Tokens
page): admins and planners may read and write, managers may only read, and a token
made `read` may only read. The server's `TERRITORIAL_API_TOKEN`, when set, is a
bootstrap admin token. A token in the query string is refused (401).

Limits the server enforces: a request body of at most `max_request_mb` MiB (64 by
default; 413 above), JSON nested at most 32 levels, a rules file of at most 20,000,000
characters, 64 levels of YAML nesting and no YAML aliases; the fields' own limits are
in each schema.
"""


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    alert_senders: Mapping[str, Sender] | None = None,
) -> FastAPI:
    """Build the application. ``engine`` overrides the store of ``settings``.

    ``alert_senders`` (channel -> sender) starts the background alert delivery worker
    (``territorial serve`` passes the webhook sender, and the SMTP sender when
    ``settings.smtp_host`` is set); without it alerts stay in the
    outbox for another worker.
    """
    settings = settings or load_settings()
    engine = engine or open_store(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Compile the active rules and index the accounts before the first request, then
        # move everything built so far out of the collector's reach: the full collections
        # the cyclic GC runs now and then would otherwise walk all of it (tens of ms).
        if app.state.routing.warm():
            log.info("routing rules compiled and accounts indexed")
        # The workspace's account data loads in the background so the first page is fast.
        warm_workspace(engine)
        gc.collect()
        gc.freeze()
        worker = None
        if alert_senders:
            worker = AlertWorker(engine, senders=alert_senders)
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            gc.unfreeze()

    app = FastAPI(
        title="Territorial",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from vendored files by api/docs.py
        redoc_url=None,
    )
    app.router.route_class = BoundedJSONRoute
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_request_bytes)
    app.state.settings = settings
    app.state.engine = engine
    app.state.routing = RoutingService(engine, webhook_networks=settings.webhook_networks)
    install_error_handlers(app)
    app.include_router(docs_router)
    app.include_router(routing_router)
    app.include_router(plans_router)
    app.include_router(repplan_router)
    app.include_router(goals_router)
    app.include_router(goals_web_router)
    app.include_router(web_router)
    app.include_router(access_router)
    app.include_router(repplan_web_router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        """People who open the bare address land in the workspace."""
        return RedirectResponse("/workspace/", status_code=307)

    return app
