"""Status codes returned by plugins at every extension point.

Mirrors pkg/scheduler/framework/interface.go (Code, Status, NewStatus, AsStatus,
IsSuccess, IsRejected). A plugin returns None for Success, exactly as upstream returns a
nil *Status. Omitted: the wrapped Go error value (we keep its message).
"""

from __future__ import annotations

from enum import IntEnum

MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0
MAX_TOTAL_SCORE = 2**63 - 1


class Code(IntEnum):
    """The codes, with upstream's numeric values."""

    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    WAIT = 4
    SKIP = 5
    PENDING = 6


_CODE_NAMES = {
    Code.SUCCESS: "Success",
    Code.ERROR: "Error",
    Code.UNSCHEDULABLE: "Unschedulable",
    Code.UNSCHEDULABLE_AND_UNRESOLVABLE: "UnschedulableAndUnresolvable",
    Code.WAIT: "Wait",
    Code.SKIP: "Skip",
    Code.PENDING: "Pending",
}


class Status:
    """A code, the human-readable reasons and the plugin that failed."""

    __slots__ = ("code", "reasons", "plugin")

    def __init__(self, code: Code, *reasons: str, plugin: str = "") -> None:
        self.code = code
        self.reasons = list(reasons)
        self.plugin = plugin

    def message(self) -> str:
        """Reasons joined with ", " (upstream Status.Message)."""
        return ", ".join(self.reasons)

    def with_plugin(self, plugin: str) -> Status:
        self.plugin = plugin
        return self

    def is_rejected(self) -> bool:
        return self.code in (
            Code.UNSCHEDULABLE,
            Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
            Code.PENDING,
        )

    def __repr__(self) -> str:
        return f"Status({_CODE_NAMES[self.code]}, {self.reasons!r}, plugin={self.plugin!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return (self.code, self.reasons) == (other.code, other.reasons)


def code_of(status: Status | None) -> Code:
    """Upstream's Status.Code() on a possibly-nil status."""
    return Code.SUCCESS if status is None else status.code


def is_success(status: Status | None) -> bool:
    return status is None or status.code == Code.SUCCESS


def code_name(code: Code) -> str:
    return _CODE_NAMES[code]


def as_status(err: Exception) -> Status:
    """AsStatus: an unexpected error becomes an Error status."""
    return Status(Code.ERROR, str(err))
