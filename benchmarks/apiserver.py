"""Benchmark miniapiserver with the store on a real etcd 3.4 and on miniraft, in one run.

Figures (one JSON line each, per store), at the miniapiserver issue's sizes by default:
- create: 2,000 pods created through the REST API with 32 in flight, per second, p50 and p99
  latency (upstream SLO: p99 <= 1 s for single-object mutating calls);
- fill: the pods brought to 10,000 by writing copies straight into the store (the LIST
  figures need them; the create path is measured above);
- list_store / list_cache: LIST of all 10,000 pods, read from etcd (resourceVersion unset)
  and from the watch cache (resourceVersion=0), median of 3 (upstream SLO: <= 30 s for a
  cluster-scope LIST);
- watch_fanout: 100 watchers on configmaps while 10,000 configmaps are written into the
  store: deliveries per second, and the p50/p99 lag from a write to a watcher reading it.

Usage: .venv/bin/python benchmarks/apiserver.py [--pods 10000] [--creates 2000]
[--watchers 100] [--events 10000] [--stores etcd,miniraft]. Bounded: every phase has a
deadline (--phase-seconds, --fanout-seconds); a phase that misses it reports how far it
got (`complete: false`). About 4-5 minutes for both stores on two quiet cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from miniapiserver.etcd.client import Client as EtcdClient  # noqa: E402
from miniapiserver.etcd.client import op_put  # noqa: E402


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


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))] if s else 0.0


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
    p99 = pct(latencies, 0.99)
    return {
        "n": len(latencies), "per_s": round(len(latencies) / took, 1),
        "p50_ms": round(pct(latencies, 0.5) * 1000, 1), "p99_ms": round(p99 * 1000, 1),
        "slo_p99_le_1s": p99 <= 1.0,
    }  # fmt: skip


async def fill_store(etcd: EtcdClient, template: dict, first: int, total: int) -> float:
    """Bring the pods to `total` by writing copies of a stored pod straight into the store.

    The LIST figures need 10,000 pods; creating them all through REST would spend the
    benchmark's time on the create path, which the create figure already measures.
    """
    start = time.monotonic()

    def put(i: int):  # type: ignore[no-untyped-def]
        obj = json.loads(json.dumps(template))
        meta = obj["metadata"]
        meta["name"], meta["uid"] = f"p{i:05d}", str(uuid.uuid4())
        meta.pop("resourceVersion", None)
        return op_put(f"/registry/pods/default/p{i:05d}".encode(), json.dumps(obj).encode())

    # 100 puts per Txn (etcd allows 128 operations in one).
    for batch in range(first, total, 100):
        await etcd.txn([], [put(i) for i in range(batch, min(batch + 100, total))])
    return time.monotonic() - start


async def list_pods(session: aiohttp.ClientSession, url: str, query: str, want: int) -> dict:
    times, count = [], 0
    for _ in range(3):
        t = time.monotonic()
        async with session.get(f"{url}/api/v1/pods{query}") as r:
            body = await r.read()
        times.append(time.monotonic() - t)
        count = body.count(b'"kind":"Pod"') or len(json.loads(body)["items"])
    median = sorted(times)[1]
    return {"items": count, "complete": count >= want, "median_s": round(median, 3),
            "bytes": len(body), "slo_le_30s": median <= 30.0}  # fmt: skip


async def wait_cache(session: aiohttp.ClientSession, url: str, want: int, deadline: float) -> None:
    """Until a resourceVersion=0 list (the watch cache) holds every pod written."""
    while time.monotonic() < deadline:
        async with session.get(f"{url}/api/v1/pods?resourceVersion=0") as r:
            if len(json.loads(await r.read())["items"]) >= want:
                return
        await asyncio.sleep(0.5)


NAME = re.compile(rb'"name":"(w\d{6})"')


async def watch_fanout(
    session: aiohttp.ClientSession, etcd: EtcdClient, url: str, watchers: int, events: int,
    deadline: float,
) -> dict:  # fmt: skip
    """W watchers on configmaps while E configmaps are written into the store.

    The events enter through the store, as every write does, so the figure is the watch
    cache's fan-out: deliveries per second, and the lag from issuing a write to the store
    to a watcher reading its event.
    """
    sent: dict[bytes, float] = {}
    lags: list[float] = []
    received = 0
    opened = 0
    ready = asyncio.Event()

    async def watcher() -> None:
        nonlocal received, opened
        path = f"{url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=600"
        async with session.get(path, timeout=aiohttp.ClientTimeout(total=None)) as r:
            opened += 1
            if opened == watchers:
                ready.set()
            seen = 0
            async for chunk in r.content.iter_any():
                now = time.monotonic()
                # Names by regex over the raw bytes: the client must not be the bottleneck.
                for name in NAME.findall(chunk):
                    if name in sent:
                        lags.append(now - sent[name])
                    seen += 1
                if seen >= events or now > deadline:
                    break
            received += seen

    tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(0.5)
    start = time.monotonic()
    sem = asyncio.Semaphore(8)

    async def put(i: int) -> None:
        name = f"w{i:06d}"
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": name, "namespace": "default", "uid": str(uuid.uuid4()),
            "creationTimestamp": "2026-01-01T00:00:00Z"}, "data": {"i": str(i)}}  # fmt: skip
        async with sem:
            if time.monotonic() < deadline:
                sent[name.encode()] = time.monotonic()
                await etcd.put(f"/registry/configmaps/default/{name}".encode(),
                               json.dumps(body).encode())  # fmt: skip

    await asyncio.gather(*(put(i) for i in range(events)))
    written = time.monotonic() - start
    await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    took = time.monotonic() - start
    return {
        "watchers": watchers, "events": len(sent), "delivered": received,
        "complete": received >= watchers * events, "write_s": round(written, 1),
        "deliveries_per_s": round(received / took, 1),
        "lag_p50_ms": round(pct(lags, 0.5) * 1000, 1),
        "lag_p99_ms": round(pct(lags, 0.99) * 1000, 1),
    }  # fmt: skip


async def bench_store(kind: str, args: argparse.Namespace) -> None:
    data = tempfile.mkdtemp(prefix=f"bench-apiserver-{kind}-{os.getpid()}-")
    store, etcd_url = start_store(kind, os.path.join(data, "store"))
    server = None
    etcd = EtcdClient([etcd_url])
    try:
        server, url, token, ca = start_apiserver(etcd_url, os.path.join(data, "api"))
        await etcd.connect()
        ctx = ssl.create_default_context(cafile=ca)
        headers = {"Authorization": f"Bearer {token}"}
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        async with aiohttp.ClientSession(headers=headers, connector=conn) as session:
            end = time.monotonic() + args.phase_seconds
            created = await create_pods(session, url, min(args.creates, args.pods), end)
            emit(kind, "create", created)
            async with session.get(f"{url}/api/v1/namespaces/default/pods/p00000") as r:
                template = json.loads(await r.read())
            filled = await fill_store(etcd, template, created["n"], args.pods)
            await wait_cache(session, url, args.pods, time.monotonic() + args.phase_seconds)
            emit(kind, "fill", {"pods": args.pods, "written_directly": args.pods - created["n"],
                                "seconds": round(filled, 1)})  # fmt: skip
            emit(kind, "list_store", await list_pods(session, url, "", args.pods))
            emit(kind, "list_cache", await list_pods(session, url, "?resourceVersion=0", args.pods))
            fan = await watch_fanout(session, etcd, url, args.watchers, args.events,
                                     time.monotonic() + args.fanout_seconds)  # fmt: skip
            emit(kind, "watch_fanout", fan)
    finally:
        await etcd.close()
        if server is not None:
            stop(server)
        stop(store)
        shutil.rmtree(data, ignore_errors=True)


def emit(store: str, bench: str, figures: dict) -> None:
    print(json.dumps({"bench": f"apiserver.{bench}", "store": store, **figures}), flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=10000, help="pods the LISTs read")
    p.add_argument("--creates", type=int, default=2000, help="of those, created through REST")
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--events", type=int, default=10000)
    p.add_argument("--phase-seconds", type=float, default=25.0, help="deadline of each phase")
    p.add_argument("--fanout-seconds", type=float, default=60.0, help="deadline of the fan-out")
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
