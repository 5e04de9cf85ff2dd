"""The sliding window of MsgApp messages sent to one follower but not yet acked.

Mirrors etcd-io/raft tracker/inflights.go (Inflights). Flow control for the
replicate state: the leader stops sending new appends once `max_inflight_msgs`
messages (or `max_inflight_bytes` bytes) are unacknowledged.
Omitted: the hand-rolled ring buffer (a deque does the same job).
"""

from __future__ import annotations

from collections import deque


class Inflights:
    def __init__(self, size: int, max_bytes: int = 0) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._buf: deque[tuple[int, int]] = deque()  # (last index of a MsgApp, bytes)

    def clone(self) -> Inflights:
        c = Inflights(self.size, self.max_bytes)
        c.bytes, c._buf = self.bytes, deque(self._buf)
        return c

    def add(self, index: int, nbytes: int) -> None:
        if self.full():
            raise AssertionError("cannot add into a Full inflights")
        self._buf.append((index, nbytes))
        self.bytes += nbytes

    def free_le(self, to: int) -> None:
        """Release every message whose last index is <= to (an ack covers them)."""
        while self._buf and self._buf[0][0] <= to:
            self.bytes -= self._buf.popleft()[1]

    def full(self) -> bool:
        return len(self._buf) == self.size or (self.max_bytes != 0 and self.bytes >= self.max_bytes)

    def count(self) -> int:
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()
        self.bytes = 0
