"""Hollow-node scale: N kubemark-style nodes in one process, P pods scheduled and Running.

The kubelet issue's scale check (and the toy cluster's): a real etcd 3.4 under
`python -m miniapiserver`, `python -m minischeduler`, and `python -m minikubelet --hollow
--hollow-nodes N` (one process, one client per node, pods reported Running a second after
they are seen, as kubemark's fake runtime does). P pods are created through the REST API,
32 in flight; the figures are the time until every node is Ready, until every pod is
Running, and the create latency the load caused (upstream's API SLO: p99 <= 1 s for
mutating calls). The peer is etcd underneath; there is no Go kubemark here to compare with.

Long: about ten minutes at the defaults on 2 cores. Run as:
  .venv/bin/python benchmarks/hollow_scale.py [--nodes 1000] [--pods 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scheduler_perf import _free_port, _start, _stop


def emit(**fields) -> None:
    print(json.dumps({"benchmark": "hollow_scale", **fields}), flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _create_pods(session, url: str, n: int, latencies: list[float]) -> None:
    names = iter(range(n))

    async def worker() -> None:
        for i in names:
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


async def _wait_running(session, url: str, n: int, rv: str, deadline: float) -> float:
    """Watch pods until n are Running; the time the last one was seen."""
    running: set[str] = set()
    q = f"{url}/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}"
    async with session.get(q, timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as r:
        async for line in r.content:
            obj = json.loads(line)["object"]
            if obj.get("status", {}).get("phase") == "Running":
                running.add(obj["metadata"]["name"])
                if len(running) >= n:
                    return time.monotonic()
            if time.monotonic() > deadline:
                break
    raise RuntimeError(f"only {len(running)}/{n} pods Running before the deadline")


async def _ready_nodes(session, url: str) -> int:
    async with session.get(f"{url}/api/v1/nodes") as r:
        items = (await r.json())["items"]
    return sum(
        any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
        for n in items
    )


async def run(n_nodes: int, n_pods: int, data: str, budget: float) -> None:
    procs = []
    try:
        client, peer = _free_port(), _free_port()
        curl, purl = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        procs.append(_start(
            ["etcd", "--name", "s", "--data-dir", os.path.join(data, "etcd"),
             "--listen-client-urls", curl, "--advertise-client-urls", curl,
             "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
             "--initial-cluster", f"s={purl}", "--quota-backend-bytes", str(8 << 30)],
            None,
        )[0])  # fmt: skip
        api_dir = os.path.join(data, "api")
        api, line = _start(
            [sys.executable, "-m", "miniapiserver", "--etcd-servers", curl, "--secure-port", "0",
             "--data-dir", api_dir, "--max-requests-inflight", "2000",
             "--max-mutating-requests-inflight", "2000"],
            "serving on",
        )  # fmt: skip
        procs.append(api)
        url = line.split("serving on ")[1].split(";")[0].strip()
        kubeconfig = os.path.join(api_dir, "kubeconfig")
        token = Path(api_dir, "pki", "tokens.csv").read_text().split(",", 1)[0]
        ctx = ssl.create_default_context(cafile=str(Path(api_dir, "pki", "ca.crt")))
        headers = {"Authorization": f"Bearer {token}"}
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        async with aiohttp.ClientSession(headers=headers, connector=conn) as session:
            t0 = time.monotonic()
            procs.append(_start(
                [sys.executable, "-m", "minikubelet", "--kubeconfig", kubeconfig, "--hollow",
                 "--hollow-nodes", str(n_nodes), "--hostname-override", "hollow",
                 "--root-dir", os.path.join(data, "kubelet"), "--port", "0"],
                None,
            )[0])  # fmt: skip
            while await _ready_nodes(session, url) < n_nodes:
                if time.monotonic() - t0 > budget:
                    raise RuntimeError("hollow nodes did not all become Ready in time")
                await asyncio.sleep(1)
            nodes_s = time.monotonic() - t0
            emit(figure="nodes_ready", nodes=n_nodes, seconds=round(nodes_s, 1))
            procs.append(_start(
                [sys.executable, "-m", "minischeduler", "--kubeconfig", kubeconfig],
                "minischeduler: scheduling",
            )[0])  # fmt: skip
            async with session.get(f"{url}/api/v1/namespaces/default/pods") as r:
                rv = (await r.json())["metadata"]["resourceVersion"]
            t1 = time.monotonic()
            watch = asyncio.ensure_future(_wait_running(session, url, n_pods, rv, t1 + budget))
            latencies: list[float] = []
            await _create_pods(session, url, n_pods, latencies)
            created_s = time.monotonic() - t1
            done = await watch
        emit(figure="pods_running", nodes=n_nodes, pods=n_pods,
             seconds_to_all_running=round(done - t1, 1), create_phase_s=round(created_s, 1),
             pods_per_second=round(n_pods / (done - t1), 1),
             create_p50_ms=round(1000 * _pct(latencies, 0.5)),
             create_p99_ms=round(1000 * _pct(latencies, 0.99)), api_slo_p99_ms=1000)  # fmt: skip
    finally:
        for p in reversed(procs):
            _stop(p)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--pods", type=int, default=10000)
    p.add_argument("--budget", type=float, default=1200.0, help="seconds per phase")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="hollow-scale-") as data:
        asyncio.run(run(args.nodes, args.pods, data, args.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
