"""Version conversion through the scheme: external -> internal -> external.

Mirrors k8s.io/apimachinery/pkg/runtime/scheme.go (AddConversionFunc: one function per
(from type, to type) pair, the way each group's zz_generated.conversion.go registers
them; Convert; ConvertToVersion: an external object reaches another external version
through the group's internal version, never directly) and conversion/converter.go's
lookup by type pair. Objects are the typed, frozen miniapi values.
Omitted: field label conversions, unsafe (memory-sharing) conversions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ConversionError", "Converter"]


class ConversionError(ValueError):
    """No conversion registered for a pair, or a conversion function refused its input."""


class Converter:
    """The conversion functions of a scheme, and each group's internal (hub) types."""

    def __init__(self) -> None:
        self._funcs: dict[tuple[type, type], Callable[[Any], Any]] = {}
        # external type -> the internal type of its kind (pkg/apis/<group>.Kind)
        self._internal: dict[type, type] = {}

    def add_conversion_func(self, src: type, dst: type, fn: Callable[[Any], Any]) -> None:
        """AddConversionFunc(a, b, fn): fn converts an `src` into a `dst`."""
        self._funcs[(src, dst)] = fn

    def add_internal_type(self, external: type, internal: type) -> None:
        """The internal type conversions of `external` go through."""
        self._internal[external] = internal

    def convert(self, obj: Any, dst: type) -> Any:
        """Convert: the registered function for (type(obj), dst)."""
        if type(obj) is dst:
            return obj
        fn = self._funcs.get((type(obj), dst))
        if fn is None:
            src_name, dst_name = _go_type(type(obj)), _go_type(dst)
            raise ConversionError(f"converting ({src_name}) to ({dst_name}): unknown conversion")
        return fn(obj)

    def convert_to_version(self, obj: Any, dst: type) -> Any:
        """ConvertToVersion: external -> internal -> external (or one direct step)."""
        if type(obj) is dst:
            return obj
        hub = self._internal.get(type(obj))
        if hub is None or hub is dst or (type(obj), dst) in self._funcs:
            return self.convert(obj, dst)
        return self.convert(self.convert(obj, hub), dst)


def _go_type(t: type) -> str:
    """How Go prints a type in conversion errors: `<package>.<Kind>`."""
    package = t.__module__.removeprefix("miniapi.").replace(".", "/")
    return f"{package}.{t.__name__}"
