"""The toy cluster's start-up figures, the way kind's and the pod-startup SLO measure them.

Per runtime (minicontainer, and runc as the real peer under the same kubelet):
  up_to_nodes_ready_s   `python -m minicluster up --nodes 2` until it returns (every Node Ready);
  pod_startup_p50_s / pod_startup_p99_s
                        30 busybox pods created at once, spread over the 2 nodes by the
                        scheduler; for each, the time from its create call until a watcher
                        first sees it Running with every container started (the upstream
                        SLI of "pod startup latency", SLO p99 <= 5 s, images pre-pulled).
One JSON line per figure, with the ratio to runc. Omitted (bounded to < 3 minutes): the
10,000 pods over 1,000 hollow nodes figure.

Run from the repo root as root: .venv/bin/python benchmarks/cluster.py [--pods 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from miniclient.kubeconfig import load_kubeconfig  # noqa: E402
from miniclient.rest import Client  # noqa: E402


def cli(data_dir: str, name: str, *args: str) -> tuple[int, str]:
    argv = [sys.executable, "-m", "minicluster", *args, "--name", name, "--data-dir", data_dir]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=300)
    return out.returncode, out.stdout + out.stderr


def pod(name: str) -> bytes:
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [
            {"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
    }).encode()  # fmt: skip


def started(p: dict) -> bool:
    st = p.get("status", {})
    cs = st.get("containerStatuses") or []
    return st.get("phase") == "Running" and bool(cs) and all("running" in c["state"] for c in cs)


async def pod_startup(kubeconfig: str, count: int, timeout: float = 90) -> list[float]:
    async with Client(load_kubeconfig(kubeconfig)) as c:
        path = "/api/v1/namespaces/default/pods"
        created: dict[str, float] = {}

        async def create(i: int) -> None:
            created[f"bench-{i}"] = time.monotonic()
            await c.request("POST", path, body=pod(f"bench-{i}"))

        await asyncio.gather(*(create(i) for i in range(count)))
        seen: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while len(seen) < count and time.monotonic() < deadline:
            items = (await c.request("GET", path, params={"labelSelector": "app=bench"}))["items"]
            now = time.monotonic()
            for p in items:
                name = p["metadata"]["name"]
                if name not in seen and started(p):
                    seen[name] = now - created[name]
            await asyncio.sleep(0.1)
        if len(seen) < count:
            raise SystemExit(f"only {len(seen)} of {count} pods Running after {timeout:.0f}s")
        return sorted(seen.values())


def percentile(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, max(0, round(q * len(xs)) - 1))]


def measure(runtime: str, pods: int) -> dict[str, float]:
    data_dir = tempfile.mkdtemp(prefix="mc-bench-")
    name = f"b{os.getpid() % 10000}{runtime[0]}"
    try:
        t0 = time.monotonic()
        code, out = cli(data_dir, name, "up", "--nodes", "2", "--runtime", runtime)
        if code != 0:
            raise SystemExit(f"up failed:\n{out}")
        up_s = time.monotonic() - t0
        lat = asyncio.run(pod_startup(str(Path(data_dir) / "kubeconfig"), pods))
        return {
            "up_to_nodes_ready_s": up_s,
            "pod_startup_p50_s": percentile(lat, 0.50),
            "pod_startup_p99_s": percentile(lat, 0.99),
        }
    finally:
        cli(data_dir, name, "down")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pods", type=int, default=30)
    p.add_argument("--runtimes", default="minicontainer,runc")
    args = p.parse_args()
    runtimes = args.runtimes.split(",")
    results = {r: measure(r, args.pods) for r in runtimes}
    for figure in ("up_to_nodes_ready_s", "pod_startup_p50_s", "pod_startup_p99_s"):
        for r in runtimes:
            line = {"benchmark": "cluster", "figure": figure, "runtime": r, "pods": args.pods,
                    "value": round(results[r][figure], 3)}  # fmt: skip
            if "runc" in results and r != "runc":
                line["ratio_to_runc"] = round(results[r][figure] / results["runc"][figure], 2)
            if figure == "pod_startup_p99_s":
                line["slo_p99_le_5s"] = results[r][figure] <= 5.0
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
