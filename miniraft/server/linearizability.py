"""A linearizability checker for key-value histories (Wing & Gong search, Lowe's cache).

Mirrors anishathalye/porcupine (checker.go: makeEntries, the linked list with
lift/unlift, the (linearized set, state) cache; model.go: Partition) as used by
etcd's tests/robustness. Operations on different keys never constrain each
other, so the history is split per key and each part searched on its own.
An operation whose outcome is unknown (timeout, lost connection) returns "at
infinity": it may take effect at any point after its call, or never.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

UNKNOWN = object()  # the output of an operation whose response never arrived


@dataclass(frozen=True)
class Operation:
    client: int
    key: bytes
    op: str  # "put" (value) | "get" | "cas" (expect, new)
    args: tuple
    call: float
    ret: float  # math.inf when the outcome is unknown
    output: object = None  # get: value or None; cas: bool; put: None


def step(state: bytes | None, o: Operation) -> tuple[bool, bytes | None]:
    """The sequential register: is `o` with its output legal in `state`, and the next state."""
    if o.op == "put":
        return True, o.args[0]
    if o.op == "get":
        return o.output is UNKNOWN or o.output == state, state
    expect, new = o.args
    if o.output is UNKNOWN:
        return True, new if state == expect else state
    if o.output:
        return state == expect, new
    return state != expect, state


class _Entry:
    __slots__ = ("id", "is_call", "op", "time", "match", "prev", "next")

    def __init__(self, eid: int, is_call: bool, op: Operation | None, t: float) -> None:
        self.id, self.is_call, self.op, self.time = eid, is_call, op, t
        self.match: _Entry | None = None
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def _make_entries(ops: list[Operation]) -> _Entry:
    events = []
    for i, o in enumerate(ops):
        call, ret = _Entry(i, True, o, o.call), _Entry(i, False, None, o.ret)
        call.match = ret
        events += [call, ret]
    # at equal times a call sorts first: touching operations count as concurrent
    events.sort(key=lambda e: (e.time, not e.is_call))
    head = _Entry(-1, False, None, -math.inf)
    prev = head
    for e in events:
        prev.next, e.prev = e, prev
        prev = e
    return head


def _lift(e: _Entry) -> None:
    e.prev.next = e.next
    e.next.prev = e.prev
    m = e.match
    m.prev.next = m.next
    if m.next is not None:
        m.next.prev = m.prev


def _unlift(e: _Entry) -> None:
    m = e.match
    m.prev.next = m
    if m.next is not None:
        m.next.prev = m
    e.prev.next = e
    e.next.prev = e


def check_single(ops: list[Operation], init: bytes | None = None) -> bool:
    """Is there a total order of ops, respecting real time, that the register accepts?"""
    head = _make_entries(ops)
    state, linearized = init, 0
    cache: set[tuple[int, bytes | None]] = set()
    calls: list[tuple[_Entry, bytes | None]] = []
    entry = head.next
    while head.next is not None:
        if entry.is_call:
            ok, new_state = step(state, entry.op)
            new_lin = linearized | (1 << entry.id)
            if ok and (new_lin, new_state) not in cache:
                cache.add((new_lin, new_state))
                calls.append((entry, state))
                state, linearized = new_state, new_lin
                _lift(entry)
                entry = head.next
            else:
                entry = entry.next
        else:  # reached a return whose call is not linearized yet: backtrack
            if not calls:
                return False
            entry, state = calls.pop()
            linearized &= ~(1 << entry.id)
            _unlift(entry)
            entry = entry.next
    return True


def check(ops: list[Operation]) -> bool:
    """Partition by key (porcupine's Partition) and check each part."""
    by_key: dict[bytes, list[Operation]] = defaultdict(list)
    for o in ops:
        if o.op == "get" and o.output is UNKNOWN:
            continue  # a read that never answered constrains nothing
        by_key[o.key].append(o)
    return all(check_single(part) for part in by_key.values())
