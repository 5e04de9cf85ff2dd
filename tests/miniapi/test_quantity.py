"""Tables for resource.Quantity, after apimachinery/pkg/api/resource/quantity_test.go.

Each table row restates an upstream case: the parsed value and format, the canonical
string, the error text, or the rounding of Value()/MilliValue().
"""

from __future__ import annotations

import copy
import pickle
from fractions import Fraction

import pytest

from miniapi.resource import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    ERR_FORMAT_WRONG,
    ERR_NUMERIC,
    ERR_SUFFIX,
    MAX_ALLOWED,
    Quantity,
    must_parse,
    new_milli_quantity,
    new_quantity,
    new_scaled_quantity,
    parse_quantity,
)

KI, MI, GI, TI, PI, EI = (1 << (10 * k) for k in range(1, 7))

# input, exact value, format (TestQuantityParse)
PARSE_CASES = [
    ("0", 0, DECIMAL_SI),
    ("0n", 0, DECIMAL_SI),
    ("0Ki", 0, BINARY_SI),
    ("0M", 0, DECIMAL_SI),
    ("0Ti", 0, BINARY_SI),
    ("1", 1, DECIMAL_SI),
    ("1Ki", KI, BINARY_SI),
    ("8Ki", 8 * KI, BINARY_SI),
    ("7Mi", 7 * MI, BINARY_SI),
    ("6Gi", 6 * GI, BINARY_SI),
    ("5Ti", 5 * TI, BINARY_SI),
    ("4Pi", 4 * PI, BINARY_SI),
    ("3Ei", 3 * EI, BINARY_SI),
    ("100Ti", 100 * TI, BINARY_SI),
    ("5n", Fraction(5, 10**9), DECIMAL_SI),
    ("4u", Fraction(4, 10**6), DECIMAL_SI),
    ("3m", Fraction(3, 1000), DECIMAL_SI),
    ("50k", 50_000, DECIMAL_SI),
    ("40T", 40 * 10**12, DECIMAL_SI),
    ("2P", 2 * 10**15, DECIMAL_SI),
    ("1E", 10**18, DECIMAL_SI),
    ("1E-3", Fraction(1, 1000), DECIMAL_EXPONENT),
    ("1e3", 1000, DECIMAL_EXPONENT),
    ("1E18", 10**18, DECIMAL_EXPONENT),
    ("1e13", 10**13, DECIMAL_EXPONENT),
    ("100.035k", 100_035, DECIMAL_SI),
    ("0.001", Fraction(1, 1000), DECIMAL_SI),
    ("0.0005k", Fraction(1, 2), DECIMAL_SI),
    ("0.50000", Fraction(1, 2), DECIMAL_SI),
    ("0.5e-2", Fraction(5, 1000), DECIMAL_EXPONENT),
    ("10.035M", 10_035_000, DECIMAL_SI),
    ("1.3E+6", 1_300_000, DECIMAL_EXPONENT),
    ("1.53E12", 153 * 10**10, DECIMAL_EXPONENT),
    ("7.123456M", 7_123_456, DECIMAL_SI),
    ("1.01E", 101 * 10**16, DECIMAL_SI),
    # rounding up to a whole nano, and the BinarySI cap
    ("3.001n", Fraction(4, 10**9), DECIMAL_SI),
    ("1.1E-9", Fraction(2, 10**9), DECIMAL_EXPONENT),
    ("0.0000000001", Fraction(1, 10**9), DECIMAL_SI),
    ("0.5e-9", Fraction(1, 10**9), DECIMAL_EXPONENT),
    ("0.9n", Fraction(1, 10**9), DECIMAL_SI),
    ("0.00000012345", Fraction(124, 10**9), DECIMAL_SI),
    ("9Ei", MAX_ALLOWED, BINARY_SI),
    ("9223372036854775807Ki", MAX_ALLOWED, BINARY_SI),
    ("12E", 12 * 10**18, DECIMAL_SI),
    # fractional binary values
    ("100.035Ki", Fraction(10243584, 100), BINARY_SI),
    ("0.5Mi", MI // 2, BINARY_SI),
    ("0.025Ti", Fraction(274877906944, 10), BINARY_SI),
    # odd but legal spellings
    ("0.000000000001Ki", Fraction(2, 10**9), DECIMAL_SI),
    (".001", Fraction(1, 1000), DECIMAL_SI),
    ("1.", 1, DECIMAL_SI),
    ("1.G", 10**9, DECIMAL_SI),
    (".", 0, DECIMAL_SI),
]


@pytest.mark.parametrize(("text", "value", "fmt"), PARSE_CASES)
def test_parse_value_and_format(text: str, value: Fraction | int, fmt: str) -> None:
    for sign, prefix in ((1, ""), (1, "+"), (-1, "-")):
        q = parse_quantity(prefix + text)
        assert q.as_fraction() == sign * Fraction(value), prefix + text
        assert q.format == fmt


ERROR_CASES = [
    ("", ERR_FORMAT_WRONG),
    ("1.1.M", ERR_FORMAT_WRONG),
    ("1+1.0M", ERR_FORMAT_WRONG),
    ("0.1am", ERR_FORMAT_WRONG),
    ("aoeu", ERR_FORMAT_WRONG),
    (" 1", ERR_FORMAT_WRONG),
    ("1 ", ERR_FORMAT_WRONG),
    ("1e3e", ERR_FORMAT_WRONG),
    ("0.1mi", ERR_SUFFIX),
    (".5i", ERR_SUFFIX),
    ("1i", ERR_SUFFIX),
    ("-3.01i", ERR_SUFFIX),
    ("-3.01e-", ERR_SUFFIX),
    ("1e", ERR_SUFFIX),
    ("1-", ERR_SUFFIX),
    ("1Ki3", ERR_SUFFIX),
    ("1e9223372036854775808", ERR_SUFFIX),  # past int64: strconv.ParseInt fails
    (".e-20", ERR_NUMERIC),  # no digits and off the int64 fast path
]


@pytest.mark.parametrize(("text", "message"), ERROR_CASES)
def test_parse_errors_carry_upstream_text(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_quantity(text)
    assert str(info.value) == message


def test_error_texts_are_upstreams() -> None:
    assert ERR_FORMAT_WRONG == (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    assert ERR_NUMERIC == "unable to parse numeric part of quantity"
    assert ERR_SUFFIX == "unable to parse quantity's suffix"
    with pytest.raises(ValueError, match="^cannot parse 'Non-Numeric': quantities must"):
        must_parse("Non-Numeric")


def test_bare_signs_and_points_are_zero() -> None:
    for text in ("-", "+", "-.", "+.", "-0", "000"):
        assert parse_quantity(text).is_zero()
        assert str(parse_quantity(text)) == "0"


def test_exponent_is_truncated_to_int32() -> None:
    # suffix.go keeps int32(parsed); kubectl 1.32 prints these same strings
    assert str(parse_quantity("1e4294967297")) == "10"
    assert str(parse_quantity("1e9223372036854775807")) == "100e-3"
    assert str(parse_quantity("1E2147483647")) == "10e2147483646"
    assert parse_quantity("1E2147483647").as_int64() == (0, False)
    assert parse_quantity("1e2147483647") > parse_quantity("9Ei")
    # upstream spins on these exponents; here they round up to 1n at once
    assert str(parse_quantity("1e-2147483647")) == "1e-9"
    assert str(parse_quantity("1E-2147483648")) == "1e-9"


# (unscaled, scale, format) -> canonical, and a non-canonical spelling of it (TestQuantityString)
STRING_CASES = [
    (GI, 0, BINARY_SI, "1Gi", "1024Mi"),
    (300 * MI, 0, BINARY_SI, "300Mi", "307200Ki"),
    (6 * KI, 0, BINARY_SI, "6Ki", ""),
    (1001 * GI, 0, BINARY_SI, "1001Gi", "1025024Mi"),
    (TI, 0, BINARY_SI, "1Ti", "1024Gi"),
    (5, 0, BINARY_SI, "5", "5000m"),
    (500, -3, BINARY_SI, "500m", "0.5"),
    (1, 9, DECIMAL_SI, "1G", "1000M"),
    (1000, 6, DECIMAL_SI, "1G", "0.001T"),
    (1, -3, DECIMAL_SI, "1m", "1000u"),
    (1080, -3, DECIMAL_SI, "1080m", "1.08"),
    (108, -2, DECIMAL_SI, "1080m", "1080000000n"),
    (10800, -4, DECIMAL_SI, "1080m", ""),
    (1, 18, DECIMAL_SI, "1E", ""),
    (1234567, 6, DECIMAL_SI, "1234567M", ""),
    (1234567, -3, BINARY_SI, "1234567m", ""),
    (1025, 0, BINARY_SI, "1025", ""),
    (0, 0, BINARY_SI, "0", ""),
    (1, 9, DECIMAL_EXPONENT, "1e9", ".001e12"),
    (1, -3, DECIMAL_EXPONENT, "1e-3", "0.001e0"),
    (1, -9, DECIMAL_EXPONENT, "1e-9", "1000e-12"),
    (80, -3, DECIMAL_EXPONENT, "80e-3", ""),
    (300, 6, DECIMAL_EXPONENT, "300e6", ""),
    (3, 3, DECIMAL_EXPONENT, "3e3", ""),
    (0, 0, DECIMAL_EXPONENT, "0", "00"),
    (108, -8, DECIMAL_SI, "1080n", ""),
    (80, -6, DECIMAL_SI, "80u", ""),
]


@pytest.mark.parametrize(("unscaled", "scale", "fmt", "canonical", "alternate"), STRING_CASES)
def test_canonical_string(
    unscaled: int, scale: int, fmt: str, canonical: str, alternate: str
) -> None:
    q = Quantity(unscaled, scale, fmt)
    assert str(q) == canonical
    assert str(parse_quantity(canonical)) == canonical
    if alternate:
        assert str(parse_quantity(alternate)) == canonical
    if unscaled:
        assert str(-q) == "-" + canonical


def test_suffix_outside_the_tables_is_dropped() -> None:
    # CanonicalizeBytes ignores a failed suffix lookup; kubectl 1.32 prints "1000E" as "1"
    assert str(parse_quantity("1000E")) == "1"
    assert str(parse_quantity("5000E")) == "5"
    assert str(Quantity(1, 21)) == "1"
    assert str(Quantity(1, 21, DECIMAL_EXPONENT)) == "1e21"
    assert str(parse_quantity("1e21")) == "1e21"
    assert str(Quantity(1, -12)) == "1"  # below n there is no suffix either
    assert str(Quantity(1, -10)) == "100"
    assert str(parse_quantity("1Ei") * 1024) == "1"  # 1024**7 has no binary suffix
    assert str(Quantity(1, 70, BINARY_SI)) == str(5**70)


def test_strings_without_a_parse() -> None:
    assert str(Quantity(2000, 0, BINARY_SI)) == "2000"  # not a multiple of 1024
    assert str(Quantity(-2000, 0, BINARY_SI)) == "-2000"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1Ki", "1Ki"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("0.5", "500m"),
        ("1.5G", "1500M"),
        ("1e3", "1e3"),
        ("100m", "100m"),
        ("1000", "1k"),
    ],
)
def test_parse_then_emit(text: str, canonical: str) -> None:
    assert str(parse_quantity(text)) == canonical
    assert str(parse_quantity("-" + text)) == "-" + canonical


def test_canonical_input_is_kept_verbatim() -> None:
    # quantity.go reuses the input string when it is already canonical by its test,
    # so these spellings survive a decode/encode round trip unchanged.
    assert str(parse_quantity("+1")) == "+1"
    assert str(parse_quantity("1E3")) == "1E3"
    assert str(parse_quantity("1e+3")) == "1e+3"
    assert str(parse_quantity("+1Ki")) == "+1Ki"
    assert str(parse_quantity("007")) == "007"  # leading zeros do not fail the test
    # ...but not once a computation produced the value
    assert str(parse_quantity("+1").add(Quantity())) == "1"
    assert str(-parse_quantity("1E3")) == "-1e3"


def test_compare() -> None:
    assert parse_quantity("0").cmp(parse_quantity("0")) == 0
    assert parse_quantity("100m").cmp(parse_quantity("50m")) == 1
    assert parse_quantity("50m").cmp(parse_quantity("100m")) == -1
    assert parse_quantity("10000T").cmp(parse_quantity("100Gi")) == 1
    assert Quantity(901, -2) > Quantity(90, -1)
    assert Quantity(800, -3) < Quantity(1)
    assert Quantity(800, -3) > Quantity(79, -2)
    assert Quantity(10**18, -17) == Quantity(1, 1)
    assert Quantity(-(10**18), -17) == Quantity(-10)
    assert Quantity(10**18 + 1, -17) > Quantity(1, 1)
    assert Quantity(-(1 << 63), -19) > Quantity(-1)
    assert parse_quantity("1Gi") == parse_quantity("1073741824")
    assert hash(parse_quantity("1Gi")) == hash(parse_quantity("1073741824"))
    assert parse_quantity("1") != "1"
    assert parse_quantity("1").cmp_int64(1) == 0


def test_round_up() -> None:
    for text, sign in (("9.01", 1), ("-9.01", -1)):
        q = parse_quantity(text)
        assert q.round_up(-3) == (Quantity(sign * 901, -2), True)
        assert q.round_up(-2) == (Quantity(sign * 901, -2), True)
        assert q.round_up(-1) == (Quantity(sign * 91, -1), False)
        assert q.round_up(0) == (Quantity(sign * 10), False)
        assert q.round_up(1) == (Quantity(sign * 10), False)
        assert q.round_up(2) == (Quantity(sign * 100), False)


def test_add_and_sub_keep_the_formats_upstream_keeps() -> None:
    zero = parse_quantity("0")
    for text in ("100m", "1Gi"):
        q = parse_quantity(text)
        assert str(q + zero) == text
        assert str(zero + q) == text
        assert str(q - zero) == text
        assert str(zero - q) == str(-q)
    assert (Quantity(10) - Quantity(1, 0, BINARY_SI)).format == DECIMAL_SI
    assert (Quantity(10, 0, BINARY_SI) - Quantity(1)).format == BINARY_SI
    assert Quantity(10) - Quantity(1, 1) == Quantity()
    assert Quantity() - Quantity(50) == Quantity(-50)
    neg = Quantity(-(1 << 63))  # the int64 corner upstream has to promote
    assert str(-neg) == "9223372036854775808"
    assert str(Quantity(1) - neg) == "9223372036854775809"


def test_neg() -> None:
    assert str(Quantity(901, -2).neg()) == "-9010m"
    assert -Quantity() == Quantity()
    assert (-Quantity(10, 0, BINARY_SI)).format == BINARY_SI


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [
        ("-.484785E-7466", -1, -1),
        (".484785E-7466", 1, 1),
        ("-.484785E-1", -1, -49),
        (".484785E-1", 1, 49),
        ("-0.0005", -1, -1),
        ("0.0005", 1, 1),
        ("-1500m", -2, -1500),
        ("1500m", 2, 1500),
        ("-9.5000000001Gi", -10200547329, -10200547328108),
        ("9.5000000001Gi", 10200547329, 10200547328108),
        ("-1", -1, -1000),
        ("0", 0, 0),
        ("1e30", (1 << 63) - 1, (1 << 63) - 1),  # saturates like AsScaledInt64
        ("-1e30", -(1 << 63), -(1 << 63)),
    ],
)
def test_value_rounds_away_from_zero(text: str, value: int, milli: int) -> None:
    q = parse_quantity(text)
    assert q.value() == value
    assert q.milli_value() == milli


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (1, DECIMAL_SI, "1m"),
        (1000, DECIMAL_SI, "1"),
        (1234000, DECIMAL_SI, "1234"),
        (1024, BINARY_SI, "1024m"),
        (1024 * 1024, BINARY_SI, "1048576m"),
        (1_000_000, DECIMAL_EXPONENT, "1e3"),
    ],
)
def test_milli_quantities(value: int, fmt: str, text: str) -> None:
    q = new_milli_quantity(value, fmt)
    assert q == Quantity.from_milli(value, fmt)
    assert str(q) == text
    assert parse_quantity(text).milli_value() == value


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (1, DECIMAL_SI, "1"),
        (1000, DECIMAL_SI, "1k"),
        (1234000, DECIMAL_SI, "1234k"),
        (1024, BINARY_SI, "1Ki"),
        (1_000_000, DECIMAL_EXPONENT, "1e6"),
        (1024 * 1024, BINARY_SI, "1Mi"),
    ],
)
def test_new_quantity(value: int, fmt: str, text: str) -> None:
    assert str(new_quantity(value, fmt)) == text
    assert parse_quantity(text).value() == value


@pytest.mark.parametrize(
    ("value", "scale", "text"),
    [(1, -9, "1n"), (1000, -9, "1u"), (1000, -6, "1m"), (1000, -3, "1"), (0, -9, "0")],
)
def test_scaled_quantity(value: int, scale: int, text: str) -> None:
    q = new_scaled_quantity(value, scale)
    assert str(q) == text
    assert parse_quantity(text).scaled_value(scale) == value


def test_scaled_value_table() -> None:
    scales = (-9, -6, -3, 0)
    for src in scales:
        for dst in scales:
            want = 10 ** (src - dst) if src > dst else 1
            assert new_scaled_quantity(1, src).scaled_value(dst) == want
    assert new_scaled_quantity(1, 2).scaled_value(-2) == 10_000


def test_immutable_and_copyable() -> None:
    q = parse_quantity("+1")
    with pytest.raises(AttributeError):
        q._c = 5  # type: ignore[misc]
    assert copy.deepcopy(q) is q
    back = pickle.loads(pickle.dumps(q))
    assert back == q and str(back) == "+1" and back.format == q.format
    assert repr(parse_quantity("1Gi")) == "Quantity('1Gi', BinarySI)"
