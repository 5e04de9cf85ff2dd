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
or the large-cluster comment mode changes, everything is rendered again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from miniproxy.kubeproxy.types import ProxyConfig, ServicePortInfo, ServicePortName

B = TypeVar("B")

__all__ = ["RenderCache"]


@dataclass(slots=True)
class _Entry(Generic[B]):
    svc: ServicePortInfo
    endpoints: object
    block: B


class RenderCache(Generic[B]):
    """Blocks by service port, valid for one (cfg, mode) and the identity of their inputs."""

    def __init__(self) -> None:
        self._entries: dict[ServicePortName, _Entry[B]] = {}
        self._mode: tuple[ProxyConfig, object] | None = None
        self._keys: frozenset[ServicePortName] = frozenset()
        self._order: list[ServicePortName] = []
        self.rendered = 0  # blocks built by the last sync (for tests and metrics)

    def begin(self, cfg: ProxyConfig, mode: object) -> None:
        """Start a sync; a different config or mode invalidates every block."""
        self.rendered = 0
        if self._mode != (cfg, mode):
            self._entries.clear()
            self._mode = (cfg, mode)

    def order(self, service_map: dict[ServicePortName, ServicePortInfo]) -> list[ServicePortName]:
        """Service ports sorted by name; re-sorted only when the set of services changed."""
        if len(service_map) != len(self._keys) or not self._keys.issuperset(service_map):
            self._keys = frozenset(service_map)
            self._order = sorted(service_map, key=str)
            for gone in [spn for spn in self._entries if spn not in self._keys]:
                del self._entries[gone]
        return self._order

    def block(
        self,
        spn: ServicePortName,
        svc: ServicePortInfo,
        endpoints: object,
        build: Callable[[ServicePortInfo, object], B],
    ) -> B:
        """The cached block for these exact inputs, or a fresh one from build."""
        entry = self._entries.get(spn)
        if entry is not None and entry.svc is svc and entry.endpoints is endpoints:
            return entry.block
        block = build(svc, endpoints)
        self._entries[spn] = _Entry(svc, endpoints, block)
        self.rendered += 1
        return block
