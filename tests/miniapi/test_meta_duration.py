"""Go durations (time.ParseDuration / Duration.String), as metav1.Duration and flags use them."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapi.meta.v1.duration import duration_flag, format_duration, parse_duration


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1_500, "1.5µs"),
        (300_000_000, "300ms"),
        (1_500_000_000, "1.5s"),
        (90 * 10**9, "1m30s"),
        (3600 * 10**9, "1h0m0s"),
        (-120 * 10**9, "-2m0s"),
    ],
)
def test_go_spellings(ns: int, text: str) -> None:
    assert format_duration(ns) == text
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2", 'time: missing unit in duration "2"'),
        ("15x", 'time: unknown unit "x" in duration "15x"'),
        ("s", 'time: invalid duration "s"'),
    ],
)
def test_go_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value) == message
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        duration_flag(text)


@given(st.integers(-(10**15), 10**15))
def test_string_parses_back_to_the_same_duration(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns
