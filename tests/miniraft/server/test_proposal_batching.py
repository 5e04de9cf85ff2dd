"""Concurrent proposals are stepped as one MsgProp per Ready loop turn
(EtcdServer._flush_proposals); over real member processes, every put of a
burst sent to all members at once must still get its own revision, and the
members must end with identical stores."""

from __future__ import annotations

import asyncio

import grpc

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.etcdserverpb import rpc_pb2_grpc as rpc

BURST = 120


async def _burst(endpoints: list[str]) -> tuple[list[int], int, list[tuple[int, int]]]:
    chans = [grpc.aio.insecure_channel(e) for e in endpoints]
    try:
        kvs = [rpc.KVStub(c) for c in chans]
        start = (await kvs[0].Range(pb.RangeRequest(key=b"batch/"), timeout=10)).header.revision
        puts = [
            kvs[i % len(kvs)].Put(
                pb.PutRequest(key=b"batch/%03d" % (i % 40), value=b"v%d" % i), timeout=20
            )
            for i in range(BURST)
        ]
        revs = [r.header.revision for r in await asyncio.gather(*puts)]
        # A linearizable read on every member, then compare the stores at one revision.
        last = max(revs)
        hashes = []
        for c in chans:
            await rpc.KVStub(c).Range(pb.RangeRequest(key=b"batch/"), timeout=10)
            h = await rpc.MaintenanceStub(c).HashKV(pb.HashKVRequest(revision=last), timeout=10)
            hashes.append((h.hash, h.hash_revision))
        return revs, start, hashes
    finally:
        for c in chans:
            await c.close()


def test_concurrent_puts_on_every_member_get_distinct_revisions(cluster3) -> None:
    revs, start, hashes = asyncio.run(_burst([m.endpoint for m in cluster3.members]))
    assert sorted(revs) == list(range(start + 1, start + BURST + 1))
    assert len(set(hashes)) == 1, hashes
