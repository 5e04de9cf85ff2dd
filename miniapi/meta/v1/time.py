"""RFC 3339 timestamps as the API puts them on the wire.

Mirrors k8s.io/apimachinery/pkg/apis/meta/v1/time.go and micro_time.go.
`metav1.Time` is serialized with second precision in UTC
("2006-01-02T15:04:05Z"); `metav1.MicroTime` (Event.eventTime, Lease
renewTime) keeps microseconds ("2006-01-02T15:04:05.000000Z"). In Python
both are timezone-aware `datetime` values; `truncate_to_second` gives the
value a Time field holds after a round trip through a real API server.
MicroTime fields hold `MicroTime` (a datetime subclass) so the codec always
writes the six digits Go's MicroTime.UnmarshalJSON insists on.
Omitted: protobuf encodings, fuzzers.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = [
    "MicroTime",
    "format_micro_time",
    "format_time",
    "from_unix",
    "parse_time",
    "truncate_to_second",
]


def truncate_to_second(t: datetime) -> datetime:
    """The value metav1.Time keeps: UTC, no sub-second part."""
    return t.astimezone(UTC).replace(microsecond=0)


def from_unix(seconds: float) -> datetime:
    """A UTC datetime from a Unix timestamp (the clock is the caller's, cores never read it)."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def format_time(t: datetime) -> str:
    """metav1.Time.MarshalJSON: RFC 3339 in UTC, seconds precision."""
    return truncate_to_second(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(t: datetime) -> str:
    """metav1.MicroTime.MarshalJSON: RFC 3339 in UTC with six fractional digits."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str) -> datetime:
    """Parse an RFC 3339 timestamp ('Z' or a numeric offset), as UnmarshalJSON accepts it."""
    t = datetime.fromisoformat(s.replace("z", "Z"))
    if t.tzinfo is None:
        raise ValueError(f'parsing time "{s}": missing time zone offset')
    return t.astimezone(UTC)


class MicroTime(datetime):
    """metav1.MicroTime: a UTC instant written with microseconds, always six digits."""

    @classmethod
    def from_datetime(cls, t: datetime) -> MicroTime:
        """The same instant as a MicroTime, in UTC."""
        u = t.astimezone(UTC)
        return cls(u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond, tzinfo=UTC)

    @classmethod
    def parse(cls, s: str) -> MicroTime:
        return cls.from_datetime(parse_time(s))
