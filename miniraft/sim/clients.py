"""Simulated clients: each writes (with retries) or reads via ReadIndex.

A client has at most one operation outstanding, like a synchronous etcd
client. A write is acknowledged when any node applies it; until then the
client re-proposes it to a random node every `retry` ticks (so a write can
commit twice, as at-least-once clients do). A read records the highest
acknowledged write index when it is issued; when its ReadState comes back and
the node has applied up to the read index, the checker verifies the read index
is not older (linearizability, thesis §6.4). Reads may time out; that is
allowed, a wrong answer is not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PendingWrite:
    data: bytes
    node: int
    last_try: int


@dataclass
class PendingRead:
    ctx: bytes
    node: int
    issued: int
    acked_at_issue: int
    read_index: int | None = None


@dataclass
class Client:
    id: int
    seq: int = 0
    write: PendingWrite | None = None
    read: PendingRead | None = None

    def busy(self) -> bool:
        return self.write is not None or self.read is not None

    def next_write_data(self, key: str) -> bytes:
        self.seq += 1
        return f"put {key} c{self.id}-{self.seq}".encode()

    def next_read_ctx(self) -> bytes:
        self.seq += 1
        return f"read c{self.id}-{self.seq}".encode()
