"""Bounded parsing: no body, file or address can make a hang, a crash or a 500."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import AUTH, make_client
from territorial.bounded import JSON_MAX_DEPTH, UnsafeInputError, json_depth, load_yaml
from territorial.errors import ConfigError
from territorial.scoring.config import load_config

ALIAS_BOMB = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_alias_bomb_is_refused_fast_and_small(client: TestClient) -> None:
    """The 400-byte bomb that grew the server to 7 GB for 120 s: a 422 naming the alias."""
    tracemalloc.start()
    started = time.perf_counter()
    response = client.post("/api/rules/validate", json={"source": ALIAS_BOMB}, headers=AUTH)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 422, response.text
    assert "aliases (*a) are not allowed" in response.json()["message"]
    assert response.json()["problems"][0]["row"] == 3
    # Generous bounds (the unbounded loader ran for minutes and took gigabytes).
    assert elapsed < 5.0
    assert peak < 100 * 2**20


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: " + "[" * 5000 + "]" * 5000, "more than 64 levels deep"),
        ("base: &b {x: 1}\nother: *b\n", "aliases (*b) are not allowed"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", "merge keys (<<) are not allowed"),
        ("a: 1\n<<: {x: 1}\n", "merge keys (<<) are not allowed"),
        ("a: !!python/object:os.system {}\n", "is not allowed"),
        ("a: !!python/name:os.system ''\n", "is not allowed"),
        ("a: 1\n---\nb: 2\n", "more than one YAML document"),
        ("? [a, b]\n: 1\n", "a key must be a plain value"),
    ],
)
def test_unsafe_yaml_is_refused_with_the_line(text: str, reason: str) -> None:
    with pytest.raises(UnsafeInputError) as caught:
        load_yaml(text, source="x.yaml")
    assert reason in caught.value.problems[0].reason
    assert caught.value.problems[0].row is not None


def test_yaml_size_and_value_limits() -> None:
    with pytest.raises(UnsafeInputError, match="at most 10 are read"):
        load_yaml("a: 12345678901\n", max_chars=10)
    with pytest.raises(UnsafeInputError, match="more than 5 values"):
        load_yaml("[1, 2, 3, 4, 5, 6]", max_nodes=5)


def test_rules_yaml_nested_5000_deep_is_a_422_not_a_500(client: TestClient) -> None:
    deep = "version: 1\nregions: " + "[" * 5000 + "]" * 5000
    for path in ("/api/rules", "/api/rules/validate"):
        response = client.post(path, json={"source": deep}, headers=AUTH)
        assert response.status_code == 422, (path, response.text)
        assert "64 levels deep" in response.json()["message"]


@pytest.mark.parametrize("depth", [40, 1000, 5000])
def test_deeply_nested_json_is_a_422(client: TestClient, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    batch = '{"records": [{"attributes": {"x": ' + nested + "}}]}"
    one = '{"record": {"attributes": {"x": ' + nested + "}}}"
    for path, body in (("/api/route/batch", batch), ("/api/route", one)):
        response = client.post(
            path, content=body, headers={**AUTH, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (path, response.text)
        assert f"at most {JSON_MAX_DEPTH} are read" in response.json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/workspace/static/app%00.css",
        "/workspace/static/%00",
        "/api/decisions/1%00",
        "/api/rules?limit=1%00",
        "/docs%00",
    ],
)
def test_nul_in_an_address_is_a_400(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert "NUL" in response.json()["message"]


def test_body_over_the_limit_is_a_413_naming_it(tmp_path: Path) -> None:
    with make_client(tmp_path, max_request_mb=0.01) as client:
        response = client.post("/api/rules/validate", json={"source": "x" * 20_000}, headers=AUTH)
    assert response.status_code == 413
    assert "at most 10,485 (setting max_request_mb)" in response.json()["message"]


def test_scoring_configuration_problems_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "scoring.yaml"
    path.write_text("tiers:\n  thresholds:\n    a: 40\n    b: 60\ncapacity:\n  utilisaton: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = caught.value.message
    assert f"{path}:4: tiers.thresholds.b: (60) must not exceed a (40)" in message
    assert f"{path}:6: capacity.utilisaton: unknown key 'utilisaton'" in message


def test_scoring_configuration_refuses_aliases(tmp_path: Path) -> None:
    path = tmp_path / "scoring.yaml"
    path.write_text("a: &x 1\nb: *x\n")
    with pytest.raises(ConfigError, match=r"aliases \(\*x\) are not allowed"):
        load_config(path)


def _reference_depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_reference_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_reference_depth(v) for v in value), default=0)
    return 0


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n'),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), children, max_size=4)
    ),
    max_leaves=30,
)


@given(_json_values)
@settings(max_examples=300, deadline=None)
def test_json_depth_matches_the_parsed_value(value: object) -> None:
    assert json_depth(json.dumps(value).encode()) == _reference_depth(value)
