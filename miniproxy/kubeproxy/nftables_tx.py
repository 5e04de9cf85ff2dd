"""The nftables transaction a sync writes, with the element bookkeeping of partial syncs.

Mirrors sigs.k8s.io/knftables Transaction (as the nftables proxier uses it: Add, Flush,
Delete written as `nft -f` text) and nftElementStorage of k8s.io/kubernetes
pkg/proxy/nftables/proxier.go (ensureElem, cleanupLeftoverKeys). `Tx` keeps each map and
set's contents, so that a partial sync emits only the element changes.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

_SETS = {"cluster-ips"}
_MISSING = object()


def element_line(table: str, container: str, key: str, value: str, comment: str) -> str:
    """The `add element` command for one set or map element."""
    note = f' comment "{comment}"' if comment else ""
    body = f"{key}{note}" if container in _SETS else f"{key}{note} : {value}"
    return f"add element ip {table} {container} {{ {body} }}"


class Tx:
    """A knftables-style transaction over one table, with element bookkeeping.

    `lines` holds commands in order; an entry may be several commands already joined
    with newlines (a service's cached block)."""

    def __init__(self, table: str, elements: dict[str, dict[str, str]]):
        self.table = table
        self.lines: list[str] = []
        self._elements = elements
        self._seen: dict[str, set[str]] = {name: set() for name in elements}

    def cmd(self, line: str) -> None:
        self.lines.append(line)

    def ensure_chain(self, chain: str, created: set[str]) -> None:
        """ensureChain: add and flush once per transaction."""
        if chain in created:
            return
        created.add(chain)
        self.cmd(f"add chain ip {self.table} {chain}")
        self.cmd(f"flush chain ip {self.table} {chain}")

    def rule(self, chain: str, rule: str, comment: str | None = None) -> None:
        tail = f' comment "{comment}"' if comment else ""
        self.cmd(f"add rule ip {self.table} {chain} {rule}{tail}")

    def ensure_elems(self, elements: tuple[tuple[str, str, str, str], ...]) -> None:
        """nftElementStorage.ensureElem for (container, key, value, add-line) tuples: add
        new keys, replace changed values, keep the rest."""
        stores, seen, lines = self._elements, self._seen, self.lines
        for container, key, value, add_line in elements:
            store = stores.get(container)
            if store is None:
                store = stores[container] = {}
                seen[container] = set()
            seen[container].add(key)
            old = store.get(key, _MISSING)
            if old is _MISSING:
                store[key] = value
                lines.append(add_line)
            elif old != value:
                lines.append(f"delete element ip {self.table} {container} {{ {key} }}")
                store[key] = value
                lines.append(add_line)

    def load_elements(self, elements) -> None:
        """Record elements whose add commands the caller wrote itself (a fresh store)."""
        stores = self._elements
        for container, key, value, _ in elements:
            store = stores.get(container)
            if store is None:
                store = stores[container] = {}
            store[key] = value

    def delete_elems(self, pairs: list[tuple[str, str]]) -> None:
        """Delete these (container, key) elements, in the order given."""
        for container, key in pairs:
            self.cmd(f"delete element ip {self.table} {container} {{ {key} }}")
            del self._elements[container][key]

    def cleanup_leftovers(self) -> None:
        """cleanupLeftoverKeys: delete every element that this sync did not ensure."""
        for container in sorted(self._elements):
            store, seen = self._elements[container], self._seen.get(container, set())
            for key in sorted(set(store) - seen):
                self.cmd(f"delete element ip {self.table} {container} {{ {key} }}")
                del store[key]

    def elements_snapshot(self) -> dict[str, dict[str, str]]:
        return {k: dict(v) for k, v in self._elements.items()}

    def text(self) -> str:
        # One join with a trailing "" entry: no second copy of a 30 MB text for its "\n".
        return "\n".join([*self.lines, ""]) if self.lines else ""


Pair = tuple[str, str]  # (container, key)
ServiceKey = tuple[str, str]  # (namespace, name)


@dataclass
class ElementOwners:
    """Which Services ensured each element in the last sync, with a count per element.

    Not upstream (nftElementStorage re-ensures every service's elements on every sync):
    with it a partial sync touches only the changed Services' elements. An element that
    went away is one whose count drops to zero; an element also ensured by an unchanged
    Service is a conflict (two Services claiming one key), for which the caller falls
    back to re-ensuring everything, so the result is always what a full pass gives."""

    counts: dict[Pair, int] = field(default_factory=dict)
    by_service: dict[ServiceKey, list[Pair]] = field(default_factory=dict)

    @classmethod
    def of(cls, services: list[ServiceKey], pairs: list[tuple[Pair, ...]]) -> ElementOwners:
        """Owners from each service port's Service and (container, key) pairs."""
        by_service: dict[ServiceKey, list[Pair]] = {}
        for svc, port_pairs in zip(services, pairs, strict=True):
            by_service.setdefault(svc, []).extend(port_pairs)
        return cls(dict(Counter(itertools.chain.from_iterable(pairs))), by_service)

    def replace(
        self, changed: set[ServiceKey], new: dict[ServiceKey, list[Pair]]
    ) -> tuple[ElementOwners, list[Pair]] | None:
        """Owners after the changed Services' elements are replaced by `new`, and the
        elements nobody owns any more (sorted); None on a conflict."""
        counts, by_service = dict(self.counts), dict(self.by_service)
        old: list[Pair] = []
        for svc in changed:
            for pair in by_service.pop(svc, ()):
                counts[pair] -= 1
                old.append(pair)
        touched = old + [pair for pairs in new.values() for pair in pairs]
        if any(counts.get(pair, 0) > 0 for pair in touched):
            return None  # an unchanged Service owns one of these elements too
        for svc, pairs in new.items():
            by_service[svc] = pairs
            for pair in pairs:
                counts[pair] = counts.get(pair, 0) + 1
        gone = sorted({pair for pair in old if counts[pair] == 0})
        for pair in gone:
            del counts[pair]
        return ElementOwners(counts, by_service), gone
