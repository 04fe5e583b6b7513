"""Territory model endpoints: versions and their lifecycle, diffs, CRM exports, who owns
an account, and the job queue (design runs).

Thin: each handler parses its input, calls one function of :mod:`territorial.planning`
and shapes the answer. Errors are translated in :mod:`territorial.api.errors`.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from territorial.api.deps import EngineDep, TokenDep, reject_unknown_query
from territorial.api.errors import ERROR_RESPONSES
from territorial.planning import exports, jobs, lifecycle, ownership
from territorial.planning.activation import HoldoverPolicy, activate
from territorial.planning.lifecycle import Actor

router = APIRouter(
    prefix="/api",
    responses=ERROR_RESPONSES,
    dependencies=[Depends(reject_unknown_query)],
    tags=["territory model"],
)

PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Plan (version) id")]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Job id")]


def api_actor(principal: TokenDep) -> Actor:
    """Who acts through the API: the user of a personal token (their role applies), or
    the holder of the server's bootstrap token (like the command line)."""
    if principal.user is None:
        return Actor("api")
    user = principal.user
    return Actor(user.email, user.role, user.id)


ActorDep = Annotated[Actor, Depends(api_actor)]


# --- models ------------------------------------------------------------------------------------
class VersionPublic(BaseModel):
    """A version of the territory model."""

    id: int
    name: str
    status: str
    parent_id: int | None
    effective_date: date | None
    review_date: date | None
    review_due: bool
    created_at: datetime | None
    created_by: str | None
    submitted_by: str | None
    approved_by: str | None
    activated_at: datetime | None
    rule_set_id: int | None
    accounts: int


class VersionDetail(VersionPublic):
    territories: list[dict[str, Any]]
    events: list[dict[str, Any]]
    parameters: dict[str, Any] | None
    report: dict[str, Any] | None


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


class Approval(Note):
    effective_date: date | None = Field(
        default=None, description="Effective date to set now (today or later)"
    )


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(..., min_length=1, max_length=2000)


class Holdover(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["until_close", "until_date", "none"] = "until_close"
    until: date | None = None


class Activation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_date: date | None = Field(default=None, description="Today (default) or a later date")
    holdover: Holdover = Field(default_factory=Holdover)


class CopyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=255)


class DesignJobRequest(BaseModel):
    """A design run for the worker: the options of ``territorial design --from-store``."""

    model_config = ConfigDict(extra="forbid")
    options: dict[str, Any] = Field(default_factory=dict)
    save_as: str = Field(..., min_length=1, max_length=255)


class JobPublic(BaseModel):
    id: int
    kind: str
    status: str
    progress: float
    message: str | None
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime | None
    created_by: str | None
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int


def _version(row: dict[str, Any]) -> VersionPublic:
    return VersionPublic.model_validate(row, from_attributes=False)


# --- versions ---------------------------------------------------------------------------------
@router.get("/plans", response_model=list[VersionPublic])
def list_versions(
    engine: EngineDep,
    _: TokenDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> list[VersionPublic]:
    """Every version, newest first; ``review_due`` flags those past their review date."""
    return [_version(r) for r in lifecycle.list_versions(engine, status=status)]


@router.get("/plans/{plan_id}", response_model=VersionDetail)
def get_version(plan_id: PlanId, engine: EngineDep, _: TokenDep) -> VersionDetail:
    """One version with its territories (reps and roles) and its lifecycle events."""
    from territorial.store.planning import list_events

    row = lifecycle.get_version(engine, plan_id=plan_id)
    members = ownership.territory_reps(engine, plan_id=plan_id)
    return VersionDetail.model_validate(
        {
            **row,
            "territories": members.astype(object).where(members.notna(), None).to_dict("records"),
            "events": list_events(engine, plan_id=plan_id),
        }
    )


@router.get("/plans/{plan_id}/diff")
def diff_version(
    plan_id: PlanId,
    engine: EngineDep,
    _: TokenDep,
    against: Annotated[
        str, Query(pattern=r"^(crm|active|[0-9]{1,10})$", description="plan id, active or crm")
    ] = "active",
    max_moves: Annotated[int, Query(ge=0, le=100_000)] = 1000,
) -> dict[str, Any]:
    """Per-rep and per-territory changes from ``against`` to this version, the moves, and
    the reps' feedback per territory (flags raised under ``against``)."""
    if against == "crm":
        base: int | None = None
    elif against == "active":
        base = ownership.active_plan_id(engine)
    else:
        base = int(against)
    from territorial.repplan.flags import feedback_counts

    answer = lifecycle.diff(engine, a=base, b=plan_id).to_dict(max_moves=max_moves)
    # the reps' flags raised under the base version, per territory, for the review
    answer["feedback"] = feedback_counts(engine, plan_id=base, by="territory")
    return answer


@router.post("/plans/{plan_id}/submit", response_model=VersionPublic)
def submit(plan_id: PlanId, engine: EngineDep, actor: ActorDep, body: Note | None = None) -> Any:
    lifecycle.submit(engine, plan_id=plan_id, actor=actor, note=body.note if body else None)
    return _version(lifecycle.get_version(engine, plan_id=plan_id))


@router.post("/plans/{plan_id}/approve", response_model=VersionPublic)
def approve(
    plan_id: PlanId, engine: EngineDep, actor: ActorDep, body: Approval | None = None
) -> Any:
    body = body or Approval()
    lifecycle.approve(
        engine, plan_id=plan_id, actor=actor, note=body.note, effective_date=body.effective_date
    )
    return _version(lifecycle.get_version(engine, plan_id=plan_id))


@router.post("/plans/{plan_id}/reject", response_model=VersionPublic)
def reject(plan_id: PlanId, body: Rejection, engine: EngineDep, actor: ActorDep) -> Any:
    lifecycle.reject(engine, plan_id=plan_id, reason=body.reason, actor=actor)
    return _version(lifecycle.get_version(engine, plan_id=plan_id))


@router.post("/plans/{plan_id}/activate")
async def activate_version(
    plan_id: PlanId, engine: EngineDep, actor: ActorDep, body: Activation | None = None
) -> dict[str, Any]:
    """Activate (owners, routing rules, holdovers, alerts in one transaction) or schedule."""
    body = body or Activation()
    policy = HoldoverPolicy(mode=body.holdover.mode, until=body.holdover.until)
    report = await run_in_threadpool(
        activate,
        engine,
        plan_id=plan_id,
        actor=actor,
        effective_date=body.effective_date,
        holdover=policy,
    )
    return report.to_dict()


@router.post("/plans/{plan_id}/archive", response_model=VersionPublic)
def archive(plan_id: PlanId, engine: EngineDep, actor: ActorDep) -> Any:
    lifecycle.archive(engine, plan_id=plan_id, actor=actor)
    return _version(lifecycle.get_version(engine, plan_id=plan_id))


@router.post("/plans/{plan_id}/copy", response_model=VersionPublic, status_code=201)
def copy(
    plan_id: PlanId, engine: EngineDep, actor: ActorDep, body: CopyRequest | None = None
) -> Any:
    """A new draft copied from this version (the way to change a frozen version)."""
    new_id = lifecycle.new_draft(
        engine, plan_id=plan_id, actor=actor, name=body.name if body else None
    )
    return _version(lifecycle.get_version(engine, plan_id=new_id))


@router.get(
    "/plans/{plan_id}/export/{target}",
    responses={200: {"content": {"application/zip": {}, "text/csv": {}}}},
)
def export(
    plan_id: PlanId,
    target: Annotated[Literal["salesforce", "hubspot", "csv"], Path()],
    engine: EngineDep,
    _: TokenDep,
) -> Response:
    """The CRM write-back files: Salesforce (ZIP of Data Loader CSVs), HubSpot (ZIP), or
    one CSV of account, territory, owner and reason."""
    return export_response(engine, plan_id=plan_id, target=target)


def export_response(engine: Any, *, plan_id: int, target: str) -> Response:
    """A download of an export (shared by the API and the workspace)."""
    with tempfile.TemporaryDirectory(prefix="territorial-export-") as tmp:
        folder = FilePath(tmp)
        if target == "csv":
            result = exports.plan_csv(engine, plan_id=plan_id, out_file=folder / "plan.csv")
            return Response(
                result.files[0].read_bytes(),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.csv"'},
            )
        writer = exports.salesforce_files if target == "salesforce" else exports.hubspot_files
        result = writer(engine, plan_id=plan_id, out_dir=folder / target)
        return Response(
            exports.zip_bytes(result),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}-{target}.zip"'},
        )


# --- ownership --------------------------------------------------------------------------------
@router.get("/accounts/{account_id}/owner", tags=["territory model"])
def account_owner(
    account_id: Annotated[str, Path(min_length=1, max_length=128)],
    engine: EngineDep,
    _: TokenDep,
) -> dict[str, Any]:
    """Who owns the account now (territory, rep, version) and every earlier owner change."""
    from territorial.errors import NotFoundError

    current = ownership.owner_of(engine, account_id=account_id)
    history = ownership.owner_history(engine, account_id=account_id)
    if current is None and not history:
        raise NotFoundError(f"account {account_id!r} has no owner in the territory model")
    return {"account_id": account_id, "current": current, "history": history}


# --- jobs -------------------------------------------------------------------------------------
@router.post("/design-jobs", response_model=JobPublic, status_code=202, tags=["jobs"])
def start_design(body: DesignJobRequest, engine: EngineDep, actor: ActorDep) -> Any:
    """Queue a design run from the store (run by a worker); poll ``/api/jobs/{id}``."""
    from territorial.design.adapters import StoreDesignOptions

    StoreDesignOptions.parse(body.options)  # a wrong option is a 4xx now, not a failed job
    job_id = jobs.enqueue(
        engine,
        kind="design",
        payload={"options": body.options, "save_as": body.save_as, "created_by": actor.name},
        created_by=actor.name,
    )
    return jobs.get_job(engine, job_id=job_id)


@router.get("/jobs", response_model=list[JobPublic], tags=["jobs"])
def list_jobs(
    engine: EngineDep,
    _: TokenDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    return jobs.list_jobs(engine, status=status, limit=limit)


@router.get("/jobs/{job_id}", response_model=JobPublic, tags=["jobs"])
def get_job(job_id: JobId, engine: EngineDep, _: TokenDep) -> Any:
    return jobs.get_job(engine, job_id=job_id)


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic, tags=["jobs"])
def cancel_job(job_id: JobId, engine: EngineDep, _: ActorDep) -> Any:
    return jobs.cancel(engine, job_id=job_id)
