"""Faults on real member processes: kill -9 the leader under load, pause, snapshot catch-up.

Mirrors the intent of etcd's tests/robustness (no acknowledged write lost,
members converge) with our own gRPC client built from our protos. Every
acknowledged Put must be readable afterwards, the put/get/compare-and-set
history on a few keys must be linearizable (linearizability.py), and HashKV must agree on all members once they caught up.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import re
import signal
import time

import grpc
import pytest

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.etcdserverpb import rpc_pb2_grpc as rpc
from miniraft.server.linearizability import UNKNOWN, Operation, check
from miniraft.server.procs import ProcCluster, wait_ready

pytestmark = pytest.mark.tool("etcdctl")


class Client:
    """A tiny multi-endpoint etcd client: try the next endpoint on any failure."""

    def __init__(self, endpoints: list[str]) -> None:
        self.chans = [grpc.aio.insecure_channel(e) for e in endpoints]
        self.rr = itertools.cycle(range(len(endpoints)))

    def kv(self, i: int | None = None) -> rpc.KVStub:
        return rpc.KVStub(self.chans[next(self.rr) if i is None else i])

    def maint(self, i: int) -> rpc.MaintenanceStub:
        return rpc.MaintenanceStub(self.chans[i])

    async def close(self) -> None:
        for ch in self.chans:
            await ch.close()


async def writer(cl: Client, w: int, stop: asyncio.Event, acked: dict[bytes, int]) -> None:
    for i in itertools.count():
        if stop.is_set():
            return
        key = b"f/%d/%d" % (w, i)
        try:
            resp = await cl.kv().Put(pb.PutRequest(key=key, value=key), timeout=3)
            acked[key] = resp.header.revision
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.05)


async def lin_client(cl: Client, cid: int, stop: asyncio.Event, history: list) -> None:
    """Random put/get/compare-and-set on two keys, every call and return time recorded."""
    rng = random.Random(cid)
    while not stop.is_set():
        key = b"lin/%d" % rng.randrange(2)
        kind = rng.choice(["put", "get", "cas"])
        value = b"%d-%d" % (cid, rng.randrange(1000))
        call = time.monotonic()
        try:
            if kind == "put":
                await cl.kv().Put(pb.PutRequest(key=key, value=value), timeout=3)
                args, out = (value,), None
            elif kind == "get":
                r = await cl.kv().Range(pb.RangeRequest(key=key), timeout=3)
                args, out = (), (r.kvs[0].value if r.kvs else None)
            else:
                expect = rng.choice([op.args[0] for op in history[-5:] if op.op == "put"] or [None])
                if expect is None:
                    cmp = pb.Compare(key=key, target=pb.Compare.VERSION, version=0)
                else:
                    cmp = pb.Compare(key=key, target=pb.Compare.VALUE, value=expect)
                put = pb.RequestOp(request_put=pb.PutRequest(key=key, value=value))
                r = await cl.kv().Txn(pb.TxnRequest(compare=[cmp], success=[put]), timeout=3)
                args, out = (expect, value), r.succeeded
            history.append(Operation(cid, key, kind, args, call, time.monotonic(), out))
        except grpc.aio.AioRpcError:
            if kind != "get":  # it may still have been applied: outcome unknown
                args = (value,) if kind == "put" else (expect, value)
                history.append(Operation(cid, key, kind, args, call, math.inf, UNKNOWN))
            await asyncio.sleep(0.05)


async def read_retry(cl: Client, req: pb.RangeRequest, timeout: float = 40):
    """A linearizable read from whichever member answers (the restarted one may not yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await cl.kv().Range(req, timeout=5)
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def leader_index(cl: Client, n: int) -> int:
    for i in range(n):
        try:
            st = await cl.maint(i).Status(pb.StatusRequest(), timeout=2)
            if st.leader == st.header.member_id:
                return i
        except grpc.aio.AioRpcError:
            continue
    raise AssertionError("no leader")


async def converged_hashes(cl: Client, n: int, timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            rev = (await cl.kv(0).Range(pb.RangeRequest(key=b"x"), timeout=3)).header.revision
            hashes = set()
            for i in range(n):
                r = await cl.maint(i).HashKV(pb.HashKVRequest(revision=rev), timeout=3)
                hashes.add(r.hash)
            if len(hashes) == 1:
                return hashes
        except grpc.aio.AioRpcError:
            pass
        if time.monotonic() > deadline:
            return hashes
        await asyncio.sleep(0.3)


async def _kill_leader_under_load(c: ProcCluster) -> None:
    cl = Client([m.endpoint for m in c.members])
    stop = asyncio.Event()
    acked: dict[bytes, int] = {}
    history: list[Operation] = []
    tasks = [asyncio.create_task(writer(cl, w, stop, acked)) for w in range(3)]
    tasks += [asyncio.create_task(lin_client(cl, i, stop, history)) for i in range(3)]
    await asyncio.sleep(1.0)
    lead = c.members[await leader_index(cl, 3)]
    c.kill(lead)  # SIGKILL: no goodbye, maybe mid-fsync
    await asyncio.sleep(2.0)
    follower = next(m for m in c.members if m is not lead)
    c.kill(follower, signal.SIGSTOP)
    await asyncio.sleep(0.3)
    c.kill(follower, signal.SIGCONT)
    c.start_member(lead)
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.gather(*tasks)
    assert len(acked) > 20
    got = await read_retry(cl, pb.RangeRequest(key=b"f/", range_end=b"f0"))
    stored = {kv.key: kv.mod_revision for kv in got.kvs}
    lost = {k for k, rev in acked.items() if stored.get(k) != rev}
    assert not lost, f"acknowledged writes lost: {sorted(lost)[:5]}"
    assert len(history) > 20
    assert check(history), "the put/get/cas history is not linearizable"
    assert len(await converged_hashes(cl, 3)) == 1
    await cl.close()


def test_kill9_leader_under_load_loses_no_acknowledged_write() -> None:
    with ProcCluster(3) as c:
        wait_ready(c)
        asyncio.run(_kill_leader_under_load(c))


async def _catch_up_from_snapshot(c: ProcCluster) -> None:
    cl = Client([m.endpoint for m in c.members])
    lagging = c.members[2]
    c.kill(lagging)
    for i in range(80):
        for attempt in range(5):
            try:
                await cl.kv(i % 2).Put(pb.PutRequest(key=b"s/%d" % i, value=b"v"), timeout=10)
                break
            except grpc.aio.AioRpcError:
                if attempt == 4:
                    raise
    segment = sorted((lagging.data_dir / "member" / "wal").glob("*.wal"))[-1]
    with open(segment, "ab") as f:
        f.write(b"\x40\x00\x00\x00\xde\xad")  # a record header cut short by the crash
    c.start_member(lagging)
    assert len(await converged_hashes(cl, 3)) == 1
    got = await cl.kv(2).Range(
        pb.RangeRequest(key=b"s/", range_end=b"s0", count_only=True, serializable=True)
    )
    assert got.count == 80
    log = lagging.log_path.read_text()
    assert re.search(r'"msg": "applying snapshot"', log)
    assert re.search(r'"msg": "repaired a torn WAL tail"', log)
    await cl.close()


def test_far_behind_member_catches_up_from_a_snapshot() -> None:
    flags = ["--snapshot-count", "20", "--experimental-snapshot-catchup-entries", "5"]
    with ProcCluster(3, extra=flags) as c:
        wait_ready(c)
        asyncio.run(_catch_up_from_snapshot(c))
