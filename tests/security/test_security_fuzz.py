"""Fuzz: rules YAML and route bodies, valid-looking and hostile, answer only 2xx or 4xx.

Hypothesis builds rules files from the format's own keys (with wrong types, unknown
keys, deep nesting, aliases and stray YAML syntax mixed in) and route bodies from
arbitrary JSON; every answer must be a 2xx or a 4xx with a JSON error body.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AUTH, EXAMPLE_RULES, make_client


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with make_client(Path(tmp_path_factory.mktemp("fuzz"))) as client:
        created = client.post(
            "/api/rules", json={"source": EXAMPLE_RULES.read_text()}, headers=AUTH
        )
        client.post(f"/api/rules/{created.json()['id']}/activate", headers=AUTH)
        yield client


KEYS = [
    "version",
    "name",
    "settings",
    "regions",
    "segments",
    "territories",
    "id",
    "match",
    "exclude",
    "priority",
    "owner",
    "pool",
    "members",
    "strategy",
    "state",
    "employees",
    "postal_code",
    "min",
    "max",
    "in",
    "not_in",
    "prefix",
    "range",
    "band",
    "near",
    "polygon",
    "accounts",
    "latitude",
    "longitude",
    "miles",
    "alerts",
    "webhook",
    "email",
    "overrides",
    "expires",
    "reason",
    "tie_breakers",
    "holdover_days",
    "weight",
    "capacity",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["CA", "rep-1", "2027-01-31", "https://hooks.example.com/x", "94*"])
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=40,
)


def _yaml_text(value: Any, noise: str) -> str:
    try:
        text = yaml.safe_dump(value, allow_unicode=True)
    except yaml.YAMLError:
        text = str(value)
    return text + noise


NOISE = st.sampled_from(
    ["", "\nx: &a [1]\ny: *a\n", "\n  - [", "\n" + "[" * 200, "\n\t- a", "\n<<: {}", "\n---\n"]
)


def _ok(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["message"]


@given(value=documents, noise=NOISE)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_rules_yaml_answers_2xx_or_4xx(fuzz_client: TestClient, value: Any, noise: str) -> None:
    source = _yaml_text(value, noise).replace("\x00", "")
    if not source.strip():
        source = "x"
    for path in ("/api/rules/validate", "/api/rules"):
        _ok(fuzz_client.post(path, json={"source": source}, headers=AUTH))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
record_fields = st.sampled_from(
    [
        "id",
        "state",
        "employees",
        "postal_code",
        "latitude",
        "longitude",
        "amount",
        "attributes",
        "email",
        "website",
        "is_closed",
        "annual_revenue",
    ]
)
records = st.dictionaries(record_fields | st.text(max_size=8), json_values, max_size=6)


@given(
    kind=st.sampled_from(["lead", "account", "opportunity", "contact", "robot", 3]),
    record=records,
    extra=st.dictionaries(st.text(max_size=6), json_values, max_size=2),
)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_route_bodies_answer_2xx_or_4xx(
    fuzz_client: TestClient, kind: Any, record: dict[str, Any], extra: dict[str, Any]
) -> None:
    _ok(
        fuzz_client.post("/api/route", json={"kind": kind, "record": record, **extra}, headers=AUTH)
    )
    _ok(
        fuzz_client.post(
            "/api/route/batch", json={"kind": kind, "records": [record, record]}, headers=AUTH
        )
    )


@given(body=st.binary(max_size=300))
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_raw_bytes_answer_4xx(fuzz_client: TestClient, body: bytes) -> None:
    for path in ("/api/route", "/api/route/batch", "/api/rules/validate"):
        _ok(
            fuzz_client.post(
                path, content=body, headers={**AUTH, "Content-Type": "application/json"}
            )
        )
