"""Periodic compaction of the store, coordinated through one key.

Mirrors k8s.io/apiserver/pkg/storage/etcd3/compact.go: every interval each
API server runs a Txn on the key `compact_rev_key`: if its version is still
the one this server saw last time, it writes the revision it saw last time and
compacts to it, so several API servers compact once per interval together and
the store always keeps at least one interval of history. Watches and continue
tokens behind the compacted revision then get 410 Gone.
"""

from __future__ import annotations

import asyncio
import logging

from miniapiserver.etcd.client import Client, op_get, op_put
from miniraft.api.etcdserverpb import rpc_pb2

COMPACT_REV_KEY = b"compact_rev_key"

log = logging.getLogger(__name__)


async def compact(client: Client, t: int, rev: int) -> tuple[int, int]:
    """One round: returns (the key version now known, the store's current revision)."""
    cmp = rpc_pb2.Compare(
        result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.VERSION, key=COMPACT_REV_KEY, version=t
    )
    resp = await client.txn(
        [cmp], [op_put(COMPACT_REV_KEY, str(rev).encode())], [op_get(COMPACT_REV_KEY)]
    )
    cur_rev = resp.header.revision
    if not resp.succeeded:
        # Another API server compacted this round; follow its count.
        return resp.responses[0].response_range.kvs[0].version, cur_rev
    if rev != 0:
        await client.compact(rev)
        log.info("compacted the store to revision %d", rev)
    return t + 1, cur_rev


async def compactor(client: Client, interval: float) -> None:
    """Run until cancelled; interval 0 disables compaction (as upstream)."""
    if interval <= 0:
        return
    t, rev = 0, 0
    while True:
        await asyncio.sleep(interval)
        try:
            t, rev = await compact(client, t, rev)
        except Exception as e:  # a failed round is retried at the next interval
            log.warning("compaction failed: %s", e)
