"""Per-attempt scratch space that plugins share within one scheduling cycle.

Mirrors pkg/scheduler/framework/cycle_state.go (CycleState, StateData, ErrNotFound).
PreFilter/PreScore write, Filter/Score read. `clone` copies entries through each
value's own `clone()` so preemption can try "what if these pods were gone" safely.
Omitted: the recordPluginMetrics flag.
"""

from __future__ import annotations

from typing import Any


class NotFoundError(KeyError):
    """ErrNotFound: the key was never written in this cycle."""


class CycleState:
    """A key/value store plus the sets of plugins PreFilter/PreScore told to skip."""

    __slots__ = ("_storage", "skip_filter_plugins", "skip_score_plugins", "active_filters")

    def __init__(self) -> None:
        self._storage: dict[str, Any] = {}
        self.skip_filter_plugins: set[str] = set()
        self.skip_score_plugins: set[str] = set()
        # The Filter plugins left after PreFilter's Skips; the runner fills it lazily.
        self.active_filters: list | None = None

    def read(self, key: str) -> Any:
        try:
            return self._storage[key]
        except KeyError:
            raise NotFoundError("not found") from None

    def write(self, key: str, value: Any) -> None:
        self._storage[key] = value

    def delete(self, key: str) -> None:
        self._storage.pop(key, None)

    def clone(self) -> CycleState:
        """Deep enough: every StateData value provides clone()."""
        c = CycleState()
        for k, v in self._storage.items():
            c._storage[k] = v.clone() if hasattr(v, "clone") else v
        c.skip_filter_plugins = set(self.skip_filter_plugins)
        c.skip_score_plugins = set(self.skip_score_plugins)
        c.active_filters = self.active_filters
        return c
