"""Service ClusterIPs handed out of --service-cluster-ip-range.

Mirrors pkg/registry/core/service/ipallocator/bitmap.go (Range: New,
Allocate, AllocateNext, Release, Has, contains, calculateRangeOffset) and
interfaces.go (ErrFull, ErrAllocated, ErrNotInRange). The network address is
never handed out, nor (IPv4) the broadcast address; offset 0 of the bitmap is
the first usable address, which the `kubernetes` Service takes. Pure: the
bitmap's random source is injected. Omitted: the MultiCIDRServiceAllocator
(IPAddress objects), metrics, dry-run wrappers (callers skip dry runs).
"""

from __future__ import annotations

import ipaddress
import random

from miniapiserver.registry.service.bitmap import AllocationBitmap, calculate_range_offset

IPV6_MAX = 65536  # upstream caps an IPv6 range's bitmap at 2^16 addresses


class AllocationError(Exception):
    """An allocator's refusal; str() is upstream's error text."""


class ErrFull(AllocationError):
    def __init__(self) -> None:
        super().__init__("range is full")


class ErrAllocated(AllocationError):
    def __init__(self, what: str = "IP") -> None:
        super().__init__(f"provided {what} is already allocated")


class ErrNotInRange(AllocationError):
    def __init__(self, ip: str, valid_range: str) -> None:
        # The text of Kubernetes 1.25-1.33 (the version /version reports).
        super().__init__(
            f"the provided IP ({ip}) is not in the valid range. "
            f"The range of valid IPs is {valid_range}"
        )


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """ParseCIDRSloppy: host bits are masked off, as Go's net.ParseCIDR does."""
    return ipaddress.ip_network(text.strip(), strict=False)


class Range:
    """A CIDR's usable addresses over an AllocationBitmap."""

    def __init__(
        self, cidr: ipaddress.IPv4Network | ipaddress.IPv6Network, rng: random.Random
    ) -> None:
        self.net = cidr
        self.family = "IPv4" if cidr.version == 4 else "IPv6"
        size = cidr.num_addresses
        usable = size - 1 if cidr.version == 4 else min(size, IPV6_MAX)
        self.max = max(0, usable - 1)  # minus the network (".0") address
        self.base = int(cidr.network_address) + 1
        offset = calculate_range_offset(size, 16, 256, 16)
        self.alloc = AllocationBitmap(self.max, str(cidr), rng, offset)

    def contains(self, ip: str) -> int | None:
        """The bitmap offset of ip, or None outside the usable addresses."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if addr.version != self.net.version or addr not in self.net:
            return None
        offset = int(addr) - self.base
        return offset if 0 <= offset < self.max else None

    def allocate(self, ip: str) -> None:
        """Reserve this IP, or raise ErrNotInRange / ErrAllocated."""
        offset = self.contains(ip)
        if offset is None:
            raise ErrNotInRange(ip, str(self.net))
        if not self.alloc.allocate(offset):
            raise ErrAllocated()

    def allocate_next(self) -> str:
        offset = self.alloc.allocate_next()
        if offset is None:
            raise ErrFull()
        return self.ip_at(offset)

    def release(self, ip: str) -> None:
        """Releasing an unallocated or out-of-range IP is a no-op."""
        offset = self.contains(ip)
        if offset is not None:
            self.alloc.release(offset)

    def has(self, ip: str) -> bool:
        offset = self.contains(ip)
        return offset is not None and self.alloc.has(offset)

    def ip_at(self, offset: int) -> str:
        return str(ipaddress.ip_address(self.base + offset))

    def used(self) -> int:
        return self.max - self.alloc.free()
