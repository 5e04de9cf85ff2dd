"""An ordered, case-insensitive header map with pseudo-headers.

Mirrors envoy/http/header_map.h and source/common/http/header_map_impl.cc: names are stored
lower-case, pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`, `:status`) live in
the same map, and repeated headers keep their order.
Omitted: the O(1) inline-header table (a list scan is fast enough for ~20 headers; the
methods below run a dozen times per proxied request, so they search in C where they can).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator

_name = operator.itemgetter(0)


class HeaderMap:
    """Ordered (name, value) pairs; names are lower-case."""

    __slots__ = ("_items",)

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[list[str]] = [[k.lower(), v] for k, v in items] if items else []

    def add(self, key: str, value: str) -> None:
        self._items.append([key, value])

    def get(self, key: str) -> str | None:
        for item in self._items:
            if item[0] == key:
                return item[1]
        return None

    def get_all(self, key: str) -> list[str]:
        return [v for k, v in self._items if k == key]

    def set(self, key: str, value: str) -> None:
        """setReferenceKey: replace every existing value with one."""
        items = self._items
        names = list(map(_name, items))  # searched in C: this runs several times per request
        n = names.count(key)
        if n == 0:
            items.append([key, value])
            return
        items[names.index(key)][1] = value
        if n > 1:  # rare: drop the repeated values
            first = items[names.index(key)]
            self._items = [it for it in items if it[0] != key or it is first]

    def remove(self, key: str) -> None:
        self._items = [it for it in self._items if it[0] != key]

    def items(self) -> Iterator[tuple[str, str]]:
        for item in self._items:
            yield item[0], item[1]

    def copy(self) -> HeaderMap:
        m = HeaderMap()
        m._items = [[k, v] for k, v in self._items]
        return m

    def __contains__(self, key: str) -> bool:
        return key in map(_name, self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"HeaderMap({[(k, v) for k, v in self._items]!r})"
