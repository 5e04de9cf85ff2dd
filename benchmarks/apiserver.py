"""Benchmark miniapiserver with the store on a real etcd 3.4 and on miniraft, in one run.

Figures (one JSON line each, per store):
- create: pods created through the REST API with 32 in flight, per second and p99 latency
  (upstream SLO: p99 <= 1 s for single-object mutating calls);
- list_store / list_cache: LIST of every pod, read from etcd (resourceVersion unset) and from
  the watch cache (resourceVersion=0) (upstream SLO: <= 30 s for a cluster-scope LIST);
- watch_fanout: W watchers on one collection while E objects are created; deliveries per
  second and the p99 lag between a create's response and a watcher seeing it.

Usage: .venv/bin/python benchmarks/apiserver.py [--pods 10000] [--watchers 100] [--events 2000]
[--stores etcd,miniraft]. Bounded: every phase has a deadline; the defaults fit in 3 minutes
on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_store(kind: str, data: str) -> tuple[subprocess.Popen, str]:
    client, peer = free_port(), free_port()
    url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    program = ["etcd"] if kind == "etcd" else [sys.executable, "-m", "miniraft", "serve"]
    args = [
        *program, "--name", "bench", "--data-dir", data,
        "--listen-client-urls", url, "--advertise-client-urls", url,
        "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
        "--initial-cluster", f"bench={peer_url}",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return proc, url


def start_apiserver(etcd_url: str, data: str) -> tuple[subprocess.Popen, str, str, str]:
    args = [
        sys.executable, "-m", "miniapiserver", "--etcd-servers", etcd_url, "--secure-port", "0",
        "--data-dir", data, "--default-watch-cache-size", "20000",
        "--max-requests-inflight", "2000", "--max-mutating-requests-inflight", "2000",
    ]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    deadline = time.monotonic() + 90
    line = ""
    while "serving on" not in line:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if time.monotonic() > deadline or (not line and proc.poll() is not None):
            raise RuntimeError("miniapiserver did not start")
    url = line.split("serving on ")[1].split(";")[0].strip()
    token = Path(data, "pki", "tokens.csv").read_text().split(",", 1)[0]
    return proc, url, token, str(Path(data, "pki", "ca.crt"))


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def p99(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * 0.99))] if s else 0.0


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]},
    }  # fmt: skip


async def create_pods(session: aiohttp.ClientSession, url: str, n: int, deadline: float) -> dict:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty() and time.monotonic() < deadline:
            i = queue.get_nowait()
            t = time.monotonic()
            async with session.post(
                f"{url}/api/v1/namespaces/default/pods", json=pod(f"p{i:05d}")
            ) as r:
                await r.read()
                if r.status != 201:
                    raise RuntimeError(f"create failed: {r.status}")
            latencies.append(time.monotonic() - t)

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(32)))
    took = time.monotonic() - start
    return {
        "n": len(latencies),
        "per_s": round(len(latencies) / took, 1),
        "p99_ms": round(p99(latencies) * 1000, 1),
    }


async def list_pods(session: aiohttp.ClientSession, url: str, query: str) -> dict:
    times, count = [], 0
    for _ in range(3):
        t = time.monotonic()
        async with session.get(f"{url}/api/v1/pods{query}") as r:
            body = await r.read()
        times.append(time.monotonic() - t)
        count = body.count(b'"kind":"Pod"')
    return {"items": count, "median_s": round(sorted(times)[1], 3), "bytes": len(body)}


async def watch_fanout(
    session: aiohttp.ClientSession, url: str, watchers: int, events: int, deadline: float
) -> dict:
    sent: dict[str, float] = {}
    lags: list[float] = []
    received = 0
    ready = asyncio.Event()
    opened = 0

    async def watcher() -> None:
        nonlocal received, opened
        path = f"{url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=170"
        async with session.get(path, timeout=aiohttp.ClientTimeout(total=None)) as r:
            opened += 1
            if opened == watchers:
                ready.set()
            seen = 0
            async for line in r.content:
                # The name without parsing the whole event: the client must not be the bottleneck.
                start = line.find(b'"name":"') + 8
                name = line[start : line.find(b'"', start)].decode()
                if name in sent:
                    lags.append(time.monotonic() - sent[name])
                received += 1
                seen += 1
                if seen == events or time.monotonic() > deadline:
                    return

    tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(0.5)
    start = time.monotonic()

    async def writer(offset: int) -> None:
        for i in range(offset, events, 8):
            name = f"w{i:05d}"
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
            async with session.post(f"{url}/api/v1/namespaces/default/configmaps", json=body) as r:
                await r.read()
            sent[name] = time.monotonic()

    await asyncio.gather(*(writer(k) for k in range(8)))
    await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
    for t in tasks:
        t.cancel()
    took = time.monotonic() - start
    return {
        "watchers": watchers, "events": events, "delivered": received,
        "deliveries_per_s": round(received / took, 1), "lag_p99_ms": round(p99(lags) * 1000, 1),
    }  # fmt: skip


async def bench_store(kind: str, args: argparse.Namespace) -> None:
    data = tempfile.mkdtemp(prefix=f"bench-apiserver-{kind}-{os.getpid()}-")
    store, etcd_url = start_store(kind, os.path.join(data, "store"))
    server = None
    try:
        server, url, token, ca = start_apiserver(etcd_url, os.path.join(data, "api"))
        ctx = ssl.create_default_context(cafile=ca)
        headers = {"Authorization": f"Bearer {token}"}
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        async with aiohttp.ClientSession(headers=headers, connector=conn) as session:
            created = await create_pods(
                session, url, args.pods, time.monotonic() + args.phase_seconds
            )
            emit(kind, "create", created)
            emit(kind, "list_store", await list_pods(session, url, ""))
            emit(kind, "list_cache", await list_pods(session, url, "?resourceVersion=0"))
            fan = await watch_fanout(
                session, url, args.watchers, args.events, time.monotonic() + args.phase_seconds
            )
            emit(kind, "watch_fanout", fan)
    finally:
        if server is not None:
            stop(server)
        stop(store)
        shutil.rmtree(data, ignore_errors=True)


def emit(store: str, bench: str, figures: dict) -> None:
    print(json.dumps({"bench": f"apiserver.{bench}", "store": store, **figures}), flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=10000)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--phase-seconds", type=float, default=25.0, help="deadline of each phase")
    p.add_argument("--stores", default="etcd,miniraft")
    args = p.parse_args()
    for kind in args.stores.split(","):
        if kind == "etcd" and shutil.which("etcd") is None:
            print(
                json.dumps({"bench": "apiserver", "store": "etcd", "skipped": "etcd not on PATH"})
            )
            continue
        asyncio.run(bench_store(kind, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
