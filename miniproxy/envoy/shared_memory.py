"""One shared-memory segment per server for the state Envoy's workers share by being threads.

Envoy's circuit breaker counts are atomics on the cluster's one ClusterInfo
(source/common/upstream/resource_manager_impl.h) and a local rate limit's token bucket lives in
the filter config every worker holds (source/extensions/filters/common/local_ratelimit/
local_ratelimit_impl.cc). Our workers are processes, so main creates one `memfd_create` file,
hands its fd to every worker over the channel (as it hands listen sockets) and lays out
fixed-size blocks of int64 slots in it: `BlockAllocator` (pure) gives a block to every key a
snapshot holds (`cluster/<name>`, `ratelimit/<digest>`), the snapshot carries key → block, and a
block freed by a config change is reused only once every worker applied a snapshot without it.
Omitted: growing the segment (a key that finds no free block keeps per-process state, logged).
"""

from __future__ import annotations

import heapq
import mmap
import os

CAPACITY = 4096  # blocks; memfd pages are only backed once touched
RESOURCES = 4  # circuit breaker resources per cluster: connections, pending, requests, retries


class BlockAllocator:
    """Which block each live key owns. Pure: the caller passes snapshot versions."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.blocks: dict[str, int] = {}
        self.free = list(range(capacity))  # a heap: the lowest free block first
        self.released: list[tuple[int, int]] = []  # (snapshot version that dropped it, block)

    def update(self, live: set[str], version: int, applied: int) -> list[tuple[str, int]]:
        """Snapshot `version` holds the keys `live`; every worker has applied `applied`.
        Returns the keys that got a block now (the caller initializes those blocks)."""
        keep = []
        for v, block in self.released:
            if v <= applied:  # no worker still reads it: its stale objects were detached
                heapq.heappush(self.free, block)
            else:
                keep.append((v, block))
        self.released = keep
        for key in [k for k in self.blocks if k not in live]:
            self.released.append((version, self.blocks.pop(key)))
        fresh = []
        for key in sorted(live - self.blocks.keys()):
            if not self.free:
                break
            self.blocks[key] = heapq.heappop(self.free)
            fresh.append((key, self.blocks[key]))
        return fresh


class Segment:
    """The mapped memfd: `block(i)` is block i as a memoryview of int64 slots.

    A block holds, for circuit breakers, RESOURCES × workers slots (each worker writes its own
    slot per resource; main, which serves no traffic when there are workers, only reads); for
    a token bucket, its tokens and the monotonic nanoseconds of its last fill, guarded by a
    `lockf` byte-range lock."""

    def __init__(self, workers: int, fd: int | None = None, capacity: int = CAPACITY) -> None:
        self.workers = workers
        self.block_slots = RESOURCES * workers
        size = capacity * self.block_slots * 8
        if fd is None:
            fd = os.memfd_create("miniproxy-envoy-shared", os.MFD_CLOEXEC)
            os.ftruncate(fd, size)
        self.fd = fd
        self.size = size
        self.capacity = capacity
        self.view = memoryview(mmap.mmap(fd, size)).cast("q")

    def block(self, index: int) -> memoryview:
        base = index * self.block_slots
        return self.view[base : base + self.block_slots]

    def offset(self, index: int) -> int:
        """Byte offset of a block in the file (the range a token bucket locks)."""
        return index * self.block_slots * 8

    def close(self) -> None:
        # The mapping goes with the last view of it; the fd can go now.
        os.close(self.fd)
