"""The nftables transaction a sync writes, and the element bookkeeping of partial syncs.

Mirrors sigs.k8s.io/knftables Transaction (as the nftables proxier uses it: Add, Flush,
Delete written as `nft -f` text) and the job of nftElementStorage in k8s.io/kubernetes
pkg/proxy/nftables/proxier.go (ensureElem, cleanupLeftoverKeys): a sync must leave each
map and set holding exactly the elements of the current services, writing as few element
commands as it can. Here a full sync flushes the maps and writes every element, and a
partial sync diffs the changed Services' elements against what they wrote last time.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

_SETS = {"cluster-ips"}


class Element(NamedTuple):
    """One element of one set or map, with the commands that add and delete it."""

    slot: str  # "container key": two elements with one slot cannot both exist
    value: str
    add: str
    delete: str


def element(table: str, container: str, key: str, value: str = "", comment: str = "") -> Element:
    """The element `key [: value]` of `container`, with its `add element` command."""
    note = f' comment "{comment}"' if comment else ""
    body = f"{key}{note}" if container in _SETS else f"{key}{note} : {value}"
    return Element(
        f"{container} {key}",
        value,
        f"add element ip {table} {container} {{ {body} }}",
        f"delete element ip {table} {container} {{ {key} }}",
    )


_SLOT = operator.attrgetter("slot")


class Tx:
    """A knftables-style transaction over one table.

    `lines` holds commands in order; an entry may be several commands already joined
    with newlines (a service's cached block)."""

    def __init__(self, table: str):
        self.table = table
        self.lines: list[str] = []
        self._written: dict[str, str] = {}  # slot -> value, for ensure_elems

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

    def ensure_elems(self, elements: Iterable[Element]) -> None:
        """nftElementStorage.ensureElem into flushed maps: add each element once; a later
        element for a slot already written replaces it (delete, then add)."""
        written, lines = self._written, self.lines
        for e in elements:
            old = written.get(e.slot)
            if old == e.value:
                continue
            if old is not None:
                lines.append(e.delete)
            written[e.slot] = e.value
            lines.append(e.add)

    def text(self) -> str:
        # One join with a trailing "" entry: no second copy of a 30 MB text for its "\n".
        return "\n".join([*self.lines, ""]) if self.lines else ""


class ElementOwners:
    """How many service ports wrote each element slot in the last sync.

    Not upstream (nftElementStorage re-ensures every service's elements on every sync):
    with it a partial sync touches only the changed Services' elements. A slot that also
    belongs to an unchanged service port is a conflict (two Services claiming one key), for
    which the caller falls back to writing every element, so the result is always what a
    full pass gives."""

    def __init__(self, elements: Iterable[Element]):
        self.counts: Counter[str] = Counter(map(_SLOT, elements))

    def unique(self, n_elements: int) -> bool:
        """Whether no slot was claimed twice among that many elements."""
        return len(self.counts) == n_elements

    def replace(self, tx: Tx, old: list[Element], new: list[Element]) -> bool:
        """Write the commands that turn the `old` elements of the changed Services into
        their `new` ones and update the counts; False (nothing written) on a conflict."""
        counts = self.counts
        old_by_slot = {e.slot: e for e in old}
        new_by_slot = {e.slot: e for e in new}
        if len(old_by_slot) != len(old) or len(new_by_slot) != len(new):
            return False  # the changed Services claim one slot twice
        if any(
            counts[s] - (s in old_by_slot) > 0 for s in itertools.chain(old_by_slot, new_by_slot)
        ):
            return False  # an unchanged service port owns one of these slots too
        for slot in sorted(old_by_slot.keys() - new_by_slot.keys()):
            tx.cmd(old_by_slot[slot].delete)
            del counts[slot]
        for e in new:
            before = old_by_slot.get(e.slot)
            if before is not None and before.value == e.value:
                continue
            if before is not None:
                tx.cmd(before.delete)
            tx.cmd(e.add)
            counts[e.slot] = 1
        return True
