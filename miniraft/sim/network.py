"""A seeded, adversarial message network for the simulator.

Plays the role of etcd-io/raft's test `network` (raft_test.go: drop, cut,
isolate, ignore hooks) and of rafttest/network.go (delays, drops), driven by
one `random.Random` so that a seed replays exactly. Faults: drop, duplicate,
reorder (random delays), and partitions as a set of blocked *directed* links,
so asymmetric splits (a hears b, b does not hear a) are expressible.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from miniraft.raft import Message


@dataclass
class NetworkFaults:
    drop: float = 0.0  # probability a message is lost
    dup: float = 0.0  # probability a message is delivered twice
    max_delay: int = 1  # delays in [1, max_delay] ticks; > 1 reorders


class SimNetwork:
    def __init__(self, rng: random.Random, faults: NetworkFaults) -> None:
        self.rng = rng
        self.faults = faults
        self.blocked: set[tuple[int, int]] = set()  # (from, to) links that drop
        self._queue: list[tuple[int, int, Message]] = []
        self._seq = 0
        self.sent = self.dropped = self.duplicated = 0

    def _delay(self) -> int:
        f = self.faults
        return 1 if f.max_delay <= 1 else self.rng.randint(1, f.max_delay)

    def send(self, m: Message, now: int) -> bool:
        """Queue m; False when it is lost right away (dropped or cut)."""
        self.sent += 1
        if (m.frm, m.to) in self.blocked or self.rng.random() < self.faults.drop:
            self.dropped += 1
            return False
        copies = 2 if self.rng.random() < self.faults.dup else 1
        self.duplicated += copies - 1
        for _ in range(copies):
            self._seq += 1
            heapq.heappush(self._queue, (now + self._delay(), self._seq, m))
        return True

    def due(self, now: int) -> list[Message]:
        """Messages to deliver at `now`, in (delivery time, send order)."""
        out = []
        while self._queue and self._queue[0][0] <= now:
            out.append(heapq.heappop(self._queue)[2])
        return out

    def cut(self, m: Message) -> bool:
        """A partition that starts while a message is in flight cuts it too."""
        return (m.frm, m.to) in self.blocked

    def in_flight(self) -> int:
        return len(self._queue)

    def partition(self, groups: list[set[int]]) -> None:
        """Symmetric split: nodes talk only within their group."""
        self.blocked = {(a, b) for g in groups for h in groups if g is not h for a in g for b in h}

    def block(self, frm: int, to: int) -> None:
        """Asymmetric fault: frm's messages to `to` are lost, not the reverse."""
        self.blocked.add((frm, to))

    def heal(self) -> None:
        self.blocked = set()
