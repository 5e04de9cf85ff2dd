"""The pure allocators: bitmap (allocator/bitmap.go), IP Range (ipallocator/bitmap.go),
PortAllocator (portallocator/allocator.go), with a hypothesis state machine on the bitmap
and upstream's error texts; then two allocators sharing one real etcd (storage.go's CAS). Cases follow upstream's bitmap_test.go and allocator_test.go
(TestAllocate, TestAllocateTiny, TestAllocateReserved, TestSnapshot) in our words.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from miniapiserver.etcd.client import Client
from miniapiserver.registry.service.bitmap import AllocationBitmap, calculate_range_offset
from miniapiserver.registry.service.ipallocator import (
    ErrAllocated,
    ErrFull,
    ErrNotInRange,
    Range,
    parse_cidr,
)
from miniapiserver.registry.service.portallocator import (
    ErrPortNotInRange,
    PortAllocator,
    PortRange,
    parse_port_range,
)
from miniapiserver.registry.service.range_storage import RangeRegistry, repair
from miniapiserver.storage.etcd3_store import Store

from .conftest import start_etcd, stop_etcd


class BitmapMachine(RuleBasedStateMachine):
    """allocate / allocate_next / release / snapshot-restore against a set model."""

    def __init__(self) -> None:
        super().__init__()
        self.bitmap: AllocationBitmap | None = None
        self.model: set[int] = set()

    @precondition(lambda self: self.bitmap is None)
    @rule(size=st.integers(1, 40), offset=st.integers(0, 45), seed=st.integers(0, 2**32))
    def new(self, size: int, offset: int, seed: int) -> None:
        self.bitmap = AllocationBitmap(size, "r", random.Random(seed), offset)

    @precondition(lambda self: self.bitmap is not None)
    @rule(data=st.data())
    def allocate(self, data: st.DataObject) -> None:
        assert self.bitmap is not None
        at = data.draw(st.integers(0, self.bitmap.max - 1))
        assert self.bitmap.allocate(at) == (at not in self.model)
        self.model.add(at)

    @precondition(lambda self: self.bitmap is not None)
    @rule()
    def allocate_next(self) -> None:
        assert self.bitmap is not None
        at = self.bitmap.allocate_next()
        if len(self.model) == self.bitmap.max:
            assert at is None  # full: nothing handed out twice
        else:
            assert at is not None and at not in self.model and 0 <= at < self.bitmap.max
            self.model.add(at)

    @precondition(lambda self: self.bitmap is not None and self.model)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        assert self.bitmap is not None
        at = data.draw(st.sampled_from(sorted(self.model)))
        self.bitmap.release(at)
        self.model.discard(at)

    @precondition(lambda self: self.bitmap is not None)
    @rule()
    def snapshot_restore(self) -> None:
        assert self.bitmap is not None
        spec, data = self.bitmap.snapshot()
        other = AllocationBitmap(self.bitmap.max, spec, random.Random(0))
        other.restore(spec, data)
        self.bitmap = other

    @invariant()
    def agrees(self) -> None:
        if self.bitmap is not None:
            assert set(self.bitmap.for_each()) == self.model
            assert self.bitmap.free() == self.bitmap.max - len(self.model)


TestBitmap = BitmapMachine.TestCase
TestBitmap.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)


@settings(max_examples=20, deadline=None)
@given(prefix=st.integers(24, 30), seed=st.integers(0, 2**32))
def test_a_range_hands_out_every_usable_ip_once_then_is_full(prefix: int, seed: int) -> None:
    r = Range(parse_cidr(f"10.1.2.0/{prefix}"), random.Random(seed))
    net = ipaddress.ip_network(f"10.1.2.0/{prefix}")
    got = [r.allocate_next() for _ in range(r.max)]
    assert sorted(got, key=ipaddress.ip_address) == [str(h) for h in net.hosts()]
    with pytest.raises(ErrFull, match="^range is full$"):
        r.allocate_next()
    r.release(got[0])
    assert r.allocate_next() == got[0]


def test_the_first_ip_is_offset_zero_and_network_broadcast_are_never_in_range() -> None:
    r = Range(parse_cidr("10.0.0.0/24"), random.Random(1))
    assert (r.max, r.ip_at(0), r.contains("10.0.0.1"), r.contains("10.0.0.254")) == (
        254, "10.0.0.1", 0, 253,
    )  # fmt: skip
    for ip in ("10.0.0.0", "10.0.0.255", "10.0.1.1", "fd00::1", "bogus"):
        assert r.contains(ip) is None
    r.allocate("10.0.0.1")
    with pytest.raises(ErrAllocated, match="^provided IP is already allocated$"):
        r.allocate("10.0.0.1")
    with pytest.raises(ErrNotInRange) as e:
        r.allocate("10.0.0.255")
    assert str(e.value) == (
        "the provided IP (10.0.0.255) is not in the valid range. "
        "The range of valid IPs is 10.0.0.0/24"
    )


def test_dynamic_allocation_stays_above_the_reserved_block_until_it_is_full() -> None:
    """KEP-3070: a /24 keeps its first 16 addresses for static IPs while others are free."""
    assert calculate_range_offset(256, 16, 256, 16) == 16
    assert calculate_range_offset(16, 16, 256, 16) == 0
    assert calculate_range_offset(2**20, 16, 256, 16) == 256
    r = Range(parse_cidr("10.0.0.0/24"), random.Random(7))
    upper = [r.allocate_next() for _ in range(254 - 16)]
    assert all(
        int(ipaddress.ip_address(ip)) - int(ipaddress.ip_address("10.0.0.1")) >= 16 for ip in upper
    )
    low = r.allocate_next()
    assert ipaddress.ip_address(low) < ipaddress.ip_address("10.0.0.17")


def test_snapshot_is_the_big_endian_bitmap_upstream_stores() -> None:
    r = Range(parse_cidr("10.0.0.0/24"), random.Random(0))
    for ip in ("10.0.0.1", "10.0.0.10", "10.0.0.254"):
        r.allocate(ip)
    spec, data = r.alloc.snapshot()
    assert spec == "10.0.0.0/24"
    assert int.from_bytes(data, "big") == (1 << 0) | (1 << 9) | (1 << 253)
    again = Range(parse_cidr("10.0.0.0/24"), random.Random(0))
    again.alloc.restore(spec, data)
    assert [again.has(ip) for ip in ("10.0.0.1", "10.0.0.10", "10.0.0.2")] == [True, True, False]
    with pytest.raises(ValueError, match="does not match"):
        again.alloc.restore("10.0.1.0/24", data)


def test_node_ports_texts_and_range() -> None:
    pr = parse_port_range("30000-32767")
    assert (pr, str(pr)) == (PortRange(30000, 2768), "30000-32767")
    assert parse_port_range("30000+10") == PortRange(30000, 11)
    with pytest.raises(ValueError):
        parse_port_range("32767-30000")
    ports = PortAllocator(pr, random.Random(3))
    ports.allocate(30080)
    with pytest.raises(ErrAllocated, match="^provided port is already allocated$"):
        ports.allocate(30080)
    with pytest.raises(ErrPortNotInRange) as e:
        ports.allocate(80)
    assert str(e.value) == (
        "provided port is not in the valid range. The range of valid ports is 30000-32767"
    )
    small = PortAllocator(parse_port_range("30000-30002"), random.Random(3))
    assert sorted(small.allocate_next() for _ in range(3)) == [30000, 30001, 30002]
    with pytest.raises(ErrFull, match="^range is full$"):
        small.allocate_next()


@pytest.mark.tool("etcd")
def test_two_servers_share_one_range_through_etcd_compare_and_swap() -> None:
    """Two API servers' allocators (own bitmaps, own locks) on one real etcd never collide:
    each write is a Txn on the mod_revision read, and a loser restores and retries."""
    url, proc, data = start_etcd("etcd")

    async def run() -> tuple[list[str], str]:
        clients = [Client([url]) for _ in range(2)]
        for c in clients:
            await c.connect()
            await c.wait_ready()
        ranges = [Range(parse_cidr("10.0.0.0/26"), random.Random(i)) for i in range(2)]
        regs = [
            RangeRegistry(r.alloc, Store(c), "ranges/serviceips", "serviceipallocations")
            for r, c in zip(ranges, clients, strict=True)
        ]

        async def empty() -> None:
            ranges[0].alloc.restore("10.0.0.0/26", b"")

        await repair(regs[0], empty)  # the first start writes the empty snapshot
        tasks = [regs[i % 2].try_update(ranges[i % 2].allocate_next) for i in range(62)]
        got = await asyncio.gather(*tasks)
        try:
            await regs[1].try_update(ranges[1].allocate_next)
            full = ""
        except ErrFull as e:
            full = str(e)
        for c in clients:
            await c.close()
        return got, full

    try:
        got, full = asyncio.run(run())
    finally:
        stop_etcd(proc, data)
    assert sorted(got, key=ipaddress.ip_address) == [f"10.0.0.{i}" for i in range(1, 63)]
    assert full == "range is full"
