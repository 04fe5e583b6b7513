"""REST API of rep plans: a rep's plan as JSON, the account view, the reps' flags queue.

Thin: each route calls one function of :mod:`territorial.repplan` with what the token's
user may see (a manager: their team; admins and planners: everyone).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from territorial.api.deps import EngineDep, TokenDep, reject_unknown_query
from territorial.api.errors import ERROR_RESPONSES
from territorial.api.plans import ActorDep
from territorial.errors import NotFoundError, PermissionDeniedError
from territorial.repplan import flags, plan_for, visible_reps
from territorial.repplan.account_view import account_view

router = APIRouter(
    prefix="/api",
    responses=ERROR_RESPONSES,
    dependencies=[Depends(reject_unknown_query)],
    tags=["rep plans"],
)
RepId = Annotated[str, Path(min_length=1, max_length=128, description="Rep id")]
AccountId = Annotated[str, Path(min_length=1, max_length=128, description="Account id")]
FlagId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Flag id")]


@router.get("/reps/{rep_id}/plan")
def rep_plan_json(rep_id: RepId, engine: EngineDep, principal: TokenDep) -> dict[str, Any]:
    """The rep's territory plan: numbers, targets with rationale, collaboration, schedule."""
    visible = visible_reps(engine, principal.user)
    return plan_for(engine, rep_id=rep_id, visible=visible).to_dict()


@router.get("/reps/{rep_id}/requestable-accounts")
def requestable_accounts_json(
    rep_id: RepId,
    engine: EngineDep,
    principal: TokenDep,
    q: Annotated[
        str, Query(min_length=2, max_length=200, description="Part of an id, name or city")
    ],
    limit: Annotated[int, Query(ge=1, le=200, description="Most accounts returned")] = 25,
) -> list[dict[str, Any]]:
    """Accounts of other territories the rep may request (a manager: their team's reps)."""
    visible = visible_reps(engine, principal.user)
    if visible is not None and rep_id not in visible:
        raise NotFoundError(f"no rep {rep_id!r}")
    return flags.requestable_accounts(engine, rep_id=rep_id, query=q, limit=limit)


@router.get("/accounts/{account_id}/view")
def account_view_json(
    account_id: AccountId, engine: EngineDep, principal: TokenDep
) -> dict[str, Any]:
    """Everything about one account: firmographics, scores, owners, timeline, routing."""
    return account_view(
        engine, account_id=account_id, visible_reps=visible_reps(engine, principal.user)
    )


@router.get("/flags")
def flags_json(
    engine: EngineDep,
    principal: TokenDep,
    status: Annotated[str, Query(description="open, accepted, declined or all")] = "open",
) -> list[dict[str, Any]]:
    """The reps' flags and requests (a manager sees their team's), oldest first."""
    return flags.list_flags(
        engine,
        status=None if status == "all" else status,
        rep_ids=visible_reps(engine, principal.user),
    )


@router.get("/flags/counts")
def flag_counts_json(
    engine: EngineDep,
    principal: TokenDep,
    plan_id: Annotated[int | None, Query(ge=1, description="Raised under this version")] = None,
    by: Annotated[Literal["rep", "territory"], Query(description="rep or territory")] = "rep",
) -> list[dict[str, Any]]:
    """Reps' feedback per rep (or per territory: ``by=territory``), for the plan review."""
    visible = visible_reps(engine, principal.user)
    if visible is not None and by == "territory":
        raise PermissionDeniedError("feedback per territory is for planners; ask by=rep")
    rows = flags.feedback_counts(engine, plan_id=plan_id, by=by)
    return [r for r in rows if visible is None or r["rep_id"] in visible]


class FlagIn(BaseModel):
    """A rep's flag on an account of their book, or request for another territory's."""

    rep_id: str = Field(min_length=1, max_length=128)
    account_id: str = Field(min_length=1, max_length=128)
    kind: str = Field(
        description="wrong_territory, wrong_segment, customer_of_another_rep, "
        "out_of_business, duplicate or request"
    )
    comment: str = Field(min_length=1, max_length=2000)
    to_territory: str | None = Field(default=None, max_length=128)


@router.post("/flags", status_code=201)
def add_flag_json(body: FlagIn, engine: EngineDep, principal: TokenDep) -> dict[str, Any]:
    """Record a flag or request on behalf of a rep (a manager's token: their team's);
    it joins the planners' queue."""
    visible = visible_reps(engine, principal.user)
    if visible is not None and body.rep_id not in visible:
        raise NotFoundError(f"no rep {body.rep_id!r}")
    return flags.add_flag(
        engine,
        rep_id=body.rep_id,
        account_id=body.account_id,
        kind=body.kind,
        comment=body.comment,
        to_territory=body.to_territory,
        by=principal.name,
    )


class AcceptIn(BaseModel):
    to_territory: str | None = Field(default=None, max_length=128)
    draft_plan_id: int | None = Field(default=None, ge=1)
    note: str | None = Field(default=None, max_length=2000)


class DeclineIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/flags/{flag_id}/accept")
def accept_flag(
    flag_id: FlagId, body: AcceptIn, engine: EngineDep, actor: ActorDep
) -> dict[str, Any]:
    """Accept a flag: the move goes into a draft version; the rep is notified."""
    return flags.accept(
        engine,
        flag_id=flag_id,
        actor=actor,
        to_territory=body.to_territory,
        draft_plan_id=body.draft_plan_id,
        note=body.note,
    )


@router.post("/flags/{flag_id}/decline")
def decline_flag(
    flag_id: FlagId, body: DeclineIn, engine: EngineDep, actor: ActorDep
) -> dict[str, Any]:
    """Decline a flag with the reason the rep is told."""
    return flags.decline(engine, flag_id=flag_id, reason=body.reason, actor=actor)
