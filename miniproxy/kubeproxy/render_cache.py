"""Per-service rendered text kept between syncs, so a sync costs what changed.

Upstream's iptables proxier keeps per-service state between syncs "for performance
reasons" (the serviceInfo's precomputed chain names, pkg/proxy/iptables/proxier.go
servicePortInfo) and, with MinimizeIPTablesRestore, skips writing unchanged services'
chains. In Go, re-rendering every rule of 10,000 services is cheap; in Python it is
not, so we go one step further and keep each service's rendered lines.

The rule that makes this safe: the change trackers (changes.py) replace a service's
ServicePortInfo and endpoint list with new objects whenever they change, and never
mutate them in place. A block is therefore reused exactly when the objects it was
rendered from are the very same objects (`is`), and whenever the node's ProxyConfig
or the large-cluster comment mode changes, everything is rendered again. In a partial
sync the caller names the Services whose objects changed (UpdatedServices), and only
their ports are checked; the blocks they replace are kept aside (`replaced`), which is
what the previous sync wrote for those Services.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection
from itertools import compress, repeat
from typing import Generic, TypeVar

from miniproxy.kubeproxy.types import EndpointsMap, ServicePortInfo, ServicePortName

B = TypeVar("B")

__all__ = ["RenderCache"]


def _picker(indices: list[int]) -> Callable[[list], tuple]:
    """operator.itemgetter over many indices (a tuple even for one or none)."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)
    return lambda seq: tuple(seq[i] for i in indices)


_NAME_STRING = operator.attrgetter("name_string")


class RenderCache(Generic[B]):
    """Blocks in service-port order, valid for one key (config, mode) and the identity of
    their inputs. Kept as parallel lists (order, inputs, and one list per field of the
    block type: a table of columns), so that checking 10k services for changes is a few
    C-level passes (map / operator.is_not), and the cache holds no object per service
    for the garbage collector to walk."""

    def __init__(self) -> None:
        self._key: object = None
        self._key_list: list[ServicePortName] = []
        self._pick_svcs: Callable[[list], tuple] = _picker([])
        self.order: list[ServicePortName] = []  # service ports in render order
        self._names: list[str] = []  # str() of each, sorted: ports are found by bisection
        self.svcs: list[object] = []
        self.eps: list[object] = []
        self.columns: B | None = None  # a block whose fields are lists, one entry a port
        # This sync's inputs in the service map's own order, for a build of every block.
        self._batch: tuple[list, list] | None = None
        # The blocks the last partial refresh replaced (None: unknown, as in a new cache).
        self.replaced: list[B] | None = None
        self.rendered = 0  # blocks built by the last sync (for tests and metrics)

    def block(self, i: int) -> B:
        """The block at position i, as one value."""
        return type(self.columns)._make(col[i] for col in self.columns)  # type: ignore[attr-defined,union-attr]

    def positions(self, services: Collection[tuple[str, str]]) -> list[int]:
        """Sorted positions of the ports of these Services (namespace, name).

        A Service's ports print as "ns/name" (one unnamed port) or "ns/name:port", so in
        sorted order they are the run equal to "ns/name" and the run from "ns/name:" up
        to "ns/name;" (";" follows ":"); the namespace/name check drops look-alikes."""
        names, order = self._names, self.order
        out: list[int] = []
        for ns, name in services:
            p = f"{ns}/{name}"
            runs = (
                range(bisect_left(names, p), bisect_right(names, p)),
                range(bisect_left(names, p + ":"), bisect_left(names, p + ";")),
            )
            out += [i for run in runs for i in run if order[i][:2] == (ns, name)]
        return sorted(out)

    def _reorder(self, service_map: dict[ServicePortName, ServicePortInfo]) -> bool:
        """Sort the service ports again if the map's keys changed, keeping known blocks."""
        keys = list(service_map)
        if keys == self._key_list:
            return False  # the same key objects in the same order: no hashing needed
        self._key_list = keys
        try:
            names = list(map(_NAME_STRING, service_map.values()))  # str(), precomputed
        except AttributeError:  # infos not prepared yet (maps built by hand)
            names = list(map(str, keys))
        perm = sorted(range(len(keys)), key=names.__getitem__)
        self._pick_svcs = _picker(perm)
        order = list(self._pick_svcs(keys))
        if order == self.order:
            return False
        self._names = list(_picker(perm)(names))
        if not self.order:  # nothing known yet: every port is built this sync
            self.svcs, self.eps, self.columns = [None] * len(order), [None] * len(order), None
            self.order = order
            return True
        old = dict(zip(self.order, range(len(self.order)), strict=True))
        # Known ports keep their inputs and blocks; new ones get None (built this sync).
        keep = _picker(list(map(old.get, order, repeat(len(self.order)))))
        self.svcs = list(keep([*self.svcs, None]))
        self.eps = list(keep([*self.eps, None]))
        if self.columns is not None:
            self.columns = type(self.columns)._make(
                list(keep([*col, None])) for col in self.columns
            )  # type: ignore[attr-defined]
        self.order = order
        return True

    def refresh(
        self,
        service_map: dict[ServicePortName, ServicePortInfo],
        endpoints_map: EndpointsMap,
        services: Collection[tuple[str, str]] | None = None,
    ) -> list[int]:
        """Take this sync's inputs; return the positions whose inputs changed.

        `services`: when given, only these Services' inputs may have changed since the
        last call (a partial sync's UpdatedServices), so only their ports are checked."""
        self.rendered = 0
        self.replaced = None
        self._batch = None
        if services is not None and self.columns is not None:
            self.replaced = [self.block(i) for i in self.positions(services)]
        if self._reorder(service_map) or services is None:
            values = list(service_map.values())
            eps_by_key = list(map(endpoints_map.get, self._key_list, repeat(())))
            svcs, eps = self._pick_svcs(values), self._pick_svcs(eps_by_key)
            stale = map(operator.or_, map(operator.is_not, svcs, self.svcs),
                        map(operator.is_not, eps, self.eps))  # fmt: skip
            todo = list(compress(range(len(self.order)), stale))
            self.svcs, self.eps = list(svcs), list(eps)
            self._batch = (values, eps_by_key)
            return todo
        todo = []
        for i in self.positions(services):
            spn = self.order[i]
            svc, eps_i = service_map[spn], endpoints_map.get(spn, ())
            if svc is not self.svcs[i] or eps_i is not self.eps[i]:
                self.svcs[i], self.eps[i] = svc, eps_i
                todo.append(i)
        return todo

    def endpoint_count(self) -> int:
        """Endpoints of every service port (largeClusterMode counts these)."""
        return sum(map(len, self.eps))

    def build(
        self,
        key: object,
        todo: list[int],
        build_many: Callable[[list, list], list[B]],
        block_type: type[B],
    ) -> B:
        """Build the blocks at `todo`, or every block when `key` (config, mode) changed;
        return the table of every block (a `block_type` whose fields are lists).

        `build_many(svcs, endpoint_lists)` renders a batch, so that a cold render is
        one pass over the service ports rather than one callback per port."""
        if key != self._key or self.columns is None:
            self._key = key
            todo = list(range(len(self.order)))
        if len(todo) == len(self.order):
            if self._batch is not None:
                # Built in the service map's own order (the order its objects were made
                # in: memory is read in sequence, a third faster at 10k services), then
                # each column put in render order.
                built = build_many(*self._batch)
                pick = self._pick_svcs
            else:
                built, pick = build_many(self.svcs, self.eps), tuple
            # Transposed in C; the per-port tuples are freed at once.
            columns = zip(*built, strict=True) if built else ([] for _ in block_type._fields)  # type: ignore[attr-defined]
            self.columns = block_type._make(list(pick(col)) for col in columns)  # type: ignore[attr-defined]
        else:
            built = build_many([self.svcs[i] for i in todo], [self.eps[i] for i in todo])
            for i, block in zip(todo, built, strict=True):
                for col, value in zip(self.columns, block, strict=True):  # type: ignore[call-overload]
                    col[i] = value
        self.rendered += len(todo)
        self._batch = None
        return self.columns
