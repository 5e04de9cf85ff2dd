"""The toy cluster's start-up figures, the way kind's and the pod-startup SLO measure them.

Per runtime (minicontainer, and runc as the real peer under the same kubelet):
  up_to_nodes_ready_s   `python -m minicluster up --nodes 2` until it returns (every Node Ready);
  pod_startup_p50_s / pod_startup_p99_s
                        30 busybox pods created at once, spread over the 2 nodes by the
                        scheduler; for each, the time from its create call until a watcher
                        first sees it Running with every container started (the upstream
                        SLI of "pod startup latency", SLO p99 <= 5 s, images pre-pulled).
One JSON line per figure, with the ratio to runc; the default run stays under 3 minutes.

Opt-in, long (`--hollow-nodes 1000`): `python -m minicluster up --nodes 1 --hollow-nodes
1000`, then `--hollow-pods` (10,000) pods that tolerate the hollow taint and avoid the
real node, 32 creates in flight. Figures (figure "hollow"): up to every node Ready; from
the first create, the time until every pod is bound and until every pod is Running; the
create latency p50/p99 (upstream's API SLO: p99 <= 1 s). A run that misses its budget
reports how far it got (`complete: false`).

A progress line a minute (created, bound, Running) and the peak RSS and CPU seconds of
the control-plane processes and the hollow kubelets; creates refused with 429 are retried
after a second, as client-go does.

Run from the repo root as root: .venv/bin/python benchmarks/cluster.py [--pods 30]
  or, for the hollow phase only:
  .venv/bin/python benchmarks/cluster.py --hollow-nodes 1000 [--processes] [--hollow-budget S]
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

from miniapi import errors  # noqa: E402
from miniapi.core import v1  # noqa: E402
from miniclient.kubeconfig import load_kubeconfig  # noqa: E402
from miniclient.rest import Client  # noqa: E402


def cli(data_dir: str, name: str, *args: str, timeout: float = 300) -> tuple[int, str]:
    argv = [sys.executable, "-m", "minicluster", *args, "--name", name, "--data-dir", data_dir]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=timeout)
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


HOLLOW_TOLERATION = {"key": "minicluster.x-k8s.io/hollow", "operator": "Equal",
                     "value": "true", "effect": "NoSchedule"}  # fmt: skip


def hollow_pod(name: str, real_nodes: list[str]) -> bytes:
    avoid = {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": real_nodes}
    return json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "hollow"}},
        "spec": {"tolerations": [HOLLOW_TOLERATION], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [avoid]}]}}},
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                            "resources": {"requests": {"cpu": "10m"}}}]},
    }).encode()  # fmt: skip


async def hollow_pods(kubeconfig: str, count: int, budget: float) -> dict:
    """Create count pods on the hollow nodes; watch until all are bound and Running."""
    async with Client(load_kubeconfig(kubeconfig)) as c:
        path = "/api/v1/namespaces/default/pods"
        nodes = (await c.request("GET", "/api/v1/nodes"))["items"]
        real = [n["metadata"]["name"] for n in nodes
                if not n["metadata"]["name"].startswith("hollow")]  # fmt: skip
        rv = (await c.request("GET", path, params={"limit": "1"}))["metadata"]["resourceVersion"]
        bound: set[str] = set()
        running: set[str] = set()
        marks: dict[str, float] = {}
        t0 = time.monotonic()

        async def watch() -> None:
            async for _, p in c.resource(v1.Pod).watch("default", resource_version=rv):
                if p.spec.node_name:
                    bound.add(p.metadata.name)
                if p.status.phase == "Running":
                    running.add(p.metadata.name)
                if len(bound) >= count:
                    marks.setdefault("bound", time.monotonic())
                if len(running) >= count:
                    marks["running"] = time.monotonic()
                    return

        watcher = asyncio.ensure_future(watch())
        latencies: list[float] = []

        async def report() -> None:  # a line a minute: a run cut short still says how far
            while True:
                await asyncio.sleep(60)
                print(json.dumps({"benchmark": "cluster", "figure": "hollow_progress",
                                  "seconds": round(time.monotonic() - t0), "created": len(latencies),
                                  "bound": len(bound), "running": len(running),
                                  "loadavg": os.getloadavg()}), flush=True)  # fmt: skip

        reporter = asyncio.ensure_future(report())
        names = iter(range(count))

        throttled: list[int] = []

        async def creator() -> None:
            for i in names:
                t = time.monotonic()
                while True:
                    try:
                        await c.request("POST", path, body=hollow_pod(f"hollow-{i}", real))
                        break
                    except errors.StatusError as err:
                        if err.code != 429:  # client-go retries a 429 after Retry-After (1 s)
                            raise
                        throttled.append(i)
                        await asyncio.sleep(1.0)
                latencies.append(time.monotonic() - t)

        await asyncio.gather(*(creator() for _ in range(32)))
        created_s = time.monotonic() - t0
        try:
            await asyncio.wait_for(watcher, max(1.0, t0 + budget - time.monotonic()))
        except TimeoutError:
            pass
        reporter.cancel()
        lat = sorted(latencies)

        def since(key: str) -> float | None:
            return round(marks[key] - t0, 1) if key in marks else None

        return {
            "pods": count, "complete": "running" in marks, "bound": len(bound),
            "running": len(running), "seconds_to_all_bound": since("bound"),
            "seconds_to_all_running": since("running"), "create_phase_s": round(created_s, 1),
            "observed_s": round(time.monotonic() - t0, 1),
            "create_p50_ms": round(1000 * percentile(lat, 0.5)),
            "create_p99_ms": round(1000 * percentile(lat, 0.99)),
            "creates_throttled_429": len(throttled),
        }  # fmt: skip


def usage(data_dir: str, name: str) -> dict[str, float]:
    """Peak RSS (VmHWM) and CPU seconds of the supervisor (with an embedded control plane,
    all of it), of each control-plane process (--processes) and of the hollow-nodes process,
    from the pids state.json records."""
    st = json.loads((Path(data_dir) / name / "state.json").read_text())
    out: dict[str, float] = {}
    procs = {"supervisor": st["supervisor_pid"], **st["pids"]}
    for label, pid in procs.items():
        if label.startswith(("kubelet-", "kube-proxy-")):
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        hwm = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:"))
        out[f"{label}_peak_rss_mb"] = round(hwm / 1024)
        out[f"{label}_cpu_s"] = round(
            (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        )
    return out


def measure_hollow(hollow: int, pods: int, budget: float, processes: bool) -> None:
    data_dir = tempfile.mkdtemp(prefix="mc-bench-hollow-")
    name = f"h{os.getpid() % 10000}"
    try:
        t0 = time.monotonic()
        extra = ["--processes"] if processes else []
        code, out = cli(data_dir, name, "up", "--nodes", "1", "--hollow-nodes", str(hollow),
                        *extra, timeout=budget)  # fmt: skip
        if code != 0:
            raise SystemExit(f"up --hollow-nodes {hollow} failed:\n{out}")
        up_s = time.monotonic() - t0
        print(json.dumps({"benchmark": "cluster", "figure": "hollow_up", "hollow_nodes": hollow,
                          "up_to_nodes_ready_s": round(up_s, 1), **usage(data_dir, name),
                          "loadavg": os.getloadavg()}), flush=True)  # fmt: skip
        figures = asyncio.run(hollow_pods(str(Path(data_dir) / "kubeconfig"), pods, budget))
        print(json.dumps({"benchmark": "cluster", "figure": "hollow", "hollow_nodes": hollow,
                          "up_to_nodes_ready_s": round(up_s, 1), **figures,
                          "api_slo_p99_ms": 1000, **usage(data_dir, name),
                          "loadavg": os.getloadavg()}), flush=True)  # fmt: skip
    finally:
        cli(data_dir, name, "down")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pods", type=int, default=30)
    p.add_argument("--runtimes", default="minicontainer,runc")
    p.add_argument("--hollow-nodes", type=int, default=0,
                   help="run only the opt-in hollow phase with this many hollow nodes")  # fmt: skip
    p.add_argument("--hollow-pods", type=int, default=10000)
    p.add_argument("--hollow-budget", type=float, default=1800.0, help="seconds per step")
    p.add_argument("--processes", action="store_true",
                   help="hollow phase: one process per control-plane component")  # fmt: skip
    args = p.parse_args()
    if args.hollow_nodes:
        measure_hollow(args.hollow_nodes, args.hollow_pods, args.hollow_budget, args.processes)
        return 0
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
