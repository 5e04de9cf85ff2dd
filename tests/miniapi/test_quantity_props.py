"""Hypothesis properties of resource.Quantity against exact Fraction arithmetic.

The oracle for parsing is a direct reading of the quantity grammar in Fractions:
sign * number * suffix multiplier, rounded away from zero to a whole nano, with
BinarySI capped at 2**63-1 (quantity.go, ParseQuantity).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from miniapi.resource import BINARY_SI, DECIMAL_EXPONENT, DECIMAL_SI, Quantity, parse_quantity

DEC = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BIN = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
NANO = Fraction(1, 10**9)
INT64_MAX, INT64_MIN = (1 << 63) - 1, -(1 << 63)
CANONICAL_RE = re.compile(r"-?(0|[1-9][0-9]*)([numkMGTPE]|[KMGTPE]i|e-?[0-9]+)?\Z")


def quantities() -> st.SearchStrategy[Quantity]:
    """Quantities that print without loss: at nano granularity, DecimalSI below 10**21
    (past "E" upstream drops the suffix), BinarySI below 2**63 (the parse cap)."""
    decimal_si = st.builds(
        Quantity, st.integers(-(10**12), 10**12), st.integers(-9, 6), st.just(DECIMAL_SI)
    )
    exponent = st.builds(
        Quantity, st.integers(-(10**20), 10**20), st.integers(-9, 40), st.just(DECIMAL_EXPONENT)
    )
    binary = st.builds(
        lambda m, k, s: Quantity(m * 1024**k, s, BINARY_SI),
        st.integers(-(2**20), 2**20),
        st.integers(0, 4),
        st.integers(-9, 0),
    )
    return st.one_of(decimal_si, exponent, binary)


def quantity_strings() -> st.SearchStrategy[str]:
    """Well-formed quantity strings: sign, digits[.digits], and any legal suffix."""
    digits = st.from_regex(r"[0-9]{1,22}", fullmatch=True)
    number = st.one_of(
        digits,
        st.builds(lambda a, b: a + "." + b, digits, digits),
        st.builds(lambda b: "." + b, digits),
    )
    exponent = st.builds(
        lambda e, sign, n: e + sign + str(n),
        st.sampled_from("eE"),
        st.sampled_from(["", "+", "-"]),
        st.integers(0, 40),
    )
    suffix = st.one_of(st.sampled_from(sorted(DEC) + sorted(BIN)), exponent)
    return st.builds(lambda s, n, x: s + n + x, st.sampled_from(["", "+", "-"]), number, suffix)


def expected_value(text: str) -> Fraction:
    m = re.fullmatch(r"([+-]?)([0-9]*\.?[0-9]*)(.*)", text)
    assert m is not None
    sign, number, suffix = m.groups()
    amount = Fraction(number if number.strip(".") else "0")
    if suffix in BIN:
        amount *= 2 ** BIN[suffix]
    elif suffix in DEC:
        amount *= Fraction(10) ** DEC[suffix]
    else:
        amount *= Fraction(10) ** int(suffix[1:])
    amount = math.ceil(amount / NANO) * NANO  # amount >= 0 here: ceil is away from zero
    if suffix in BIN:
        amount = min(amount, Fraction(INT64_MAX))
    return -amount if sign == "-" else amount


def away_from_zero(x: Fraction) -> int:
    v = math.ceil(x) if x >= 0 else math.floor(x)
    return max(INT64_MIN, min(INT64_MAX, v))


@settings(deadline=None, max_examples=60)
@given(quantity_strings())
def test_parse_agrees_with_fraction_reading(text: str) -> None:
    assert parse_quantity(text).as_fraction() == expected_value(text)


@settings(deadline=None, max_examples=60)
@given(quantity_strings())
def test_canonical_form_is_a_fixed_point(text: str) -> None:
    q = parse_quantity(text)
    assume(q.format != DECIMAL_SI or abs(q.as_fraction()) < 10**21)
    canonical = str(q)
    again = parse_quantity(canonical)
    assert again == q
    assert str(again) == canonical


@settings(deadline=None, max_examples=60)
@given(quantities())
def test_string_round_trip(q: Quantity) -> None:
    text = str(q)
    assert CANONICAL_RE.match(text), text
    back = parse_quantity(text)
    assert back == q
    assert str(back) == text


@settings(deadline=None, max_examples=60)
@given(quantities(), quantities())
def test_arithmetic_and_order_match_fractions(a: Quantity, b: Quantity) -> None:
    x, y = a.as_fraction(), b.as_fraction()
    assert (a + b).as_fraction() == x + y
    assert (a - b).as_fraction() == x - y
    assert (-a).as_fraction() == -x
    assert (a * 3).as_fraction() == 3 * x
    assert a.cmp(b) == (x > y) - (x < y)
    assert (a == b) == (x == y)
    if a == b:
        assert hash(a) == hash(b)
    assert (a + b) - b == a


@settings(deadline=None, max_examples=60)
@given(quantities())
def test_value_and_milli_value_round_away_from_zero(q: Quantity) -> None:
    x = q.as_fraction()
    assert q.value() == away_from_zero(x)
    assert q.milli_value() == away_from_zero(x * 1000)
    assert q.is_zero() == (x == 0)
    assert q.sign() == (x > 0) - (x < 0)
