"""Service NodePorts handed out of --service-node-port-range.

Mirrors pkg/registry/core/service/portallocator/allocator.go (PortAllocator:
Allocate, AllocateNext, Release, calculateRangeOffset; ErrFull, ErrAllocated,
ErrNotInRange) and k8s.io/apimachinery/pkg/util/net's PortRange
("30000-32767", a single port, or "base+size"). Pure: the random source is
injected. Omitted: metrics, the PortAllocationOperation wrapper (alloc.py
keeps its own list of what to undo).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from miniapiserver.registry.service.bitmap import AllocationBitmap, calculate_range_offset
from miniapiserver.registry.service.ipallocator import AllocationError, ErrAllocated, ErrFull


class ErrPortNotInRange(AllocationError):
    def __init__(self, valid_ports: str) -> None:
        super().__init__(
            f"provided port is not in the valid range. The range of valid ports is {valid_ports}"
        )


@dataclass(frozen=True)
class PortRange:
    """net.PortRange: base and size; str() is upstream's String() ("30000-32767")."""

    base: int
    size: int

    def __str__(self) -> str:
        return f"{self.base}-{self.base + self.size - 1}" if self.size else ""

    def contains(self, port: int) -> bool:
        return self.base <= port < self.base + self.size


def parse_port_range(text: str) -> PortRange:
    """ParsePortRange: "low-high", "low+count" or a single port, all within 1-65535."""
    text = text.strip()
    try:
        if "+" in text:
            low, count = (int(x) for x in text.split("+", 1))
            high = low + count
        elif "-" in text:
            low, high = (int(x) for x in text.split("-", 1))
        else:
            low = high = int(text)
    except ValueError:
        raise ValueError(f"unable to parse port range: {text}") from None
    if not (0 < low <= high <= 65535):
        raise ValueError(f"range ends must be in 1-65535 and ordered: {text}")
    return PortRange(low, high - low + 1)


class PortAllocator:
    """A PortRange over an AllocationBitmap (offset 0 = the range's base port)."""

    def __init__(self, pr: PortRange, rng: random.Random) -> None:
        self.port_range = pr
        offset = calculate_range_offset(pr.size, 16, 128, 32)
        self.alloc = AllocationBitmap(pr.size, str(pr), rng, offset)

    def allocate(self, port: int) -> None:
        if not self.port_range.contains(port):
            raise ErrPortNotInRange(str(self.port_range))
        if not self.alloc.allocate(port - self.port_range.base):
            raise ErrAllocated("port")

    def allocate_next(self) -> int:
        offset = self.alloc.allocate_next()
        if offset is None:
            raise ErrFull()
        return self.port_range.base + offset

    def release(self, port: int) -> None:
        if self.port_range.contains(port):
            self.alloc.release(port - self.port_range.base)

    def has(self, port: int) -> bool:
        return self.port_range.contains(port) and self.alloc.has(port - self.port_range.base)
