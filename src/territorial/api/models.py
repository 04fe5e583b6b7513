"""Request and response models of the routing API (separate Create/Update/Public models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    model_validator,
    with_config,
)
from pydantic import ValidationError as PydanticValidationError
from typing_extensions import TypedDict

from territorial.bounded import JSON_MAX_DEPTH, json_depth

#: No NUL characters: PostgreSQL text cannot hold them.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=255, pattern=NO_NUL)]
ShortText = Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]


def _not_text(value: Any) -> Any:
    """Numbers must be JSON numbers: refuse "12" and true where a number is expected."""
    if isinstance(value, str | bool):
        raise ValueError("expected a JSON number, not text or a boolean")
    return value


def _iso_date(value: Any) -> Any:
    """Dates must be ISO text (YYYY-MM-DD), not numbers."""
    if not isinstance(value, str | date):
        raise ValueError("expected a date as text YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_date)]
# The limits come before the text check so that they land in the JSON schema as
# ``minimum``/``maximum`` (after a before-validator pydantic can only write "ge"/"le",
# which OpenAPI clients ignore).
Number = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_not_text)]
Count = Annotated[int, Field(ge=0, le=10_000_000), BeforeValidator(_not_text)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False), BeforeValidator(_not_text)]
Longitude = Annotated[
    float, Field(ge=-180, le=180, allow_inf_nan=False), BeforeValidator(_not_text)
]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False), BeforeValidator(_not_text)]
AttributeValue = (
    Annotated[str, Field(max_length=1000, pattern=NO_NUL)] | StrictInt | Number | StrictBool | None
)
Kind = Literal["lead", "account", "opportunity", "contact"]


class RecordIn(BaseModel):
    """A lead, account, opportunity or contact to route. Extra fields go in ``attributes``."""

    model_config = ConfigDict(extra="forbid")

    id: Text | None = Field(None, description="CRM id of the record")
    name: Text | None = Field(None, description="Account name (or the lead's company)")
    company: Text | None = Field(None, description="Lead's company name")
    email: Text | None = None
    website: Text | None = None
    domain: Text | None = None
    street: Text | None = None
    city: Text | None = None
    state: Text | None = None
    postal_code: Annotated[str, Field(max_length=16, pattern=NO_NUL)] | None = None
    country: Text | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    industry: Text | None = None
    employees: Count | None = None
    annual_revenue: NonNegative | None = Field(None, description="Dollars per year")
    segment: Text | None = None
    owner_id: Text | None = Field(None, description="Current owner (holdover of opportunities)")
    account_id: Text | None = Field(None, description="Known account (opportunities, contacts)")
    is_closed: StrictBool | None = Field(None, description="Opportunities: closed (won or lost)")
    amount: NonNegative | None = None
    attributes: (
        dict[Annotated[str, Field(max_length=64, pattern=NO_NUL)], AttributeValue] | None
    ) = Field(None, description="Any other field rules may test (e.g. tier)", max_length=100)


class RouteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = "lead"
    record: RecordIn


@with_config(ConfigDict(extra="forbid", title="BatchRecordIn"))
class BatchRecordIn(TypedDict, total=False):
    """One record of a batch: the fields and checks of :class:`RecordIn`.

    A typed dict, not a model: pydantic checks it without building (and then dumping)
    an object per record, which is most of the cost of a 50,000-record batch.
    """

    id: Text | None
    name: Text | None
    company: Text | None
    email: Text | None
    website: Text | None
    domain: Text | None
    street: Text | None
    city: Text | None
    state: Text | None
    postal_code: Annotated[str, Field(max_length=16, pattern=NO_NUL)] | None
    country: Text | None
    latitude: Latitude | None
    longitude: Longitude | None
    industry: Text | None
    employees: Count | None
    annual_revenue: NonNegative | None
    segment: Text | None
    owner_id: Text | None
    account_id: Text | None
    is_closed: StrictBool | None
    amount: NonNegative | None
    attributes: (
        Annotated[
            dict[Annotated[str, Field(max_length=64, pattern=NO_NUL)], AttributeValue],
            Field(max_length=100),
        ]
        | None
    )


class BatchRouteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = "lead"
    records: list[BatchRecordIn] = Field(min_length=1, max_length=200_000)


_BATCH_REQUEST = TypeAdapter(BatchRouteRequest)

# The fast check of a batch: the fields of ``BatchRecordIn`` without the NUL pattern
# (for bodies without a ``\u0000`` escape, the only way JSON text holds a NUL) and with
# numbers checked by pydantic's strict mode instead of a Python function per value.
# It accepts a subset of what ``BatchRecordIn`` accepts and gives the same values;
# whatever it refuses is checked again by ``BatchRecordIn``, whose errors are the
# answer (tests/api/test_api_batch_validation.py holds the two together).
_FastText = Annotated[str, Field(max_length=255)]
_FastNumber = Annotated[float, Field(allow_inf_nan=False, strict=True)]
_FastCount = Annotated[int, Field(ge=0, le=10_000_000, strict=True)]
_FastAttributeValue = (
    Annotated[str, Field(max_length=1000)] | StrictInt | _FastNumber | StrictBool | None
)


@with_config(ConfigDict(extra="forbid", title="FastBatchRecordIn"))
class _FastBatchRecordIn(TypedDict, total=False):
    id: _FastText | None
    name: _FastText | None
    company: _FastText | None
    email: _FastText | None
    website: _FastText | None
    domain: _FastText | None
    street: _FastText | None
    city: _FastText | None
    state: _FastText | None
    postal_code: Annotated[str, Field(max_length=16)] | None
    country: _FastText | None
    latitude: Annotated[_FastNumber, Field(ge=-90, le=90)] | None
    longitude: Annotated[_FastNumber, Field(ge=-180, le=180)] | None
    industry: _FastText | None
    employees: _FastCount | None
    annual_revenue: Annotated[_FastNumber, Field(ge=0)] | None
    segment: _FastText | None
    owner_id: _FastText | None
    account_id: _FastText | None
    is_closed: StrictBool | None
    amount: Annotated[_FastNumber, Field(ge=0)] | None
    attributes: (
        Annotated[
            dict[Annotated[str, Field(max_length=64)], _FastAttributeValue],
            Field(max_length=100),
        ]
        | None
    )


class _FastBatchRouteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = "lead"
    records: list[_FastBatchRecordIn] = Field(min_length=1, max_length=200_000)


_FAST_BATCH_REQUEST = TypeAdapter(_FastBatchRouteRequest)


def _validate_batch(data: Any, *, body: bytes) -> BatchRouteRequest:
    """``data`` checked by the fast validator when it can be, else by the full one."""
    if b"\\u0000" not in body:
        try:
            fast = _FAST_BATCH_REQUEST.validate_python(data)
        except PydanticValidationError:
            pass  # the full check below gives the errors
        else:
            return BatchRouteRequest.model_construct(
                fast.model_fields_set, kind=fast.kind, records=fast.records
            )
    return _BATCH_REQUEST.validate_python(data)


def parse_batch(body: bytes, *, content_type: str | None = None) -> BatchRouteRequest:
    """A :class:`BatchRouteRequest` from its JSON body, parsed in one pass with orjson.

    Bad input raises FastAPI's ``RequestValidationError`` with the same locations
    FastAPI's own body parsing gives (``body.records.3.employees``), so the 422 answer
    names the record and the field.
    """
    if content_type and not _is_json(content_type):
        raise RequestValidationError(
            [
                {
                    "type": "content_type",
                    "loc": ("body",),
                    "msg": f"expected a JSON body (Content-Type: application/json), "
                    f"not {content_type!r}",
                    "input": None,
                }
            ]
        )
    if not body:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if (depth := json_depth(body)) > JSON_MAX_DEPTH:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body",),
                        "msg": f"the body nests objects and arrays {depth} levels deep; "
                        f"at most {JSON_MAX_DEPTH} are read",
                        "input": None,
                    }
                ]
            ) from None
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": f"JSON decode error at character {exc.pos}: {exc.msg}",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        ) from exc
    try:
        return _validate_batch(data, body=body)
    except PydanticValidationError as exc:
        # Only a refused body is measured (the accepted shape is 4 levels deep): a body
        # nested far deeper is named as such rather than by its first bad field.
        if (depth := json_depth(body)) > JSON_MAX_DEPTH:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body",),
                        "msg": f"the body nests objects and arrays {depth} levels deep; "
                        f"at most {JSON_MAX_DEPTH} are read",
                        "input": None,
                    }
                ]
            ) from None
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc


def _is_json(content_type: str) -> bool:
    """``application/json`` or ``application/*+json``, parameters ignored."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    """A JSON schema with every ``#/$defs/...`` reference replaced by its definition."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(v, defs) for v in schema]
    return schema


def _batch_request_body() -> dict[str, Any]:
    schema = _BATCH_REQUEST.json_schema()
    return {
        "required": True,
        "content": {"application/json": {"schema": _inline_refs(schema, schema.get("$defs", {}))}},
    }


#: OpenAPI ``requestBody`` of ``POST /api/route/batch`` (its handler reads the raw body).
BATCH_REQUEST_BODY: dict[str, Any] = _batch_request_body()


class DecisionSummary(BaseModel):
    """One audit-log entry without its trace."""

    id: int
    decided_at: datetime
    rule_set_id: int | None
    batch_id: str | None
    record_kind: str
    record_id: str | None
    account_id: str | None
    territory_id: str | None
    owner_id: str | None
    reason: str


class DecisionPublic(DecisionSummary):
    """A decision with its why-trace: rules tried, matched, the winner and why."""

    trace: dict[str, Any]


class BatchDecision(BaseModel):
    id: int
    record_id: str | None
    account_id: str | None
    territory_id: str | None
    owner_id: str | None
    reason: str


class BatchResponse(BaseModel):
    batch_id: str
    count: int
    decisions: list[BatchDecision]


class RuleSetCreate(BaseModel):
    """A rules file (YAML text, see docs/routing.md)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1, max_length=20_000_000, pattern=NO_NUL, description="YAML text"
    )


class RuleSetPublic(BaseModel):
    id: int
    name: str
    status: str
    digest: str
    created_at: datetime
    created_by: str | None
    activated_at: datetime | None
    summary: dict[str, Any]


class RuleSetDetail(RuleSetPublic):
    source: str


class ProblemOut(BaseModel):
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    reason: str
    severity: str = "error"


class ValidationReport(BaseModel):
    valid: bool
    problems: list[ProblemOut]
    summary: dict[str, Any] | None
    coverage: dict[str, Any] | None


class OverrideCreate(BaseModel):
    """A manual override of one account's territory and/or owner, with reason and expiry."""

    model_config = ConfigDict(extra="forbid")

    account_id: ShortText
    territory_id: ShortText | None = None
    owner_id: ShortText | None = None
    reason: Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]
    expires_on: Day

    @model_validator(mode="after")
    def _target(self) -> OverrideCreate:
        if self.territory_id is None and self.owner_id is None:
            raise ValueError("give territory_id, owner_id or both")
        if not self.reason.strip():
            raise ValueError("reason must not be blank")
        return self


class OverridePublic(BaseModel):
    id: int
    account_id: str
    territory_id: str | None
    owner_id: str | None
    reason: str
    expires_on: Day
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None


class AbsenceUpdate(BaseModel):
    """A rep is out of office from ``start`` to ``end`` (inclusive); pools skip them."""

    model_config = ConfigDict(extra="forbid")

    start: Day
    end: Day
    note: Annotated[str, Field(max_length=2000, pattern=NO_NUL)] | None = None

    @model_validator(mode="after")
    def _order(self) -> AbsenceUpdate:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class AbsencePublic(BaseModel):
    rep_id: str
    start: date
    end: date
    note: str | None


class AlertPublic(BaseModel):
    id: int
    created_at: datetime
    decision_id: int | None
    alert: str
    channel: str
    target: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class CoveragePublic(BaseModel):
    accounts: int
    claimed: int
    unclaimed_count: int
    unclaimed: list[str]
    excluded_count: int
    excluded: list[str]
    empty_territories: list[str]
    per_territory: list[dict[str, Any]]
    overlaps: list[dict[str, Any]]


class SimulationPublic(BaseModel):
    accounts: int
    moved: int
    per_rep: list[dict[str, Any]]
    moves: list[dict[str, Any]]
    current_rule_set_id: int | None
    proposed_rule_set_id: int


class Health(BaseModel):
    status: str
    version: str
