"""Field paths and field-level validation errors.

Mirrors k8s.io/apimachinery/pkg/util/validation/field (path.go: Path,
new_path/child/index/key; errors.go: Error, ErrorType, ErrorList, Required,
Invalid, NotSupported, Duplicate, Forbidden, TooLong, TooMany, Internal,
ToAggregate). Error bodies print the bad value the way Go's %q/%v do, so the
422 messages read like upstream's.
Omitted: error origins and declarative-validation markers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Error",
    "ErrorList",
    "Path",
    "new_path",
    "duplicate",
    "forbidden",
    "internal_error",
    "invalid",
    "not_found",
    "not_supported",
    "required",
    "to_aggregate",
    "too_long",
    "too_many",
    "type_invalid",
    "ERROR_TYPE_NOT_FOUND",
    "ERROR_TYPE_REQUIRED",
    "ERROR_TYPE_DUPLICATE",
    "ERROR_TYPE_INVALID",
    "ERROR_TYPE_NOT_SUPPORTED",
    "ERROR_TYPE_FORBIDDEN",
    "ERROR_TYPE_TOO_LONG",
    "ERROR_TYPE_TOO_MANY",
    "ERROR_TYPE_INTERNAL",
    "ERROR_TYPE_TYPE_INVALID",
]

ERROR_TYPE_NOT_FOUND = "FieldValueNotFound"
ERROR_TYPE_REQUIRED = "FieldValueRequired"
ERROR_TYPE_DUPLICATE = "FieldValueDuplicate"
ERROR_TYPE_INVALID = "FieldValueInvalid"
ERROR_TYPE_NOT_SUPPORTED = "FieldValueNotSupported"
ERROR_TYPE_FORBIDDEN = "FieldValueForbidden"
ERROR_TYPE_TOO_LONG = "FieldValueTooLong"
ERROR_TYPE_TOO_MANY = "FieldValueTooMany"
ERROR_TYPE_INTERNAL = "InternalError"
ERROR_TYPE_TYPE_INVALID = "FieldValueTypeInvalid"

# ErrorType.String(): the human text of each type.
_TYPE_TEXT = {
    ERROR_TYPE_NOT_FOUND: "Not found",
    ERROR_TYPE_REQUIRED: "Required value",
    ERROR_TYPE_DUPLICATE: "Duplicate value",
    ERROR_TYPE_INVALID: "Invalid value",
    ERROR_TYPE_NOT_SUPPORTED: "Unsupported value",
    ERROR_TYPE_FORBIDDEN: "Forbidden",
    ERROR_TYPE_TOO_LONG: "Too long",
    ERROR_TYPE_TOO_MANY: "Too many",
    ERROR_TYPE_INTERNAL: "Internal error",
    ERROR_TYPE_TYPE_INVALID: "Invalid value",
}

# Types whose body never shows the bad value.
_VALUE_HIDDEN = {
    ERROR_TYPE_REQUIRED,
    ERROR_TYPE_FORBIDDEN,
    ERROR_TYPE_TOO_LONG,
    ERROR_TYPE_INTERNAL,
}


class _Omit:
    """Marker for 'no value to print' (upstream's omitValue)."""


OMIT_VALUE = _Omit()


@dataclass(frozen=True)
class Path:
    """A path to a field: metadata.name, spec.containers[0].ports[1], metadata.labels[app]."""

    parent: Path | None
    name: str = ""
    subscript: str = ""

    def child(self, name: str, *more: str) -> Path:
        p = Path(self, name)
        for m in more:
            p = Path(p, m)
        return p

    def index(self, i: int) -> Path:
        return Path(self, subscript=str(i))

    def key(self, k: str) -> Path:
        return Path(self, subscript=k)

    def __str__(self) -> str:
        parts: list[Path] = []
        p: Path | None = self
        while p is not None:
            parts.append(p)
            p = p.parent
        out = ""
        for p in reversed(parts):
            if p.name:
                out = f"{out}.{p.name}" if out else p.name
            else:
                out += f"[{p.subscript}]"
        return out


def new_path(name: str, *more: str) -> Path:
    """field.NewPath."""
    p = Path(None, name)
    return p.child(*more) if more else p


def _go_quote(s: str) -> str:
    # Go's %q: a double-quoted string with Go escapes (close to JSON's for printable text).
    return json.dumps(s, ensure_ascii=False)


def _go_value(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, str):
        return _go_quote(v)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "[]string{" + ", ".join(_go_quote(x) for x in v) + "}"
    if isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        # Go's %#v of a map[string]string: keys sorted, no space after the colon.
        pairs = (f"{_go_quote(k)}:{_go_quote(v[k])}" for k in sorted(v))
        return "map[string]string{" + ", ".join(pairs) + "}"
    return str(v)


@dataclass(frozen=True)
class Error:
    """One field error: type, field path, bad value, detail."""

    type: str
    field: str
    bad_value: Any
    detail: str

    def error_body(self) -> str:
        """The message without the field name (what goes into a StatusCause)."""
        text = _TYPE_TEXT[self.type]
        if self.type in _VALUE_HIDDEN or self.bad_value is OMIT_VALUE:
            s = text
        else:
            s = f"{text}: {_go_value(self.bad_value)}"
        return f"{s}: {self.detail}" if self.detail else s

    def __str__(self) -> str:
        return f"{self.field}: {self.error_body()}"


ErrorList = list[Error]


def type_invalid(path: Path, value: Any, detail: str) -> Error:
    return Error(ERROR_TYPE_TYPE_INVALID, str(path), value, detail)


def not_found(path: Path, value: Any) -> Error:
    return Error(ERROR_TYPE_NOT_FOUND, str(path), value, "")


def required(path: Path, detail: str = "") -> Error:
    return Error(ERROR_TYPE_REQUIRED, str(path), "", detail)


def duplicate(path: Path, value: Any) -> Error:
    return Error(ERROR_TYPE_DUPLICATE, str(path), value, "")


def invalid(path: Path, value: Any, detail: str) -> Error:
    return Error(ERROR_TYPE_INVALID, str(path), value, detail)


def not_supported(path: Path, value: Any, valid_values: list[str]) -> Error:
    detail = ""
    if valid_values:
        detail = "supported values: " + ", ".join(_go_quote(v) for v in valid_values)
    return Error(ERROR_TYPE_NOT_SUPPORTED, str(path), value, detail)


def forbidden(path: Path, detail: str) -> Error:
    return Error(ERROR_TYPE_FORBIDDEN, str(path), "", detail)


def too_long(path: Path, value: Any, max_length: int) -> Error:
    return Error(ERROR_TYPE_TOO_LONG, str(path), value, f"must have at most {max_length} bytes")


def too_many(path: Path, actual: int, max_quantity: int) -> Error:
    msg = f"must have at most {max_quantity} items" if max_quantity >= 0 else "has too many items"
    return Error(ERROR_TYPE_TOO_MANY, str(path), actual if actual >= 0 else OMIT_VALUE, msg)


def internal_error(path: Path, err: str | Exception) -> Error:
    return Error(ERROR_TYPE_INTERNAL, str(path), None, str(err))


def to_aggregate(errs: ErrorList) -> str:
    """ToAggregate().Error(): duplicates dropped, one message alone, several in [a, b]."""
    seen: list[str] = []
    for e in errs:
        msg = str(e)
        if msg not in seen:
            seen.append(msg)
    if not seen:
        return ""
    return seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"
