"""resource.Quantity: an exact fixed-point number with a remembered suffix style.

Mirrors k8s.io/apimachinery/pkg/api/resource/quantity.go (ParseQuantity,
parseQuantityString, CanonicalizeBytes, Add/Sub/Neg/Cmp, Value/MilliValue/
ScaledValue, NewQuantity/NewMilliQuantity/NewScaledQuantity), suffix.go (the
suffix tables and interpret) and amount.go (canonical mantissa/exponent, AsScale).
A Quantity is kept as `unscaled * 10**scale` with Python ints, never a float;
parsing rounds non-zero values away from zero to a multiple of 1n and caps
BinarySI values at 2**63-1, exactly like upstream.  Equality, hashing and order
compare the numeric value only (upstream's Equal/Cmp); the format is kept for
String().  Like upstream, a parsed string already in canonical form is reused
verbatim by str() (so "+1" and "1E3" print as written).
Upstream's quirks are kept, checked against kubectl 1.32 (tests/miniapi/
test_quantity_kubectl.py): an "e" exponent is truncated to int32 ("1e4294967297"
is 1e1), and a DecimalSI/BinarySI value whose exponent has no suffix in the
tables prints without one ("1000E" prints as "1").  Where upstream hangs on an
exponent near the int32 limits, this returns at once.
Omitted: the int64Amount/inf.Dec dual representation (one exact form here),
protobuf/CBOR marshalling, AsApproximateFloat64, QuantityValue (pflag).
"""

from __future__ import annotations

import re
from enum import StrEnum
from fractions import Fraction

__all__ = [
    "BINARY_SI",
    "DECIMAL_EXPONENT",
    "DECIMAL_SI",
    "ERR_FORMAT_WRONG",
    "ERR_NUMERIC",
    "ERR_SUFFIX",
    "Format",
    "MAX_ALLOWED",
    "Quantity",
    "must_parse",
    "new_milli_quantity",
    "new_quantity",
    "new_scaled_quantity",
    "parse_quantity",
    "SPLIT_RE_STRING",
]


class Format(StrEnum):
    """How a quantity is written back out (upstream's Format string values)."""

    DECIMAL_EXPONENT = "DecimalExponent"  # 12e6
    BINARY_SI = "BinarySI"  # 12Mi = 12 * 2**20
    DECIMAL_SI = "DecimalSI"  # 12M = 12 * 10**6


DECIMAL_EXPONENT = Format.DECIMAL_EXPONENT
BINARY_SI = Format.BINARY_SI
DECIMAL_SI = Format.DECIMAL_SI

# Scale constants of amount.go: the power-of-ten exponent.
NANO, MICRO, MILLI, KILO, MEGA, GIGA, TERA, PETA, EXA = -9, -6, -3, 3, 6, 9, 12, 15, 18

SPLIT_RE_STRING = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG = "quantities must match the regular expression '" + SPLIT_RE_STRING + "'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

MAX_ALLOWED = (1 << 63) - 1  # the BinarySI parse cap (maxAllowed)
_MAX_INT64, _MIN_INT64 = (1 << 63) - 1, -(1 << 63)

# A BinarySI value only arithmetic can push past 2**63 is written out in base 1024
# up to this many decimal digits; beyond, the decimal form guards against a hang.
_MAX_BINARY_DIGITS = 4000
_DEC_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BIN_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_BY_EXP = {e: s for s, e in _DEC_SUFFIXES.items()}
_BIN_BY_EXP = {e: s for s, e in _BIN_SUFFIXES.items()}
_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")
# strconv.ParseInt(s, 10, 64): optional sign, then ASCII digits only.
_PARSE_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


def _ndigits(c: int) -> int:
    return len(str(abs(c)))


def _normalize(c: int, e: int) -> tuple[int, int]:
    """Move every factor of ten of the mantissa into the exponent (zero is (0, 0))."""
    if c == 0:
        return 0, 0
    while c % 10 == 0:
        c //= 10
        e += 1
    return c, e


def _round_up(c: int, e: int, scale: int) -> tuple[int, int, bool]:
    """c*10**e rounded away from zero to a multiple of 10**scale; also whether exact."""
    if c == 0 or e >= scale:
        return c, e, True
    k = scale - e
    sign = -1 if c < 0 else 1
    if _ndigits(c) <= k:  # |value| < 10**scale: only the rounding unit is left
        return sign, scale, False
    q, r = divmod(abs(c), 10**k)
    return sign * (q + (1 if r else 0)), scale, r == 0


def _cmp(a: tuple[int, int], b: tuple[int, int]) -> int:
    (c1, e1), (c2, e2) = a, b
    s1, s2 = (c1 > 0) - (c1 < 0), (c2 > 0) - (c2 < 0)
    if s1 != s2 or s1 == 0:
        return (s1 > s2) - (s1 < s2)
    # Magnitudes decide before aligning, so 1e2147483647 vs 1 stays cheap (cmpDec).
    m1, m2 = _ndigits(c1) + e1, _ndigits(c2) + e2
    if m1 != m2:
        return s1 if m1 > m2 else -s1
    e = min(e1, e2)
    x, y = c1 * 10 ** (e1 - e), c2 * 10 ** (e2 - e)
    return (x > y) - (x < y)


def _scan(s: str) -> tuple[bool, str, str, str, str]:
    """parseQuantityString: (positive, value, num, denom, suffix) or ValueError."""
    positive, pos, end = True, 0, len(s)
    if pos < end and s[0] in "+-":
        positive = s[0] != "-"
        pos += 1
    while pos < end and s[pos] == "0":  # leading zeros
        pos += 1
    if pos >= end:
        return positive, "0", "0", "", ""
    start = pos
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    num = s[start:pos] or "0"
    denom = ""
    if pos < end and s[pos] == ".":
        pos += 1
        start = pos
        while pos < end and s[pos] in _DIGITS:
            pos += 1
        denom = s[start:pos]
    value, suffix_start = s[:pos], pos
    while pos < end and s[pos] in _SUFFIX_LETTERS:
        pos += 1
    if pos < end and s[pos] in "+-":
        pos += 1
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    if pos < end:  # a character that no part of the grammar accepts
        raise ValueError(ERR_FORMAT_WRONG)
    return positive, value, num, denom, s[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, Format]:
    """suffixHandler.interpret: (base, exponent, format) or ValueError(ErrSuffix)."""
    if suffix in _DEC_SUFFIXES:
        return 10, _DEC_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BIN_SUFFIXES:
        return 2, _BIN_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE" and _PARSE_INT_RE.match(suffix[1:]):
        parsed = int(suffix[1:])
        if _MIN_INT64 <= parsed <= _MAX_INT64:
            # int32(parsed): Go keeps only the low 32 bits
            return 10, (parsed + (1 << 31)) % (1 << 32) - (1 << 31), DECIMAL_EXPONENT
    raise ValueError(ERR_SUFFIX)


def _fast_path(
    positive: bool, num: str, denom: str, exponent: int, fmt: Format, s: str
) -> Quantity | None:
    """The int64 path of ParseQuantity; also decides whether `s` is already canonical."""
    mantissa = 1
    if fmt == BINARY_SI:
        if denom:
            return None
        mantissa = 1 << exponent
        # float32(exponent)*3/10 is exact for the multiples of ten used here
        precision = 15 - len(num) - exponent * 3 // 10 - 1
        scale = 0
    else:
        precision = 18 - (len(num) + len(denom))
        scale = exponent
    scale -= len(denom)
    if precision < 0 or scale < NANO:
        return None
    shifted = num + denom
    value = int(shifted)
    result = value * mantissa
    if result > _MAX_INT64:
        return None
    if not positive:
        result = -result
    if fmt == BINARY_SI:
        canonical = value & 0x07 != 0
    else:
        canonical = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
    return Quantity._make(result, scale, fmt, s if canonical else "")


def _slow_path(positive: bool, value: str, base: int, exponent: int, fmt: Format) -> Quantity:
    """The inf.Dec path: exact value, round up to 1n, cap BinarySI at 2**63-1."""
    digits = value.lstrip("+-")
    whole, _, frac = digits.partition(".")
    if not (whole + frac):
        raise ValueError(ERR_NUMERIC)
    c, e = int(whole + frac or "0"), -len(frac)
    if base == 10:
        e += exponent
    else:
        c <<= exponent
    c, e, _ = _round_up(c, e, NANO)
    if fmt == BINARY_SI and _cmp((c, e), (MAX_ALLOWED, 0)) > 0:
        c, e = MAX_ALLOWED, 0
    if fmt == BINARY_SI and c != 0 and _cmp((c, e), (1, 0)) < 0:
        fmt = DECIMAL_SI  # a fraction below one would only confuse as "Ki"
    return Quantity._make(c if positive else -c, e, fmt)


def parse_quantity(s: str) -> Quantity:
    """ParseQuantity: str -> Quantity, ValueError with upstream's message otherwise."""
    if not s:
        raise ValueError(ERR_FORMAT_WRONG)
    if s == "0":
        return Quantity._make(0, 0, DECIMAL_SI, "0")
    positive, value, num, denom, suffix = _scan(s)
    base, exponent, fmt = _interpret(suffix)
    fast = _fast_path(positive, num, denom, exponent, fmt, s)
    if fast is not None:
        return fast
    return _slow_path(positive, value, base, exponent, fmt)


def must_parse(s: str) -> Quantity:
    """MustParse, for literals in code and tests."""
    try:
        return parse_quantity(s)
    except ValueError as err:
        raise ValueError(f"cannot parse '{s}': {err}") from None


class Quantity:
    """An immutable exact quantity: unscaled * 10**scale, printed in its Format."""

    __slots__ = ("_c", "_e", "_format", "_s")
    _c: int
    _e: int
    _format: Format
    _s: str

    def __init__(self, unscaled: int = 0, scale: int = 0, format: Format = DECIMAL_SI) -> None:
        c, e = _normalize(int(unscaled), int(scale))
        for name, v in (("_c", c), ("_e", e), ("_format", Format(format)), ("_s", "")):
            object.__setattr__(self, name, v)

    @classmethod
    def _make(cls, c: int, e: int, fmt: Format, s: str = "") -> Quantity:
        q = cls(c, e, fmt)
        object.__setattr__(q, "_s", s)
        return q

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Quantity is immutable")

    # Immutable, so copies may share; pickling rebuilds through _make.
    def __copy__(self) -> Quantity:
        return self

    def __deepcopy__(self, memo: dict) -> Quantity:
        return self

    def __reduce__(self) -> tuple:
        return (Quantity._make, (self._c, self._e, self._format, self._s))

    parse = staticmethod(parse_quantity)

    @classmethod
    def from_milli(cls, value: int, format: Format = DECIMAL_SI) -> Quantity:
        """NewMilliQuantity: value/1000 in the given format."""
        return cls(value, MILLI, format)

    @property
    def format(self) -> Format:
        return self._format

    # --- reading the value -------------------------------------------------

    def sign(self) -> int:
        return (self._c > 0) - (self._c < 0)

    def is_zero(self) -> bool:
        return self._c == 0

    def as_fraction(self) -> Fraction:
        """The exact value (beware: 10**scale is materialized for huge exponents)."""
        return Fraction(self._c) * Fraction(10) ** self._e

    def scaled_value(self, scale: int) -> int:
        """ScaledValue: ceil(|q| / 10**scale) with q's sign, saturating at int64 bounds."""
        c, e, _ = _round_up(self._c, self._e - scale, 0)
        if c == 0:
            return 0
        if _ndigits(c) + e > 19:
            return _MAX_INT64 if c > 0 else _MIN_INT64
        return max(_MIN_INT64, min(_MAX_INT64, c * 10**e))

    def value(self) -> int:
        """Value: the integer value rounded away from zero."""
        return self.scaled_value(0)

    def milli_value(self) -> int:
        """MilliValue: ceil(q * 1000) rounded away from zero."""
        return self.scaled_value(MILLI)

    def as_int64(self) -> tuple[int, bool]:
        """AsInt64: the value if it is an integer that fits an int64."""
        if self._e < 0 or _ndigits(self._c) + self._e > 19:
            return 0, False
        v = self._c * 10**self._e
        return (v, True) if _MIN_INT64 <= v <= _MAX_INT64 else (0, False)

    def round_up(self, scale: int) -> tuple[Quantity, bool]:
        """RoundUp: rounded away from zero to a multiple of 10**scale, and exactness."""
        c, e, exact = _round_up(self._c, self._e, scale)
        if exact:
            return self, True
        return Quantity(c, e, self._format), False

    # --- arithmetic (each returns a new Quantity) ---------------------------

    def add(self, y: Quantity) -> Quantity:
        """Add: the sum; a zero receiver takes y's format."""
        fmt = y._format if self.is_zero() else self._format
        e = min(self._e, y._e)
        c = self._c * 10 ** (self._e - e) + y._c * 10 ** (y._e - e)
        return Quantity(c, e, fmt)

    def sub(self, y: Quantity) -> Quantity:
        """Sub: the difference; a zero receiver takes y's format."""
        return self.add(Quantity(-y._c, y._e, y._format))

    def mul(self, y: int) -> Quantity:
        """Mul: the product with an integer (always exact here)."""
        return Quantity(self._c * y, self._e, self._format)

    def neg(self) -> Quantity:
        """Neg: the negated value, same format."""
        return Quantity(-self._c, self._e, self._format)

    def cmp(self, y: Quantity) -> int:
        """Cmp: -1, 0 or 1."""
        return _cmp((self._c, self._e), (y._c, y._e))

    def cmp_int64(self, y: int) -> int:
        """CmpInt64: compare with an integer."""
        return _cmp((self._c, self._e), _normalize(y, 0))

    def __add__(self, y: object) -> Quantity:
        return self.add(y) if isinstance(y, Quantity) else NotImplemented

    def __sub__(self, y: object) -> Quantity:
        return self.sub(y) if isinstance(y, Quantity) else NotImplemented

    def __mul__(self, y: object) -> Quantity:
        return self.mul(y) if isinstance(y, int) else NotImplemented

    __rmul__ = __mul__

    def __neg__(self) -> Quantity:
        return self.neg()

    def __eq__(self, y: object) -> bool:
        if not isinstance(y, Quantity):
            return NotImplemented
        return self._c == y._c and self._e == y._e

    def __hash__(self) -> int:
        return hash((self._c, self._e))

    def __lt__(self, y: object) -> bool:
        return self.cmp(y) < 0 if isinstance(y, Quantity) else NotImplemented

    def __le__(self, y: object) -> bool:
        return self.cmp(y) <= 0 if isinstance(y, Quantity) else NotImplemented

    def __gt__(self, y: object) -> bool:
        return self.cmp(y) > 0 if isinstance(y, Quantity) else NotImplemented

    def __ge__(self, y: object) -> bool:
        return self.cmp(y) >= 0 if isinstance(y, Quantity) else NotImplemented

    # --- the canonical string ----------------------------------------------

    def canonicalize(self) -> tuple[str, str]:
        """CanonicalizeBytes: (number, suffix) of the canonical form."""
        if self._c == 0:
            return "0", ""
        fmt = self._format
        if fmt == BINARY_SI:
            if self.cmp_int64(-1024) > 0 and self.cmp_int64(1024) < 0:
                fmt = DECIMAL_SI  # no "Ki" for small values: avoids rounding them
            else:
                c, e, exact = _round_up(self._c, self._e, 0)
                if not exact:
                    fmt = DECIMAL_SI  # don't lose precision
                elif e <= _MAX_BINARY_DIGITS:
                    return _base1024(c * 10**e)
        number, exponent = _canonical_decimal(self._c, self._e)
        if fmt == DECIMAL_SI:
            return number, _DEC_BY_EXP.get(exponent, "")  # no suffix: dropped, as upstream
        return number, (f"e{exponent}" if exponent else "")

    def __str__(self) -> str:
        if self._s:
            return self._s
        number, suffix = self.canonicalize()
        return number + suffix

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r}, {self._format.value})"


def _canonical_decimal(c: int, e: int) -> tuple[str, int]:
    """AsCanonicalBytes: mantissa digits and an exponent that is a multiple of three."""
    c, e = _normalize(c, e)
    shift = e % 3  # Python's modulo is never negative: always shift downwards
    return str(c * 10**shift), e - shift


def _base1024(n: int) -> tuple[str, str]:
    """AsCanonicalBase1024Bytes + the binary suffix (dropped past Ei, as upstream)."""
    sign, m, k = (-1 if n < 0 else 1), abs(n), 0
    while m >= 1024 and m % 1024 == 0:
        m //= 1024
        k += 1
    return str(sign * m), _BIN_BY_EXP.get(k * 10, "")


def new_quantity(value: int, format: Format = DECIMAL_SI) -> Quantity:
    """NewQuantity: an integer value in the given format."""
    return Quantity(value, 0, format)


def new_milli_quantity(value: int, format: Format = DECIMAL_SI) -> Quantity:
    """NewMilliQuantity: value/1000 in the given format."""
    return Quantity(value, MILLI, format)


def new_scaled_quantity(value: int, scale: int) -> Quantity:
    """NewScaledQuantity: value * 10**scale, DecimalSI."""
    return Quantity(value, scale, DECIMAL_SI)
