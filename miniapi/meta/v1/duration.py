"""Go time.Duration text: the JSON form of metav1.Duration and of every duration flag.

Mirrors time.ParseDuration and time.Duration.String (the Go standard library), which
metav1.Duration marshals with and which pflag's DurationVar parses flags with
("1h0m0s", "300ms", "1.5s", "-2m"). Durations are integer nanoseconds, as in Go;
`duration_flag` is the argparse form, in seconds, with Go's error text.
"""

from __future__ import annotations

import argparse
import re

__all__ = ["duration_flag", "format_duration", "parse_duration"]

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


def _frac(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def format_duration(ns: int) -> str:
    """Duration.String: "0s", "1.5µs", "300ms", "1m30s", "1h0m0s"."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3)):
            if ns >= size:
                return sign + _frac(ns, size) + unit
        return f"{sign}{ns}ns"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _frac(rest, 10**9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


_TOKEN = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([^\d.]*)")


def parse_duration(text: str) -> int:
    """ParseDuration in nanoseconds; a unit is required except for "0".

    Errors are Go's: missing unit, unknown unit, or invalid duration.
    """
    if text in ("0", ""):
        return 0
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    tokens = _TOKEN.findall(body)
    if not tokens or "".join(n + u for n, u in tokens) != body:
        raise ValueError(f'time: invalid duration "{text}"')
    for _, unit in tokens:
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
    return sign * round(sum(float(number) * _UNITS[unit] for number, unit in tokens))


def duration_flag(text: str) -> float:
    """A duration flag (pflag DurationVar) for argparse, in seconds."""
    try:
        return parse_duration(text) / 1e9
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
