"""Routing endpoints: route records, look up decisions, manage rules, overrides, absences.

Thin: each handler parses its input, calls one :class:`RoutingService` method and
shapes the answer. Errors are translated in :mod:`territorial.api.errors`.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from starlette.background import BackgroundTask

from territorial.api.deps import RoutingDep, TokenDep, reject_unknown_query
from territorial.api.errors import ERROR_RESPONSES
from territorial.api.models import (
    BATCH_REQUEST_BODY,
    NO_NUL,
    AbsencePublic,
    AbsenceUpdate,
    AlertPublic,
    BatchResponse,
    CoveragePublic,
    DecisionPublic,
    DecisionSummary,
    Health,
    OverrideCreate,
    OverridePublic,
    RouteRequest,
    RuleSetCreate,
    RuleSetDetail,
    RuleSetPublic,
    SimulationPublic,
    ValidationReport,
    parse_batch,
)
from territorial.api.security import BoundedJSONRoute
from territorial.routing.service import gc_paused

router = APIRouter(
    prefix="/api",
    responses=ERROR_RESPONSES,
    dependencies=[Depends(reject_unknown_query)],
    route_class=BoundedJSONRoute,
)

DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RepId = Annotated[str, Path(min_length=1, max_length=128, pattern=NO_NUL)]
Limit = Annotated[int, Query(ge=1, le=1000)]
ContentType = Annotated[str | None, Header(include_in_schema=False)]

#: Batch bodies larger than this are parsed and routed with the cyclic collector paused.
GC_PAUSE_BYTES = 100_000


@router.get("/health", response_model=Health, tags=["service"])
def health() -> Health:
    """Liveness check (no token needed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("territorial")
    except PackageNotFoundError:
        ver = "unknown"
    return Health(status="ok", version=ver)


# ----------------------------------------------------------------------------- routing


@router.post(
    "/route",
    response_model=DecisionPublic,
    tags=["routing"],
    responses={200: {"model": DecisionPublic}},
)
async def route_one(body: RouteRequest, routing: RoutingDep, _: TokenDep) -> Response:
    """Route one record; the answer carries the full why-trace. The decision is logged.

    Runs on the event loop (no thread hop): one decision is about a millisecond of work.
    """
    record = body.record.model_dump(exclude_none=True)
    d = routing.route(record, kind=body.kind)
    payload = {
        "id": d.id,
        "decided_at": d.decided_at.isoformat().replace("+00:00", "Z") if d.decided_at else None,
        "rule_set_id": d.rule_set_id,
        "batch_id": d.batch_id,
        "record_kind": d.record_kind,
        "record_id": d.record_id,
        "account_id": d.account_id,
        "territory_id": d.territory_id,
        "owner_id": d.owner_id,
        "reason": d.reason,
        "trace": d.trace,
    }
    return Response(_json(payload), media_type="application/json")


async def raw_body(request: Request) -> bytes:
    """The request body as sent (parsed by the handler, off the event loop)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


@router.post(
    "/route/batch",
    response_model=BatchResponse,
    tags=["routing"],
    responses={200: {"model": BatchResponse}},
    openapi_extra={"requestBody": BATCH_REQUEST_BODY},
)
def route_batch(
    body: RawBody, routing: RoutingDep, _: TokenDep, content_type: ContentType = None
) -> Response:
    """Route many records at once (vectorised) in one transaction; each decision is logged.

    Compact reasons here; ``GET /api/decisions/{id}/explain`` replays the full trace.
    The body (``BatchRouteRequest``) is parsed here in one pass, with the collector
    paused: a 50,000-record batch is a few hundred thousand objects.
    """
    # The collector stays paused until the batch's objects (about a million: records,
    # decisions, traces) are freed, after the answer is sent. Resumed any earlier, its
    # next pass walks all of them (tens of milliseconds, at times a full collection of
    # a quarter of a second) before the answer can leave.
    release = ExitStack()
    release.enter_context(gc_paused(len(body) > GC_PAUSE_BYTES))
    try:
        request = parse_batch(body, content_type=content_type)
        # Null fields are dropped (as ``model_dump(exclude_none=True)`` did); a body
        # without the token ``null`` has none, and the pass over the records is skipped.
        records = (
            [_without_none(r) for r in request.records] if b"null" in body else request.records
        )
        batch_id, decisions = routing.route_batch(records, kind=request.kind)
        # One orjson call over plain dicts (no per-record model or encoder pass).
        payload = {
            "batch_id": batch_id,
            "count": len(decisions),
            "decisions": [
                {
                    "id": d.id,
                    "record_id": d.record_id,
                    "account_id": d.account_id,
                    "territory_id": d.territory_id,
                    "owner_id": d.owner_id,
                    "reason": d.reason,
                }
                for d in decisions
            ],
        }
        content = _json(payload)
    except BaseException:
        release.close()
        raise
    garbage: list[Any] = [request, records, decisions, payload]
    release.callback(garbage.clear)  # first the objects go, then the collector resumes
    response = Response(
        content, media_type="application/json", background=BackgroundTask(release.close)
    )
    # Should the background task never run, dropping the response releases them.
    weakref.finalize(response, release.close)
    return response


def _json(payload: Any) -> bytes:
    return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS)


def _without_none(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The record without null fields (as ``model_dump(exclude_none=True)`` gave)."""
    if None not in record.values():
        return record
    return {k: v for k, v in record.items() if v is not None}


@router.get("/decisions", response_model=list[DecisionSummary], tags=["decisions"])
def list_decisions(
    routing: RoutingDep,
    _: TokenDep,
    record_id: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    batch_id: Annotated[str | None, Query(max_length=36, pattern=NO_NUL)] = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """The newest decisions first (the audit log), optionally for one record or batch."""
    return routing.decisions(record_id=record_id, batch_id=batch_id, limit=limit)


@router.get("/decisions/{decision_id}", response_model=DecisionPublic, tags=["decisions"])
def get_decision(decision_id: DbId, routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """One past decision with the trace recorded at the time."""
    return routing.decision(decision_id)


@router.get("/decisions/{decision_id}/explain", response_model=dict[str, Any], tags=["decisions"])
def explain_decision(decision_id: DbId, routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """The full why-trace of a past decision (batch decisions are replayed)."""
    return routing.explain(decision_id)


# ----------------------------------------------------------------------------- rules


@router.get("/rules", response_model=list[RuleSetPublic], tags=["rules"])
def list_rule_sets(routing: RoutingDep, _: TokenDep, limit: Limit = 100) -> list[dict[str, Any]]:
    """Stored versions of the rules, newest first."""
    return routing.rule_sets(limit=limit)


@router.post(
    "/rules", response_model=RuleSetPublic, status_code=status.HTTP_201_CREATED, tags=["rules"]
)
def upload_rules(body: RuleSetCreate, routing: RoutingDep, caller: TokenDep) -> dict[str, Any]:
    """Store a new draft version of the rules; 422 with line numbers when invalid."""
    return routing.upload_rules(body.source, created_by=caller.name)


@router.post("/rules/validate", response_model=ValidationReport, tags=["rules"])
def validate_rules(body: RuleSetCreate, routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """Check a rules text without storing it: problems with line numbers, overlaps and gaps."""
    return routing.validate(body.source)


@router.get("/rules/active", response_model=RuleSetDetail, tags=["rules"])
def active_rules(routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """The active version of the rules."""
    return routing.active_row()


@router.get("/rules/{rule_set_id}", response_model=RuleSetDetail, tags=["rules"])
def get_rules(rule_set_id: DbId, routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """One version of the rules with its YAML text."""
    return routing.rule_set(rule_set_id)


@router.post("/rules/{rule_set_id}/activate", response_model=RuleSetPublic, tags=["rules"])
def activate_rules(rule_set_id: DbId, routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """Make this version the active one (the realignment date for holdovers)."""
    return routing.activate(rule_set_id)


@router.get("/rules/{rule_set_id}/coverage", response_model=CoveragePublic, tags=["rules"])
def rules_coverage(rule_set_id: DbId, routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """Overlaps and unclaimed accounts of this version over the stored accounts."""
    return routing.coverage(rule_set_id)


@router.post("/rules/{rule_set_id}/simulate", response_model=SimulationPublic, tags=["rules"])
def simulate_rules(rule_set_id: DbId, routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """What would change per rep if this version replaced the active one (nothing is saved)."""
    return routing.simulate(rule_set_id)


# ----------------------------------------------------------------------------- overrides


@router.get("/overrides", response_model=list[OverridePublic], tags=["overrides"])
def list_overrides(
    routing: RoutingDep, _: TokenDep, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """Manual overrides (by default only unrevoked, unexpired ones)."""
    return routing.overrides(include_inactive=include_inactive)


@router.post(
    "/overrides",
    response_model=OverridePublic,
    status_code=status.HTTP_201_CREATED,
    tags=["overrides"],
)
def add_override(body: OverrideCreate, routing: RoutingDep, caller: TokenDep) -> dict[str, Any]:
    """Override one account's territory and/or owner, with a reason, until a date."""
    return routing.add_override(
        account_id=body.account_id,
        reason=body.reason,
        expires_on=body.expires_on,
        territory_id=body.territory_id,
        owner_id=body.owner_id,
        created_by=caller.name,
    )


@router.post("/overrides/{override_id}/revoke", response_model=OverridePublic, tags=["overrides"])
def revoke_override(override_id: DbId, routing: RoutingDep, _: TokenDep) -> dict[str, Any]:
    """End an override now (it stays in the list as revoked)."""
    return routing.revoke_override(override_id)


# ----------------------------------------------------------------------------- reps, alerts


@router.put("/reps/{rep_id}/absence", response_model=AbsencePublic, tags=["reps"])
def set_absence(
    rep_id: RepId, body: AbsenceUpdate, routing: RoutingDep, _: TokenDep
) -> AbsencePublic:
    """Mark a rep out of office; pools skip them (single owners keep their territory)."""
    routing.set_absence(rep_id, start=body.start, end=body.end, note=body.note)
    return AbsencePublic(rep_id=rep_id, start=body.start, end=body.end, note=body.note)


@router.delete("/reps/{rep_id}/absence", status_code=status.HTTP_204_NO_CONTENT, tags=["reps"])
def clear_absence(rep_id: RepId, routing: RoutingDep, _: TokenDep) -> Response:
    """The rep is back."""
    routing.clear_absence(rep_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/alerts", response_model=list[AlertPublic], tags=["alerts"])
def list_alerts(
    routing: RoutingDep,
    _: TokenDep,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(pending|delivered|failed)$")
    ] = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """The alert outbox, newest first."""
    return routing.alerts(status=status_, limit=limit)
