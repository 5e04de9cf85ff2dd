"""Turning popped deltas into store updates and handler notifications.

Mirrors k8s.io/client-go/tools/cache/controller.go (processDeltas,
ResourceEventHandler, ResourceEventHandlerFuncs). For each delta of a popped
key: Added/Updated/Replaced/Sync become an add or an update of the informer's
store (an update when the key is already known), Deleted removes it; the
handler hears the same in the same order.
Omitted: the standalone Controller/NewInformer (SharedIndexInformer is the only user).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from miniclient.cache.delta_fifo import DELETED, Delta
from miniclient.cache.store import Store

__all__ = ["ResourceEventHandler", "ResourceEventHandlerFuncs", "process_deltas"]


class ResourceEventHandler(Protocol):
    """What a consumer of an informer implements (called in event order)."""

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None: ...

    def on_update(self, old: Any, new: Any) -> None: ...

    def on_delete(self, obj: Any) -> None: ...


@dataclass
class ResourceEventHandlerFuncs:
    """A handler from up to three functions; missing ones ignore their event."""

    add_func: Callable[[Any], None] | None = None
    update_func: Callable[[Any, Any], None] | None = None
    delete_func: Callable[[Any], None] | None = None

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        if self.add_func:
            self.add_func(obj)

    def on_update(self, old: Any, new: Any) -> None:
        if self.update_func:
            self.update_func(old, new)

    def on_delete(self, obj: Any) -> None:
        if self.delete_func:
            self.delete_func(obj)


def process_deltas(
    handler: ResourceEventHandler,
    client_state: Store,
    deltas: list[Delta],
    is_in_initial_list: bool,
) -> None:
    """Apply deltas (oldest first) to client_state and tell handler about each."""
    for d in deltas:
        obj = d.object
        if d.type == DELETED:
            client_state.delete(obj)
            handler.on_delete(obj)
            continue
        old = client_state.get(obj)
        if old is not None:
            client_state.update(obj)
            handler.on_update(old, obj)
        else:
            client_state.add(obj)
            handler.on_add(obj, is_in_initial_list)
