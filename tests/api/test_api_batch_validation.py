"""The batch body's fast check agrees with the full one, value for value and error for error.

``parse_batch`` first tries a validator without the NUL pattern (bodies without a
``\\u0000`` escape) and with strict numbers; anything it refuses is checked again by
``BatchRecordIn``. So the answer must always be exactly the full validator's.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territorial.api.models import _BATCH_REQUEST, BatchRecordIn, parse_batch

FIELDS = sorted(BatchRecordIn.__annotations__)

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 12.0, 12.5, 10_000_000, 10_000_001, -90.5, 180, 1e300]),
    st.text(max_size=20),
    st.sampled_from(["", "12", "true", "a\x00b", "x" * 256, "9" * 17, "ü"]),
    st.lists(st.integers(min_value=0, max_value=9), max_size=2),
)
attributes = st.dictionaries(st.text(max_size=3) | st.just("k" * 65), values, max_size=3)
records = st.dictionaries(
    st.sampled_from([*FIELDS, "unknown"]),
    values | attributes,
    max_size=6,
)
bodies = st.fixed_dictionaries(
    {"records": st.lists(records, min_size=1, max_size=4)},
    optional={"kind": st.sampled_from(["lead", "account", "nope"])},
)


def full(data: Any) -> tuple[str, Any]:
    """What the full validator alone answers: the records (typed) or the errors."""
    try:
        request = _BATCH_REQUEST.validate_python(data)
    except Exception as exc:  # pydantic's ValidationError
        return "errors", [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]  # type: ignore[attr-defined]
    return "ok", (request.kind, request.records)


def answer(body: bytes) -> tuple[str, Any]:
    try:
        request = parse_batch(body, content_type="application/json")
    except RequestValidationError as exc:
        return "errors", list(exc.errors())
    return "ok", (request.kind, request.records)


def typed(value: Any) -> Any:
    """A value with the type of every scalar (1 and 1.0 and True differ)."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [typed(v) for v in value]
    if isinstance(value, Exception):  # in an error's ctx: equal when the same text
        return (type(value).__name__, str(value))
    return (type(value).__name__, value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_fast_check_answers_what_the_full_check_answers(data: dict[str, Any]) -> None:
    body = orjson.dumps(data)
    data = orjson.loads(body)  # what parse_batch sees (JSON values only)
    assert typed(answer(body)) == typed(full(data))


@pytest.mark.parametrize(
    "record",
    [
        {"id": "a\x00b"},
        {"attributes": {"t\x00": 1}},
        {"employees": 12.0},
        {"employees": "12"},
        {"employees": True},
        {"latitude": 91},
        {"amount": 5},
        {"attributes": {"x": 1.0, "y": 2, "z": False}},
        {"postal_code": "1" * 17},
        {"postal_code": "1" * 16},
        {"id": "x" * 255, "city": "ü" * 255},
        {"id": "x" * 256},
        {"attributes": {"k" * 64: "v" * 1000}},
        {"attributes": {"k" * 65: 1}},
        {"attributes": {"v": "v" * 1001}},
        {"attributes": {str(i): i for i in range(101)}},
        {"employees": 10_000_000, "latitude": -90, "longitude": 180.0, "annual_revenue": 0},
        {"employees": -1},
        {"longitude": -180.5},
        {"is_closed": 1},
    ],
)
def test_fast_check_edge_cases(record: dict[str, Any]) -> None:
    body = orjson.dumps({"records": [record]})
    assert typed(answer(body)) == typed(full(orjson.loads(body)))
