"""What the registry hands to a store and gets back from it.

Mirrors k8s.io/apiserver/pkg/storage/interfaces.go (Preconditions, ListOptions,
UpdateFunc), selection_predicate.go (SelectionPredicate: label + field
selector, Limit, Continue, Empty, MatchesObjectAttributes, IndexFields and MatcherIndex)
and k8s.io/apimachinery/pkg/watch (Event).
Objects are JSON-shaped dicts here, as upstream's generic store sees
`unstructured.Unstructured`; typed structs live in the strategies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
BOOKMARK = "BOOKMARK"
ERROR = "ERROR"


@dataclass(frozen=True)
class Event:
    """One watch.Event: type, the object (a Status for ERROR) and its revision.

    `cache` is shared by every watcher that got the same object from one cache
    event, so its serialization is computed once (upstream's cachingObject).
    """

    type: str
    object: Obj
    rv: int = 0
    cache: dict[str, bytes] | None = field(default=None, compare=False)


def object_rv(obj: Obj) -> int:
    """APIObjectVersioner.ObjectResourceVersion: 0 when unset."""
    rv = obj.get("metadata", {}).get("resourceVersion") or ""
    return int(rv) if rv.isdigit() else 0


def set_object_rv(obj: Obj, rv: int) -> None:
    """APIObjectVersioner.UpdateObject: an empty string for 0."""
    obj.setdefault("metadata", {})["resourceVersion"] = str(rv) if rv else ""
    if not rv:
        obj["metadata"].pop("resourceVersion")


@dataclass(frozen=True)
class Preconditions:
    """storage.Preconditions: the uid and/or resourceVersion the object must still have."""

    uid: str | None = None
    resource_version: str | None = None


@dataclass
class SelectionPredicate:
    """Which objects a LIST or WATCH returns, and how many per page.

    `get_attrs(obj)` returns (labels, fields) for the object, like a strategy's
    GetAttrs; `label`/`field` are matchers over those maps (None matches all).
    `field_selector` is the parsed selector behind `field` (anything with
    `requires_exact_match(name) -> (value, ok)`); `index_fields` are the fields the
    resource's watch cache indexes its watchers by (the pod registry's spec.nodeName).
    """

    label: Callable[[dict[str, str]], bool] | None = None
    field: Callable[[dict[str, str]], bool] | None = None
    get_attrs: Callable[[Obj], tuple[dict[str, str], dict[str, str]]] | None = None
    limit: int = 0
    continue_: str = ""
    allow_watch_bookmarks: bool = False
    field_selector: Any = None
    index_fields: tuple[str, ...] = ()
    # (indexer function, value) when the selector pins an indexed field: a cheap first
    # test that skips GetAttrs (a typed decode) for objects that cannot match.
    prefilter: tuple[Callable[[Obj], str], str] | None = None

    def empty(self) -> bool:
        return self.label is None and self.field is None

    def matches(self, obj: Obj) -> bool:
        if self.empty():
            return True
        if self.get_attrs is None:
            return True
        if self.prefilter is not None and self.prefilter[0](obj) != self.prefilter[1]:
            return False
        labels, fields = self.get_attrs(obj)
        return self.matches_attrs(labels, fields)

    def matches_attrs(self, labels: dict[str, str], fields: dict[str, str]) -> bool:
        """MatchesObjectAttributes: the selectors over attributes computed elsewhere."""
        if self.label is not None and not self.label(labels):
            return False
        return self.field is None or self.field(fields)

    def matcher_index(self) -> tuple[str, str] | None:
        """MatcherIndex: (index field, value) when the field selector pins an indexed field."""
        if self.field_selector is None:
            return None
        for name in self.index_fields:
            value, exact = self.field_selector.requires_exact_match(name)
            if exact:
                return name, value
        return None


EVERYTHING = SelectionPredicate()

UpdateFunc = Callable[[Obj], Obj]
