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
their ports are checked.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection
from itertools import compress
from typing import Generic, TypeVar

from miniproxy.kubeproxy.types import EndpointsMap, ProxyConfig, ServicePortInfo, ServicePortName

B = TypeVar("B")

__all__ = ["RenderCache"]


def _picker(indices: list[int]) -> Callable[[list], tuple]:
    """operator.itemgetter over many indices (a tuple even for one or none)."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)
    return lambda seq: tuple(seq[i] for i in indices)


class _Gather:
    """A dict's values in a given key order without hashing a key per call.

    The dict's key list is compared with the previous one (by identity first, in C); only
    when it changed is the permutation computed again. The trackers assign changed keys
    in place, so a sync usually finds the same key list."""

    def __init__(self) -> None:
        self._keys: list | None = None
        self._order: list | None = None
        self._pick: Callable[[list], tuple] = _picker([])

    def __call__(self, d: dict, order: list, default: object) -> tuple:
        keys = list(d)
        if keys != self._keys or order is not self._order:
            index = {k: i for i, k in enumerate(keys)}
            self._pick = _picker([index.get(k, len(keys)) for k in order])
            self._keys, self._order = keys, order
        values = list(d.values())
        values.append(default)  # what keys missing from d get
        return self._pick(values)


class RenderCache(Generic[B]):
    """Blocks in service-port order, valid for one (cfg, mode) and the identity of their
    inputs. Kept as parallel lists (inputs, blocks) so that checking 10k services for
    changes is a few C-level passes (map / operator.is_not), not a Python loop."""

    def __init__(self) -> None:
        self._mode: tuple[ProxyConfig, object] | None = None
        self._keys: frozenset[ServicePortName] = frozenset()
        self._order: list[ServicePortName] = []
        self._svcs: list[object] = []
        self._eps: list[object] = []
        self._blocks: list[B | None] = []
        # (namespace, name) -> positions of that Service's ports in the order.
        self._positions: dict[tuple[str, str], list[int]] = {}
        self._key_list: list[ServicePortName] = []
        self._gather_svcs, self._gather_eps = _Gather(), _Gather()
        self.rendered = 0  # blocks built by the last sync (for tests and metrics)

    def begin(self, cfg: ProxyConfig, mode: object) -> None:
        """Start a sync; a different config or mode invalidates every block."""
        self.rendered = 0
        if self._mode != (cfg, mode):
            self._mode = (cfg, mode)
            self._keys, self._key_list = frozenset(), []
            self._order, self._svcs, self._eps, self._blocks = [], [], [], []

    @property
    def order(self) -> list[ServicePortName]:
        """The service ports of the last `blocks` call, in render order."""
        return self._order

    def positions(self, services: Collection[tuple[str, str]]) -> list[int]:
        """Sorted positions of the ports of these Services (namespace, name)."""
        return sorted(i for s in services for i in self._positions.get(s, ()))

    def _reorder(self, service_map: dict[ServicePortName, ServicePortInfo]) -> bool:
        """Sort the service ports again if their set changed, keeping known blocks."""
        keys = list(service_map)
        if keys == self._key_list:
            return False  # the same key objects in the same order: no hashing needed
        self._key_list = keys
        if len(service_map) == len(self._keys) and self._keys.issuperset(service_map):
            return False
        old = dict(
            zip(self._order, zip(self._svcs, self._eps, self._blocks, strict=True), strict=True)
        )
        self._keys = frozenset(service_map)
        self._order = sorted(service_map, key=str)
        kept = [old.get(spn, (None, None, None)) for spn in self._order]
        self._svcs = [k[0] for k in kept]
        self._eps = [k[1] for k in kept]
        self._blocks = [k[2] for k in kept]
        self._positions = {}
        for i, spn in enumerate(self._order):
            self._positions.setdefault((spn.namespace, spn.name), []).append(i)
        return True

    def blocks(
        self,
        service_map: dict[ServicePortName, ServicePortInfo],
        endpoints_map: EndpointsMap,
        build: Callable[[ServicePortInfo, object], B],
        services: Collection[tuple[str, str]] | None = None,
    ) -> list[B]:
        """Every service port's block in order, built again where its inputs changed.

        `services`: when given, only these Services' inputs may have changed since the
        last call (a partial sync's UpdatedServices), so only their ports are checked."""
        if self._reorder(service_map) or services is None:
            order = self._order
            svcs = self._gather_svcs(service_map, order, None)
            eps = self._gather_eps(endpoints_map, order, ())
            stale = map(operator.or_, map(operator.is_not, svcs, self._svcs),
                        map(operator.is_not, eps, self._eps))  # fmt: skip
            todo = list(compress(range(len(order)), stale))
            self._svcs, self._eps = list(svcs), list(eps)
        else:
            todo = []
            for i in self.positions(services):
                spn = self._order[i]
                svc, eps_i = service_map[spn], endpoints_map.get(spn, ())
                if svc is not self._svcs[i] or eps_i is not self._eps[i]:
                    self._svcs[i], self._eps[i] = svc, eps_i
                    todo.append(i)
        for i in todo:
            self._blocks[i] = build(self._svcs[i], self._eps[i])
        self.rendered += len(todo)
        return self._blocks  # type: ignore[return-value]
