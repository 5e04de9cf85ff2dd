"""Benchmark miniapiserver with the store on a real etcd 3.4 and on miniraft, in one run.

Figures (one JSON line each, per store), at the miniapiserver issue's sizes by default:
- create: 2,000 pods created through the REST API by writer processes (2 x 16 in flight),
  per second, p50 and p99 latency (upstream SLO: p99 <= 1 s for single-object mutating
  calls), and the API server's and the store's CPU per create;
- fill: the pods brought to 10,000 by writing copies straight into the store (the LIST
  figures need them; the create path is measured above);
- list_store / list_cache: LIST of all 10,000 pods, read from etcd (resourceVersion unset)
  and from the watch cache (resourceVersion=0), median of 3, with the server's CPU per LIST
  (upstream SLO: <= 30 s for a cluster-scope LIST);
- watch_fanout: 100 watchers on configmaps while 10,000 configmaps are written into the
  store: deliveries per second, the lag from a write's acknowledgement to a watcher
  reading its event (p50/p99), and the API server's CPU per delivered event.

Design (so the figures measure the server, not the benchmark): every client runs in a
process of its own, apart from the API server and from each other. Creates come from
`--role creator` processes (aiohttp); the fan-out's writes go straight into the store from
`--role putter` processes (so every event enters through the store's watch, as every write
does, and the server spends nothing on the write path); the 100 watchers are raw
HTTP/1.1 streaming connections in one `--role watchers` process that only de-chunks,
splits events and records receive times. Each configmap carries its send time; each
putter records its acknowledgement time per object; the lag is receive time - ack time,
joined afterwards (CLOCK_MONOTONIC, one clock for every process on this machine).
CPU is read from /proc/<pid>/stat (utime + stime), so figures stay readable on a shared,
loaded machine; the load average is printed with every line.

Usage: .venv/bin/python benchmarks/apiserver.py [--pods 10000] [--creates 2000]
[--watchers 100] [--events 10000] [--stores etcd,miniraft] [--watch-encoding json|protobuf].
Bounded: every phase has a deadline (--phase-seconds, --fanout-seconds); a phase that
misses it reports how far it got (`complete: false`). About 2.5 minutes for both stores.
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
from array import array
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from miniapiserver.etcd.client import Client as EtcdClient  # noqa: E402
from miniapiserver.etcd.client import op_put  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROTOBUF_WATCH = "application/vnd.kubernetes.protobuf;stream=watch"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def load() -> float:
    return os.getloadavg()[0]


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


def start_apiserver(
    etcd_url: str, data: str, profile: str = ""
) -> tuple[subprocess.Popen, str, str, str]:
    """The server; with profile, under cProfile (stats written there when it stops)."""
    prof = ["-m", "cProfile", "-o", profile] if profile else []
    args = [
        sys.executable, *prof, "-m", "miniapiserver", "--etcd-servers", etcd_url, "--secure-port", "0",
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
    # Keep draining its output so a chatty log never blocks the server on a full pipe.
    subprocess.Popen(["cat"], stdin=proc.stdout, stdout=subprocess.DEVNULL)
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


def role(name: str, spec: dict, **popen) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    """This script again, as one of the client processes."""
    argv = [sys.executable, __file__, "--role", name, "--spec", json.dumps(spec)]
    return subprocess.Popen(argv, cwd=ROOT, text=True, **popen)


# --- client roles (each in its own process) ----------------------------------------------


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]},
    }  # fmt: skip


async def creator(spec: dict) -> None:
    """Create pods spec["names"] through REST, inflight at a time; print the latencies."""
    ctx = ssl.create_default_context(cafile=spec["ca"])
    headers = {"Authorization": f"Bearer {spec['token']}"}
    names, latencies = list(spec["names"]), []
    deadline = time.monotonic() + spec["seconds"]
    conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
    async with aiohttp.ClientSession(headers=headers, connector=conn) as session:

        async def worker() -> None:
            while names and time.monotonic() < deadline:
                body = pod(names.pop())
                t = time.monotonic()
                url = f"{spec['url']}/api/v1/namespaces/default/pods"
                async with session.post(url, json=body) as r:
                    await r.read()
                    if r.status != 201:
                        raise RuntimeError(f"create failed: {r.status}")
                latencies.append(time.monotonic() - t)

        await asyncio.gather(*(worker() for _ in range(spec["inflight"])))
    print(json.dumps(latencies))


async def putter(spec: dict) -> None:
    """Write configmaps w<k> (k in spec["keys"]) into the store; save each ack time."""
    etcd = EtcdClient([spec["etcd"]])
    await etcd.connect()
    acks = array("d", bytes(8 * spec["events"]))
    keys = list(spec["keys"])
    deadline = time.monotonic() + spec["seconds"]

    async def worker() -> None:
        while keys and time.monotonic() < deadline:
            k = keys.pop()
            name = f"w{k:06d}"
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": name, "namespace": "default", "uid": str(uuid.uuid4()),
                "creationTimestamp": "2026-01-01T00:00:00Z"},
                "data": {"sent": repr(time.monotonic())}}  # fmt: skip
            await etcd.put(
                f"/registry/configmaps/default/{name}".encode(), json.dumps(body).encode()
            )
            acks[k] = time.monotonic()

    await asyncio.gather(*(worker() for _ in range(spec["inflight"])))
    await etcd.close()
    Path(spec["out"]).write_bytes(acks.tobytes())


class Dechunker:
    """HTTP/1.1 chunked transfer decoding, fed whatever the socket returns."""

    def __init__(self) -> None:
        self.buf = b""
        self.left = 0  # bytes of the current chunk still to come; -1: its CRLF
        self.done = False

    def feed(self, data: bytes) -> bytes:
        buf, pos, out = self.buf + data, 0, bytearray()
        while pos < len(buf) and not self.done:
            if self.left > 0:
                take = min(self.left, len(buf) - pos)
                out += buf[pos : pos + take]
                pos, self.left = pos + take, self.left - take
                self.left = -1 if self.left == 0 else self.left
            elif self.left == -1:
                if len(buf) - pos < 2:
                    break
                pos, self.left = pos + 2, 0
            else:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                self.left = int(buf[pos:end].split(b";")[0], 16)
                pos, self.done = end + 2, self.left == 0
        self.buf = buf[pos:]
        return bytes(out)


NAME_JSON = re.compile(rb'"name":"w(\d{6})"')
NAME_PROTO = re.compile(rb"\n\x07w(\d{6})")  # ObjectMeta.name (field 1), 7 bytes


def cut_events(body: bytes, protobuf: bool) -> tuple[bytes, bytes]:
    """The whole events at the front of a de-chunked stream, and the incomplete rest."""
    if not protobuf:
        head, sep, rest = body.rpartition(b"\n")
        return (head, rest) if sep else (b"", body)
    pos = 0
    while len(body) - pos >= 4:
        size = int.from_bytes(body[pos : pos + 4], "big")
        if len(body) - pos - 4 < size:
            break
        pos += 4 + size
    return body[:pos], body[pos:]


async def watchers(spec: dict) -> None:
    """spec["n"] raw streaming watches; receive times go to spec["out"] (n x events)."""
    host, port = spec["url"].removeprefix("https://").rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=spec["ca"])
    n, events, protobuf = spec["n"], spec["events"], spec["protobuf"]
    name = NAME_PROTO if protobuf else NAME_JSON
    recv = array("d", bytes(8 * n * events))
    seen = [0] * n
    opened = 0
    deadline = time.monotonic() + spec["seconds"]
    accept = PROTOBUF_WATCH if protobuf else "application/json"
    request = (
        f"GET /api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=900 HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nAuthorization: Bearer {spec['token']}\r\n"
        f"Accept: {accept}\r\n\r\n"
    ).encode()

    async def one(i: int) -> None:
        nonlocal opened
        reader, writer = await asyncio.open_connection(host, int(port), ssl=ctx)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"watch refused: {head!r}")
        opened += 1
        if opened == n:
            print("ready", flush=True)
        chunks, rest, base = Dechunker(), b"", i * events
        while seen[i] < events and not chunks.done:
            left = deadline - time.monotonic()
            try:
                data = await asyncio.wait_for(reader.read(1 << 18), max(left, 0.01))
            except TimeoutError:
                break
            if not data:
                break
            now = time.monotonic()
            body, rest = cut_events(rest + chunks.feed(data), protobuf)
            keys = name.findall(body)  # one name per event: the object's metadata.name
            for k in map(int, keys):
                recv[base + k] = now
            seen[i] += len(keys)
        writer.close()

    await asyncio.gather(*(one(i) for i in range(n)))
    Path(spec["out"]).write_bytes(recv.tobytes())
    print(json.dumps({"cpu_s": time.process_time()}), flush=True)


# --- phases (in the orchestrating process) -----------------------------------------------


def create_pods(url: str, token: str, ca: str, n: int, seconds: float, pids: dict) -> dict:
    procs, per = 2, 16
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    start = time.monotonic()
    writers = [
        role(
            "creator",
            {
                "url": url,
                "token": token,
                "ca": ca,
                "inflight": per,
                "names": [f"p{i:05d}" for i in range(n - 1 - j, -1, -procs)],
                "seconds": seconds,
            },
            stdout=subprocess.PIPE,
        )  # fmt: skip
        for j in range(procs)
    ]
    latencies: list[float] = []
    for w in writers:
        out, _ = w.communicate()
        latencies += json.loads(out)
    took = time.monotonic() - start
    cpu = {k: cpu_seconds(p) - before[k] for k, p in pids.items()}
    p99 = pct(latencies, 0.99)
    done = max(len(latencies), 1)
    return {
        "n": len(latencies), "writers": f"{procs} processes x {per} in flight",
        "per_s": round(len(latencies) / took, 1),
        "p50_ms": round(pct(latencies, 0.5) * 1000, 1), "p99_ms": round(p99 * 1000, 1),
        "slo_p99_le_1s": p99 <= 1.0,
        "apiserver_cpu_ms_per_create": round(cpu["apiserver"] * 1000 / done, 2),
        "store_cpu_ms_per_create": round(cpu["store"] * 1000 / done, 2),
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


async def list_pods(
    session: aiohttp.ClientSession, url: str, query: str, want: int, pid: int
) -> dict:
    times, count = [], 0
    cpu = cpu_seconds(pid)
    for _ in range(3):
        t = time.monotonic()
        async with session.get(f"{url}/api/v1/pods{query}") as r:
            body = await r.read()
        times.append(time.monotonic() - t)
        count = body.count(b'"kind":"Pod"') or len(json.loads(body)["items"])
    median = sorted(times)[1]
    return {"items": count, "complete": count >= want, "median_s": round(median, 3),
            "apiserver_cpu_s_per_list": round((cpu_seconds(pid) - cpu) / 3, 3),
            "bytes": len(body), "slo_le_30s": median <= 30.0}  # fmt: skip


async def wait_cache(session: aiohttp.ClientSession, url: str, want: int, deadline: float) -> None:
    """Until a resourceVersion=0 list (the watch cache) holds every pod written."""
    while time.monotonic() < deadline:
        async with session.get(f"{url}/api/v1/pods?resourceVersion=0") as r:
            if len(json.loads(await r.read())["items"]) >= want:
                return
        await asyncio.sleep(0.5)


def watch_fanout(
    url: str, token: str, ca: str, etcd_url: str, args: argparse.Namespace, pids: dict, tmp: str
) -> dict:  # fmt: skip
    """W raw watchers on configmaps while E configmaps are written into the store."""
    n, events, seconds = args.watchers, args.events, args.fanout_seconds
    recv_file, protobuf = os.path.join(tmp, "recv"), args.watch_encoding == "protobuf"
    spec = {"url": url, "token": token, "ca": ca, "n": n, "events": events,
            "seconds": seconds, "protobuf": protobuf, "out": recv_file}  # fmt: skip
    watch = role("watchers", spec, stdout=subprocess.PIPE)
    if watch.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
        raise RuntimeError("the watchers did not start")
    time.sleep(0.5)
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    start = time.monotonic()
    procs = 2
    outs = [os.path.join(tmp, f"acks{j}") for j in range(procs)]
    putters = [
        role(
            "putter",
            {
                "etcd": etcd_url,
                "events": events,
                "inflight": 8,
                "out": outs[j],
                "keys": list(range(j, events, procs)),
                "seconds": seconds,
            },
        )  # fmt: skip
        for j in range(procs)
    ]
    for p in putters:
        p.wait()
    written = time.monotonic() - start
    watchers_cpu = json.loads(watch.communicate()[0])["cpu_s"]
    cpu = {k: cpu_seconds(p) - before[k] for k, p in pids.items()}
    acks = array("d", bytes(8 * events))
    for out in outs:
        for k, t in enumerate(array("d", Path(out).read_bytes())):
            if t:
                acks[k] = t
    recv = array("d", Path(recv_file).read_bytes())
    lags = [r - acks[i % events] for i, r in enumerate(recv) if r and acks[i % events]]
    delivered = sum(1 for r in recv if r)
    took = max(max(recv), start) - start
    wrote = sum(1 for a in acks if a)
    return {
        "watchers": n, "events": wrote, "encoding": args.watch_encoding,
        "delivered": delivered, "complete": delivered >= n * events,
        "write_s": round(written, 1), "deliver_s": round(took, 1),
        "deliveries_per_s": round(delivered / max(took, 1e-9), 1),
        "lag_p50_ms": round(pct(lags, 0.5) * 1000, 1),
        "lag_p99_ms": round(pct(lags, 0.99) * 1000, 1),
        "apiserver_cpu_s": round(cpu["apiserver"], 2),
        "apiserver_cpu_us_per_delivery": round(cpu["apiserver"] * 1e6 / max(delivered, 1), 1),
        "store_cpu_s": round(cpu["store"], 2), "watchers_process_cpu_s": round(watchers_cpu, 2),
    }  # fmt: skip


async def bench_store(kind: str, args: argparse.Namespace) -> None:
    data = tempfile.mkdtemp(prefix=f"bench-apiserver-{kind}-{os.getpid()}-")
    store, etcd_url = start_store(kind, os.path.join(data, "store"))
    server = None
    etcd = EtcdClient([etcd_url])
    try:
        server, url, token, ca = start_apiserver(
            etcd_url, os.path.join(data, "api"), args.profile and f"{args.profile}.{kind}"
        )
        pids = {"apiserver": server.pid, "store": store.pid}
        await etcd.connect()
        created = create_pods(url, token, ca, min(args.creates, args.pods), args.phase_seconds,
                              pids)  # fmt: skip
        emit(kind, "create", created)
        ctx = ssl.create_default_context(cafile=ca)
        headers = {"Authorization": f"Bearer {token}"}
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        async with aiohttp.ClientSession(headers=headers, connector=conn) as session:
            async with session.get(f"{url}/api/v1/namespaces/default/pods/p00000") as r:
                template = json.loads(await r.read())
            first = created["n"] if created["n"] == min(args.creates, args.pods) else 0
            filled = await fill_store(etcd, template, first, args.pods)
            await wait_cache(session, url, args.pods, time.monotonic() + args.phase_seconds)
            emit(kind, "fill", {"pods": args.pods, "written_directly": args.pods - first,
                                "seconds": round(filled, 1)})  # fmt: skip
            for name, query in (("list_store", ""), ("list_cache", "?resourceVersion=0")):
                emit(kind, name, await list_pods(session, url, query, args.pods, server.pid))
        fan = await asyncio.to_thread(watch_fanout, url, token, ca, etcd_url, args, pids, data)
        emit(kind, "watch_fanout", fan)
    finally:
        await etcd.close()
        if server is not None:
            stop(server)
        stop(store)
        shutil.rmtree(data, ignore_errors=True)


def emit(store: str, bench: str, figures: dict) -> None:
    line = {"bench": f"apiserver.{bench}", "store": store, **figures, "load1": round(load(), 1)}
    print(json.dumps(line), flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=10000, help="pods the LISTs read")
    p.add_argument("--creates", type=int, default=2000, help="of those, created through REST")
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--events", type=int, default=10000)
    p.add_argument("--watch-encoding", choices=("json", "protobuf"), default="json")
    p.add_argument("--phase-seconds", type=float, default=15.0, help="deadline of each phase")
    p.add_argument("--fanout-seconds", type=float, default=40.0, help="deadline of the fan-out")
    p.add_argument("--stores", default="etcd,miniraft")
    p.add_argument(
        "--profile", default="", help="run the server under cProfile, stats to PATH.<store>"
    )
    p.add_argument("--role", choices=("creator", "putter", "watchers"), help=argparse.SUPPRESS)
    p.add_argument("--spec", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role:
        roles = {"creator": creator, "putter": putter, "watchers": watchers}
        asyncio.run(roles[args.role](json.loads(args.spec)))
        return 0
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
