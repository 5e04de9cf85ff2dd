"""miniraft vs the real etcd 3.4 on loopback, same client, same run: ratios are the figures.

Both fsync every write; clusters of 1 and 3 members start on free ports with
temp data dirs. One asyncio gRPC load generator (our etcdserverpb protos)
measures: Put throughput and p50/p99 latency at 1, 16 and 256 concurrent
clients, linearizable Range throughput at 16 clients, and watch delivery
latency (Put acknowledged → event received). Each figure also carries the
members' CPU time per operation (user + system, from /proc), which a loaded
shared machine disturbs far less than throughput. Prints one JSON line per
figure, then one per ratio (miniraft / etcd). Bounded to about two minutes.
Usage: .venv/bin/python benchmarks/etcd.py [--seconds 2.0]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.etcdserverpb import rpc_pb2_grpc as rpc
from miniraft.server.procs import ProcCluster, wait_ready

VALUE = b"v" * 256


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the member processes so far (fields 14, 15 of stat)."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else 0.0


async def load(stubs, clients: int, seconds: float, op) -> tuple[float, list[float]]:
    lat: list[float] = []
    stop = time.monotonic() + seconds
    counter = itertools.count()

    async def one(i: int) -> None:
        stub = stubs[i % len(stubs)]
        while time.monotonic() < stop:
            t = time.monotonic()
            try:
                await op(stub, next(counter))
            except grpc.aio.AioRpcError:
                continue
            lat.append(time.monotonic() - t)

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(clients)))
    return len(lat) / (time.monotonic() - t0), lat


async def put(stub, n: int) -> None:
    await stub.Put(pb.PutRequest(key=b"bench/%08d" % (n % 10000), value=VALUE), timeout=10)


async def get(stub, n: int) -> None:
    await stub.Range(pb.RangeRequest(key=b"bench/%08d" % (n % 1000)), timeout=10)


async def watch_latency(chans, seconds: float) -> list[float]:
    """Put on one member, receive the event on a watch opened on another."""
    w = rpc.WatchStub(chans[-1]).Watch()
    await w.write(pb.WatchRequest(create_request=pb.WatchCreateRequest(key=b"wl")))
    await w.read()  # created
    kv = rpc.KVStub(chans[0])
    lat = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        t = time.monotonic()
        await kv.Put(pb.PutRequest(key=b"wl", value=b"x"), timeout=10)
        while True:
            resp = await asyncio.wait_for(w.read(), 10)
            if resp.events:
                break
        lat.append(time.monotonic() - t)
    w.cancel()
    return lat


async def measure(target: str, endpoints: list[str], pids: list[int], seconds: float, emit) -> dict:
    chans = [grpc.aio.insecure_channel(e) for e in endpoints for _ in range(2)]
    stubs = [rpc.KVStub(c) for c in chans]
    out = {}
    for clients in (1, 16, 256):
        c0 = cpu_seconds(pids)
        ops, lat = await load(stubs, clients, seconds, put)
        out[("put", clients)] = ops
        emit(target, "put", clients, ops, lat, cpu_seconds(pids) - c0)
    c0 = cpu_seconds(pids)
    ops, lat = await load(stubs, 16, seconds, get)
    out[("range", 16)] = ops
    emit(target, "range_linearizable", 16, ops, lat, cpu_seconds(pids) - c0)
    lat = await watch_latency(chans, seconds)
    out[("watch", 1)] = len(lat) / seconds
    emit(target, "watch_put_to_event", 1, len(lat) / seconds, lat)
    for c in chans:
        await c.close()
    return out


def emit(
    target: str, bench: str, clients: int, ops: float, lat: list[float], cpu: float | None = None
) -> None:
    extra = {}
    if cpu is not None and lat:
        extra["server_cpu_ms_per_op"] = round(cpu * 1000 / len(lat), 2)
    print(
        json.dumps(
            {
                "benchmark": "etcd",
                "target": target,
                "figure": bench,
                "clients": clients,
                "ops_per_s": round(ops, 1),
                "p50_ms": round(pct(lat, 0.5), 2),
                "p99_ms": round(pct(lat, 0.99), 2),
                "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else 0.0,
                **extra,
            }
        ),
        flush=True,
    )


def run_target(binary: str | None, members: int, seconds: float) -> dict:
    name = f"{'etcd' if binary else 'miniraft'}-{members}"
    with ProcCluster(members, binary=binary) as c:
        wait_ready(c)
        pids = [m.p.pid for m in c.members if m.p is not None]
        return asyncio.run(measure(name, [m.endpoint for m in c.members], pids, seconds, emit))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=2.0, help="per figure")
    ns = p.parse_args(argv)
    have_etcd = shutil.which("etcd") is not None and shutil.which("etcdctl") is not None
    for members in (1, 3):
        ours = run_target(None, members, ns.seconds)
        if not have_etcd:
            print(json.dumps({"benchmark": "etcd", "error": "etcd/etcdctl not on PATH"}))
            continue
        theirs = run_target("etcd", members, ns.seconds)
        for key, ops in ours.items():
            ratio = ops / theirs[key] if theirs.get(key) else None
            print(
                json.dumps(
                    {
                        "benchmark": "etcd",
                        "ratio": "miniraft/etcd",
                        "members": members,
                        "figure": key[0],
                        "clients": key[1],
                        "value": round(ratio, 3) if ratio is not None else None,
                    }
                ),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
