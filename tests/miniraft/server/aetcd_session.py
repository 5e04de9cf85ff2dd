"""One scripted aetcd (PyPI) session against an etcd endpoint; prints its results as JSON.

Run as a child process by test_aetcd_client.py: aetcd registers its own copy of
etcd's protos (`rpc.proto`, `kv.proto`, package etcdserverpb/mvccpb) in
protobuf's default descriptor pool, which refuses a second definition of the
same message names, so it cannot share a process with our generated modules.
Usage: python aetcd_session.py HOST:PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

import aetcd


def kv_dict(kv) -> dict:
    return {
        "key": kv.key.decode(),
        "value": kv.value.decode(),
        "create_revision": kv.create_revision,
        "mod_revision": kv.mod_revision,
        "version": kv.version,
        "has_lease": kv.lease != 0,
    }


async def next_event(watch) -> dict:
    async for ev in watch:
        return {"kind": str(ev.kind), **kv_dict(ev.kv)}
    raise RuntimeError("watch ended without an event")


async def session(host: str, port: int) -> dict:
    out: dict = {}
    async with aetcd.Client(host=host, port=port, timeout=10) as c:
        out["put1"] = (await c.put(b"a/1", b"v1")).header.revision
        await c.put(b"a/2", b"v2")
        out["put3_prev"] = kv_dict((await c.put(b"a/1", b"v1b", prev_kv=True)).prev_kv)
        out["get"] = kv_dict(await c.get(b"a/1"))
        out["get_missing"] = await c.get(b"nope") is None
        out["prefix"] = [kv_dict(kv) for kv in await c.get_prefix(b"a/")]
        out["range"] = [kv.key.decode() for kv in await c.get_range(b"a/1", b"a/2")]
        ok, _ = await c.transaction(
            compare=[c.transactions.value(b"a/1") == b"v1b"],
            success=[c.transactions.put(b"a/1", b"txn-ok")],
            failure=[c.transactions.put(b"a/1", b"txn-failed")],
        )
        bad, resps = await c.transaction(
            compare=[c.transactions.version(b"a/2") > 5],
            success=[c.transactions.put(b"a/2", b"never")],
            failure=[c.transactions.get(b"a/2")],
        )
        out["txn"] = [ok, bad, resps[0][0][0].decode(), (await c.get(b"a/1")).value.decode()]
        w = await c.watch_prefix(b"w/")
        await c.put(b"w/x", b"1")
        out["watch_event"] = await asyncio.wait_for(next_event(w), 10)
        await w.cancel()
        hist = await c.watch(b"a/1", start_revision=out["put1"])
        out["watch_history"] = await asyncio.wait_for(next_event(hist), 10)
        await hist.cancel()
        lease = await c.lease(60)
        await c.put(b"l/k", b"leased", lease=lease)
        out["lease_ttl"] = lease.ttl
        out["lease_keys"] = [k.decode() for k in await lease.keys()]
        out["lease_refresh_ttl"] = (await lease.refresh()).TTL
        out["lease_remaining_ok"] = 0 < await lease.remaining_ttl() <= 60
        await lease.revoke()
        out["leased_key_after_revoke"] = await c.get(b"l/k") is None
        out["deleted"] = await c.delete(b"a/2") is not None
        out["final_keys"] = [kv.key.decode() for kv in await c.get_all()]
        try:
            await c.get_prefix(b"")  # an empty key: etcd's InvalidArgument, mapped by aetcd
        except aetcd.exceptions.InvalidArgumentError as e:
            out["empty_key_error"] = str(e)
    return out


def main() -> int:
    host, port = sys.argv[1].rsplit(":", 1)
    print(json.dumps(asyncio.run(session(host, int(port)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
