"""msgspec hooks for the API's non-builtin scalar types.

Mirrors the JSON (un)marshalers of k8s.io/apimachinery/pkg/api/resource
(Quantity.MarshalJSON writes the canonical string; UnmarshalJSON accepts a
string or a bare number) and of meta/v1/micro_time.go (MicroTime).
Every decode/encode of API objects passes these.
Omitted: nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from miniapi.meta.v1.time import MicroTime, format_micro_time
from miniapi.resource import Quantity

__all__ = ["dec_hook", "enc_hook"]


def enc_hook(obj: Any) -> Any:
    """Quantity -> its canonical string; MicroTime -> RFC 3339 with six fractional digits."""
    if isinstance(obj, Quantity):
        return str(obj)
    if isinstance(obj, MicroTime):
        return format_micro_time(obj)
    raise TypeError(f"cannot encode objects of type {type(obj).__name__}")


def dec_hook(typ: type, obj: Any) -> Any:
    """A JSON string or number -> Quantity; errors carry upstream's parse message."""
    if typ is Quantity:
        if isinstance(obj, Quantity):
            return obj
        if isinstance(obj, bool) or not isinstance(obj, str | int | float):
            raise TypeError("quantities must be strings or numbers")
        return Quantity.parse(obj if isinstance(obj, str) else str(obj))
    if typ is MicroTime:
        if isinstance(obj, datetime):
            return MicroTime.from_datetime(obj)
        if not isinstance(obj, str):
            raise TypeError("times must be RFC 3339 strings")
        return MicroTime.parse(obj)
    raise TypeError(f"cannot decode into {typ.__name__}")
