"""miniraft vs the real etcd 3.4 on loopback, same client, same run: ratios are the figures.

Both fsync every write; clusters of 1 and 3 members start on free ports with
temp data dirs. One asyncio gRPC load generator (our etcdserverpb protos)
measures: Put throughput and p50/p99 latency at 1, 16 and 256 concurrent
clients, linearizable Range throughput at 16 clients, and watch delivery
latency (Put acknowledged → event received). Each figure also carries the
members' CPU time per operation (user + system, from /proc), which a loaded
shared machine disturbs far less than throughput. Both clusters run side by
side and every figure is measured in alternating slices (miniraft, etcd, etcd,
miniraft, ...), so a shift in the machine's load hits both alike; a slice
counts what completes in a window opening `--warmup` seconds after its
clients start (steady state: no slice is charged the first round trip of a
cold closed loop). Prints one
JSON line per figure, then one per ratio (miniraft / etcd). Bounded to about
two minutes; `--check-perf` adds `etcdctl check perf --load=s` on 3 members of
each (two more minutes).
Usage: .venv/bin/python benchmarks/etcd.py [--seconds 2.0] [--warmup 0.5] [--check-perf]
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
from miniraft.server.procs import ProcCluster, etcdctl, wait_ready

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


async def load(
    stubs, clients: int, seconds: float, op, pids: list[int], warmup: float
) -> tuple[int, list[float], float]:
    """(operations completed in the window, their latencies, the members' CPU seconds in it).

    The window opens `warmup` seconds after the clients start and lasts `seconds`:
    a closed loop of many clients completes nothing until its first round trip,
    so counting from the start would charge each slice one latency of idle time,
    which costs the slower system more (at 256 clients: a third of a one-second
    slice at 0.4 s latency). Requests still running when the window closes finish
    but do not count, and the CPU is sampled at the window's edges.
    """
    lat: list[float] = []
    start = time.monotonic() + warmup
    stop = start + seconds
    counter = itertools.count()
    in_window = 0

    async def one(i: int) -> None:
        nonlocal in_window
        stub = stubs[i % len(stubs)]
        while time.monotonic() < stop:
            t = time.monotonic()
            try:
                await op(stub, next(counter))
            except grpc.aio.AioRpcError:
                continue
            done = time.monotonic()
            if start <= done <= stop:
                lat.append(done - t)
                in_window += 1

    async def cpu_window() -> float:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        c0 = cpu_seconds(pids)
        await asyncio.sleep(max(0.0, stop - time.monotonic()))
        return cpu_seconds(pids) - c0

    cpu = asyncio.create_task(cpu_window())
    await asyncio.gather(*(one(i) for i in range(clients)))
    return in_window, lat, await cpu


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


FIGURES = (("put", 1, put), ("put", 16, put), ("put", 256, put), ("range_linearizable", 16, get))


class Target:
    """One cluster under test: its name, member pids and gRPC channels."""

    def __init__(self, name: str, endpoints: list[str], pids: list[int]) -> None:
        self.name = name
        self.pids = pids
        self.chans = [grpc.aio.insecure_channel(e) for e in endpoints for _ in range(2)]
        self.stubs = [rpc.KVStub(c) for c in self.chans]

    async def close(self) -> None:
        for c in self.chans:
            await c.close()


async def interleaved(targets: list[Target], seconds: float, rounds: int, warmup: float) -> dict:
    """Every figure in short alternating slices, so a change in the machine's load
    (other jobs starting and stopping) hits every target alike and the ratios hold."""
    out: dict = {}
    for fig, clients, op in FIGURES:
        acc = {t.name: [0, [], 0.0] for t in targets}  # ops in the windows, latencies, cpu
        for r in range(rounds):
            for t in targets if r % 2 == 0 else targets[::-1]:
                n, lat, cpu = await load(t.stubs, clients, seconds / rounds, op, t.pids, warmup)
                a = acc[t.name]
                a[0] += n
                a[1] += lat
                a[2] += cpu
        for t in targets:
            n, lat, cpu = acc[t.name]
            out[(t.name, fig, clients)] = n / seconds
            emit(t.name, fig, clients, n / seconds, lat, cpu)
    for t in targets:
        lat = []
        for _ in range(rounds):
            lat += await watch_latency(t.chans, seconds / rounds)
        out[(t.name, "watch", 1)] = len(lat) / seconds
        emit(t.name, "watch_put_to_event", 1, len(lat) / seconds, lat)
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


async def run_pair(clusters: dict[str, ProcCluster], members: int, ns) -> dict:
    targets = [
        Target(f"{name}-{members}", [m.endpoint for m in c.members], [m.p.pid for m in c.members])
        for name, c in clusters.items()
    ]
    try:
        return await interleaved(targets, ns.seconds, ns.rounds, ns.warmup)
    finally:
        for t in targets:
            await t.close()


def print_ratios(res: dict, members: int) -> None:
    ours, theirs = f"miniraft-{members}", f"etcd-{members}"
    for (name, fig, clients), ops in res.items():
        if name != ours or not res.get((theirs, fig, clients)):
            continue
        ratio = {
            "benchmark": "etcd",
            "ratio": "miniraft/etcd",
            "members": members,
            "figure": fig,
            "clients": clients,
            "value": round(ops / res[(theirs, fig, clients)], 3),
        }
        print(json.dumps(ratio), flush=True)


def check_perf(binary: str | None) -> dict:
    """`etcdctl check perf --load=s` (60 s at 150 puts/s from 50 clients) on 3 members."""
    with ProcCluster(3, binary=binary) as c:
        wait_ready(c)
        r = etcdctl(c.endpoints, "check", "perf", "--load=s", timeout=240)
    lines = [ln.strip() for ln in r.stdout.splitlines() if ln.startswith(("PASS", "FAIL"))]
    return {
        "benchmark": "etcd",
        "target": f"{'etcd' if binary else 'miniraft'}-3",
        "figure": "etcdctl_check_perf_load_s",
        "passed": r.returncode == 0,
        "lines": lines,
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=2.0, help="per figure and target")
    p.add_argument("--rounds", type=int, default=2, help="alternating slices per figure")
    p.add_argument(
        "--warmup", type=float, default=0.5, help="seconds of load before each slice's window"
    )
    p.add_argument("--members", default="1,3", help="cluster sizes, comma-separated")
    p.add_argument(
        "--check-perf", action="store_true", help="also run etcdctl check perf --load=s (+2 min)"
    )
    ns = p.parse_args(argv)
    have_etcd = shutil.which("etcd") is not None and shutil.which("etcdctl") is not None
    if not have_etcd:
        print(json.dumps({"benchmark": "etcd", "error": "etcd/etcdctl not on PATH"}))
    for members in (int(x) for x in ns.members.split(",")):
        binaries = {"miniraft": None, **({"etcd": "etcd"} if have_etcd else {})}
        clusters = {name: ProcCluster(members, binary=b) for name, b in binaries.items()}
        try:
            for c in clusters.values():
                c.start()
            for c in clusters.values():
                wait_ready(c)
            res = asyncio.run(run_pair(clusters, members, ns))
        finally:
            for c in clusters.values():
                c.stop()
        print_ratios(res, members)
    if ns.check_perf and have_etcd:
        for binary in (None, "etcd"):
            print(json.dumps(check_perf(binary)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
