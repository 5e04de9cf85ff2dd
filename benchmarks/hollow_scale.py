"""Hollow-node scale: N kubemark-style nodes in one process, P pods scheduled and Running.

The kubelet issue's scale check (and the toy cluster's): a real etcd 3.4 under
`python -m miniapiserver`, `python -m minischeduler`, and `python -m minikubelet --hollow
--hollow-nodes N` (one process, one client per node, pods reported Running a second after
they are seen, as kubemark's fake runtime does). P pods are created through the REST API,
32 in flight. Figures: the time until every node is Ready; from the first create, the time
until every pod is bound (scheduled) and until every pod is Running; the create latency the
load caused (upstream's API SLO: p99 <= 1 s for mutating calls); the API server's CPU
seconds and peak RSS (VmHWM), and the scheduler's and kubelet's. A run that misses its
budget still prints how far it got (`complete: false`). The peer is etcd underneath; there
is no Go kubemark here to compare with.

Long: minutes at the defaults on 2 cores. Run as:
  .venv/bin/python benchmarks/hollow_scale.py [--nodes 1000] [--pods 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scheduler_perf import ROOT, _cpu_seconds, _free_port, _stop


def emit(**fields) -> None:
    print(json.dumps({"benchmark": "hollow_scale", **fields}), flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _spawn(args: list[str], log: str, marker: str | None, timeout: float = 120) -> tuple:
    """Start a component with its output in a log file (never a pipe nobody drains)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    deadline = time.monotonic() + timeout
    while marker:
        for line in Path(log).read_text(errors="replace").splitlines():
            if marker in line:
                return proc, line
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"{args[:3]} did not print {marker!r}; see {log}")
        time.sleep(0.1)
    return proc, ""


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _usage(procs: dict[str, subprocess.Popen]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, p in procs.items():
        if p.poll() is None:
            out[f"{name}_cpu_s"] = round(_cpu_seconds(p.pid), 1)
            out[f"{name}_peak_rss_mb"] = round(_peak_rss_mb(p.pid))
    return out


async def _create_pods(session, url: str, n: int, latencies: list[float], end: float) -> None:
    names = iter(range(n))

    async def worker() -> None:
        for i in names:
            if time.monotonic() > end:
                return
            body = {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"hollow-{i}", "namespace": "default"},
                "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                         "resources": {"requests": {"cpu": "10m"}}}]},
            }  # fmt: skip
            t = time.monotonic()
            async with session.post(f"{url}/api/v1/namespaces/default/pods", json=body) as r:
                if r.status != 201:
                    raise RuntimeError(f"create failed: {r.status} {await r.text()}")
            latencies.append(time.monotonic() - t)

    await asyncio.gather(*(worker() for _ in range(32)))


class Progress:
    """What one watch on every pod has seen: bound and Running names, and when all were."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.bound: set[str] = set()
        self.running: set[str] = set()
        self.all_bound_at = 0.0
        self.all_running_at = 0.0

    def see(self, obj: dict) -> bool:
        name = obj["metadata"]["name"]
        if obj.get("spec", {}).get("nodeName"):
            self.bound.add(name)
            if len(self.bound) >= self.n and not self.all_bound_at:
                self.all_bound_at = time.monotonic()
        if obj.get("status", {}).get("phase") == "Running":
            self.running.add(name)
            if len(self.running) >= self.n:
                self.all_running_at = time.monotonic()
                return True
        return False


async def _watch_pods(session, url: str, rv: str, progress: Progress) -> None:
    q = f"{url}/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}"
    async with session.get(q, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as r:
        async for line in r.content:
            if progress.see(json.loads(line)["object"]):
                return


async def _ready_nodes(session, url: str) -> int:
    async with session.get(f"{url}/api/v1/nodes") as r:
        items = (await r.json())["items"]
    return sum(
        any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
        for n in items
    )


async def _report(progress: Progress, latencies: list[float], t1: float, procs) -> None:  # type: ignore[no-untyped-def]
    """A progress line a minute, so that a run cut short still says how far it got."""
    while True:
        await asyncio.sleep(60)
        emit(figure="progress", seconds=round(time.monotonic() - t1), created=len(latencies),
             bound=len(progress.bound), running=len(progress.running),
             create_p99_ms=round(1000 * _pct(latencies, 0.99)), **_usage(procs))  # fmt: skip


def _apiserver_cmd(curl: str, api_dir: str) -> list[str]:
    return [sys.executable, "-m", "miniapiserver", "--etcd-servers", curl, "--secure-port", "0",
            "--data-dir", api_dir, "--max-requests-inflight", "2000",
            "--max-mutating-requests-inflight", "2000"]  # fmt: skip


async def run(n_nodes: int, n_pods: int, data: str, budget: float) -> None:
    procs: dict[str, subprocess.Popen] = {}
    try:
        client, peer = _free_port(), _free_port()
        curl, purl = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        procs["etcd"] = _spawn(
            ["etcd", "--name", "s", "--data-dir", os.path.join(data, "etcd"),
             "--listen-client-urls", curl, "--advertise-client-urls", curl,
             "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
             "--initial-cluster", f"s={purl}", "--quota-backend-bytes", str(8 << 30)],
            os.path.join(data, "etcd.log"), None,
        )[0]  # fmt: skip
        api_dir = os.path.join(data, "api")
        api, line = _spawn(_apiserver_cmd(curl, api_dir), os.path.join(data, "api.log"),
                           "serving on")  # fmt: skip
        procs["apiserver"] = api
        url = line.split("serving on ")[1].split(";")[0].strip()
        kubeconfig = os.path.join(api_dir, "kubeconfig")
        token = Path(api_dir, "pki", "tokens.csv").read_text().split(",", 1)[0]
        ctx = ssl.create_default_context(cafile=str(Path(api_dir, "pki", "ca.crt")))
        headers = {"Authorization": f"Bearer {token}"}
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        async with aiohttp.ClientSession(headers=headers, connector=conn) as session:
            await _phases(session, url, kubeconfig, n_nodes, n_pods, data, budget, procs)
    finally:
        for p in reversed(procs.values()):
            _stop(p)


async def _phases(session, url, kubeconfig, n_nodes, n_pods, data, budget, procs) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    procs["kubelet"] = _spawn(
        [sys.executable, "-m", "minikubelet", "--kubeconfig", kubeconfig, "--hollow",
         "--hollow-nodes", str(n_nodes), "--hostname-override", "hollow",
         "--root-dir", os.path.join(data, "kubelet"), "--port", "0"],
        os.path.join(data, "kubelet.log"), None,
    )[0]  # fmt: skip
    while (ready := await _ready_nodes(session, url)) < n_nodes:
        if time.monotonic() - t0 > budget:
            emit(figure="nodes_ready", nodes=n_nodes, ready=ready, complete=False)
            raise RuntimeError("hollow nodes did not all become Ready in time")
        await asyncio.sleep(1)
    emit(figure="nodes_ready", nodes=n_nodes, seconds=round(time.monotonic() - t0, 1),
         complete=True, **_usage(procs))  # fmt: skip
    procs["scheduler"] = _spawn(
        [sys.executable, "-m", "minischeduler", "--kubeconfig", kubeconfig],
        os.path.join(data, "scheduler.log"), "minischeduler: scheduling",
    )[0]  # fmt: skip
    async with session.get(f"{url}/api/v1/namespaces/default/pods?limit=1") as r:
        rv = (await r.json())["metadata"]["resourceVersion"]
    api_cpu0 = _cpu_seconds(procs["apiserver"].pid)
    progress = Progress(n_pods)
    t1 = time.monotonic()
    watch = asyncio.ensure_future(_watch_pods(session, url, rv, progress))
    latencies: list[float] = []
    reporter = asyncio.ensure_future(_report(progress, latencies, t1, procs))
    await _create_pods(session, url, n_pods, latencies, t1 + budget)
    created_s = time.monotonic() - t1
    try:
        await asyncio.wait_for(watch, max(1.0, t1 + budget - time.monotonic()))
    except TimeoutError:
        pass
    reporter.cancel()
    elapsed = time.monotonic() - t1
    done = bool(progress.all_running_at)

    def since(t: float) -> float | None:
        return round(t - t1, 1) if t else None

    emit(figure="pods_running", nodes=n_nodes, pods=n_pods, complete=done,
         bound=len(progress.bound), running=len(progress.running),
         seconds_to_all_bound=since(progress.all_bound_at),
         seconds_to_all_running=since(progress.all_running_at),
         seconds_observed=round(elapsed, 1), create_phase_s=round(created_s, 1),
         pods_per_second=round(len(progress.running) / elapsed, 1),
         create_p50_ms=round(1000 * _pct(latencies, 0.5)),
         create_p99_ms=round(1000 * _pct(latencies, 0.99)), api_slo_p99_ms=1000,
         apiserver_cpu_s_pod_phase=round(_cpu_seconds(procs["apiserver"].pid) - api_cpu0, 1),
         **_usage(procs))  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--pods", type=int, default=10000)
    p.add_argument("--budget", type=float, default=1200.0, help="seconds per phase")
    p.add_argument("--keep-logs", metavar="DIR", help="copy the components' logs here")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="hollow-scale-") as data:
        try:
            asyncio.run(run(args.nodes, args.pods, data, args.budget))
        finally:
            if args.keep_logs:
                os.makedirs(args.keep_logs, exist_ok=True)
                for log in Path(data).glob("*.log"):
                    Path(args.keep_logs, log.name).write_bytes(log.read_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
