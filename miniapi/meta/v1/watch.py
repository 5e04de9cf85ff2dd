"""WatchEvent: one line of a watch stream.

Mirrors k8s.io/apimachinery/pkg/apis/meta/v1/watch.go (WatchEvent) and the
event types of k8s.io/apimachinery/pkg/watch/watch.go. The object is a
RawExtension upstream (any kind), so here it is either a typed object or the
decoded JSON map; miniapi.scheme.encode writes either form.
Omitted: the internal watch.Event/Interface (client and server side machinery).
"""

from __future__ import annotations

from typing import Any

from miniapi.base import Struct

__all__ = ["WatchEvent", "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
BOOKMARK = "BOOKMARK"
ERROR = "ERROR"


class WatchEvent(Struct, frozen=True, kw_only=True):
    """type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR) and the object it concerns."""

    type: str = ""
    object: Any = None
