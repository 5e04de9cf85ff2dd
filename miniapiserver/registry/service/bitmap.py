"""A bitmap of taken offsets in a range, and how to pick a free one.

Mirrors pkg/registry/core/service/allocator/bitmap.go (AllocationBitmap,
randomScanStrategyWithOffset, Snapshot/Restore) and utils.go (countBits).
Pure: the random source is injected. The bitmap is a Python int whose bit i
is offset i, so Snapshot is the big-endian bytes of that number, exactly
upstream's `big.Int.Bytes()` stored in RangeAllocation.data.
Contract: an offset is handed out at most once until it is released;
allocate_next draws from [offset, max) first and only then from [0, offset),
so the low block stays free for explicitly requested values (KEP-3070/3668).
Omitted: the contiguous scan strategy, metrics.
"""

from __future__ import annotations

import random


class AllocationBitmap:
    """Offsets 0..max-1 of one range; bit set = allocated."""

    def __init__(self, max: int, range_spec: str, rng: random.Random, offset: int = 0) -> None:
        self.max = max
        self.range_spec = range_spec
        self.rng = rng
        # Below `offset` is the block kept for static (requested) allocations.
        self.offset = offset if 0 < offset < max else 0
        self.allocated = 0
        self.count = 0

    def allocate(self, offset: int) -> bool:
        """Reserve one offset; False when it is already taken."""
        if self.has(offset):
            return False
        self.allocated |= 1 << offset
        self.count += 1
        return True

    def allocate_next(self) -> int | None:
        """A free offset (marked taken), or None when the range is full."""
        if self.count >= self.max:
            return None
        at = self._scan(self.offset, self.max) if self.max > self.offset else None
        if at is None and self.offset:
            at = self._scan(0, self.offset)
        if at is None:
            return None
        self.allocated |= 1 << at
        self.count += 1
        return at

    def _scan(self, lo: int, hi: int) -> int | None:
        """randomScanStrategy over [lo, hi): a random start, then forward with wrap-around."""
        size = hi - lo
        start = self.rng.randrange(size)
        for i in range(size):
            at = lo + (start + i) % size
            if not (self.allocated >> at) & 1:
                return at
        return None

    def release(self, offset: int) -> None:
        """Free one offset; releasing a free one is a no-op, as upstream."""
        if self.has(offset):
            self.allocated &= ~(1 << offset)
            self.count -= 1

    def has(self, offset: int) -> bool:
        return bool((self.allocated >> offset) & 1)

    def free(self) -> int:
        return self.max - self.count

    def for_each(self) -> list[int]:
        """ForEach: every allocated offset, lowest first."""
        bits, out = self.allocated, []
        while bits:
            low = bits & -bits  # the lowest set bit, without walking the clear ones
            out.append(low.bit_length() - 1)
            bits ^= low
        return out

    def snapshot(self) -> tuple[str, bytes]:
        """(range spec, big-endian bytes of the bitmap), as RangeAllocation stores them."""
        n = self.allocated
        return self.range_spec, n.to_bytes((n.bit_length() + 7) // 8, "big")

    def restore(self, range_spec: str, data: bytes) -> None:
        if range_spec != self.range_spec:
            raise ValueError("the provided range does not match the current range")
        self.allocated = int.from_bytes(data, "big")
        self.count = self.allocated.bit_count()


def calculate_range_offset(size: int, lo: int, hi: int, step: int) -> int:
    """min(max(lo, size/step), hi), or 0 when the range is too small to split."""
    if size <= lo:
        return 0
    return max(lo, min(size // step, hi))
