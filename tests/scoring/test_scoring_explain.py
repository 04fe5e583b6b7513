"""Reasons: vectorised top-k selection and number formatting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from territorial.scoring.explain import format_money, signed, top_reasons


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([1.0, -3.0, 2.0, 0.0], "b; c; a"),
        ([0.0, 0.0, 0.0, 0.0], ""),
        ([np.nan, 5.0, 0.0, 0.0], "b"),
        ([1.0, 1.0, 1.0, 1.0], "a; b; c"),
    ],
)
def test_top_reasons(amounts: list[float], expected: str) -> None:
    texts = np.array([["a", "b", "c", "d"]], dtype=object)
    assert top_reasons(np.array([amounts]), texts, top=3)[0] == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (950, "$950"),
        (12_500, "$12.5k"),
        (3_200_000, "$3.2M"),
        (1_000_000, "$1M"),
        (2.1e9, "$2.1B"),
        (np.nan, "unknown"),
    ],
)
def test_format_money(value: float, text: str) -> None:
    assert format_money([value])[0] == text


def test_signed() -> None:
    assert list(signed([22.4, -0.6, 0.0])) == ["+22", "-1", "+0"]
    assert list(signed([0.183, -0.05], decimals=2)) == ["+0.18", "-0.05"]


@given(arrays(np.float64, (5, 4), elements=st.floats(-100, 100)))
def test_top_reasons_picks_the_largest(amounts: np.ndarray) -> None:
    texts = np.array([[f"r{j}" for j in range(4)]] * 5, dtype=object)
    out = top_reasons(amounts, texts, top=2)
    for i in range(5):
        chosen = [p for p in out[i].split("; ") if p]
        picked = [abs(amounts[i, int(p[1:])]) for p in chosen]
        others = [abs(amounts[i, j]) for j in range(4) if f"r{j}" not in chosen]
        assert all(a > 0 for a in picked)
        if len(chosen) == 2:
            assert min(picked) >= max(others)
