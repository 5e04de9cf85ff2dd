"""minischeduler throughput on upstream's scheduler_perf workloads, in-process and end to end.

Mirrors test/integration/scheduler_perf (config/performance-config.yaml): nodes from
node-default.yaml (4 cpu, 32Gi, 110 pods), pods from pod-default.yaml (100m, 500Mi),
init pods scheduled first and not measured, then measured pods through the real
scheduling loop (queue, cache, snapshot, all default plugins, binding to an in-memory
API). One JSON line per workload with pods/s and the ratio to upstream's CI floor
for SchedulingBasic 5000Nodes_10000Pods (680 pods/s, Go on larger machines).
pods_per_cpu_second divides by this process's CPU time (one core; stable on a loaded
machine), pods_per_second by wall time. Measured pod counts are smaller than upstream's
so the whole run stays under 3 min; each line says how many pods were measured.

The end-to-end lines (`SchedulingBasic/e2e/...`) run the real processes the way
scheduler_perf's integration setup does: a real etcd (miniraft when etcd is not on
PATH) under `python -m miniapiserver`, N Node objects created through the REST API
(no kubelets), then `python -m minischeduler --kubeconfig` and P pods created with 32
in flight; the figure is pods bound (seen on a watch) per second from the first
create, and per CPU-second of the scheduler process.
Running `kube-scheduler` itself is not possible here (no Go toolchain or binary), so
the floor is the stated reference.

Usage: .venv/bin/python benchmarks/scheduler_perf.py [--no-e2e | --e2e-only] [NAME ...]
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from miniapi.core.v1 import (
    Affinity,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    TopologySpreadConstraint,
)
from miniapi.meta.v1 import LabelSelector
from minischeduler.inprocess import InProcessCluster
from minischeduler.testing import make_node, make_pod

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_FLOOR = 680.0  # SchedulingBasic 5000Nodes_10000Pods threshold, pods/s
ZONE = "topology.kubernetes.io/zone"
NODE_CAP = {"cpu": "4", "memory": "32Gi", "pods": "110"}
POD_REQ = [{"cpu": "100m", "memory": "500Mi"}]


def nodes(n: int, zones: int = 0):
    for i in range(n):
        labels = {ZONE: f"zone{i % zones}"} if zones else {}
        yield make_node(f"node-{i}", NODE_CAP, labels=labels)


def basic(name: str, **kw):
    return make_pod(name, reqs=POD_REQ, **kw)


def anti_affinity(name: str):
    term = PodAffinityTerm(
        label_selector=LabelSelector(match_labels={"color": "green"}),
        topology_key="kubernetes.io/hostname",
    )
    aff = Affinity(
        pod_anti_affinity=PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=[term]
        )
    )
    return make_pod(name, reqs=POD_REQ, labels={"color": "green"}, affinity=aff)


def affinity(name: str):
    term = PodAffinityTerm(
        label_selector=LabelSelector(match_labels={"foo": ""}), topology_key=ZONE
    )
    aff = Affinity(
        pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=[term])
    )
    return make_pod(name, reqs=POD_REQ, labels={"foo": ""}, affinity=aff)


def spread(name: str):
    c = TopologySpreadConstraint(
        max_skew=5,
        topology_key=ZONE,
        when_unsatisfiable="DoNotSchedule",
        label_selector=LabelSelector(match_labels={"color": "blue"}),
    )
    return make_pod(name, reqs=POD_REQ, labels={"color": "blue"}, spread=[c])


def unschedulable(name: str):
    return make_pod(name, reqs=[{"cpu": "9"}])


def low_priority(name: str):
    return make_pod(name, reqs=[{"cpu": "900m", "memory": "500Mi"}], priority=1)


def high_priority(name: str):
    return make_pod(name, reqs=[{"cpu": "3", "memory": "500Mi"}], priority=10)


WORKLOADS = [
    # name, nodes, zones, init pod maker, init count, measured maker, measured count
    ("SchedulingBasic/500Nodes", 500, 0, basic, 500, basic, 500),
    ("SchedulingBasic/5000Nodes", 5000, 0, basic, 500, basic, 500),
    ("SchedulingPodAntiAffinity/500Nodes", 500, 0, anti_affinity, 100, anti_affinity, 200),
    ("SchedulingPodAffinity/500Nodes", 500, 10, affinity, 100, affinity, 200),
    ("TopologySpreading/500Nodes", 500, 10, basic, 500, spread, 300),
    ("Unschedulable/500Nodes", 500, 0, unschedulable, 100, basic, 300),
    ("Preemption/500Nodes", 500, 0, low_priority, 2000, high_priority, 100),
]


def run(workload) -> dict:
    name, n_nodes, zones, init_make, n_init, make, n_measure = workload
    c = InProcessCluster(seed=1)
    for node in nodes(n_nodes, zones):
        c.add_node(node)
    for i in range(n_init):
        c.add_pod(init_make(f"init-{i}"))
    c.schedule_all()
    for i in range(n_measure):
        c.add_pod(make(f"measured-{i}"))
    t0, cpu0 = time.perf_counter(), time.process_time()
    outcomes = c.schedule_all()
    # Preempting pods bind on their second attempt, once the victims are gone.
    retry = [o for o in outcomes if o.nominated_node]
    if retry:
        c.clock.step(11)
        c.scheduler.queue.flush_backoff_q_completed()
        outcomes += c.schedule_all()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    scheduled = sum(
        1 for k, p in c.pods.items() if k.startswith("default/measured-") and p.spec.node_name
    )
    return {
        "workload": name,
        "nodes": n_nodes,
        "measured_pods": n_measure,
        "scheduled": scheduled,
        "seconds": round(elapsed, 3),
        "pods_per_second": round(n_measure / elapsed, 1),
        # CPU time of this single-threaded process: "on one core" even when the
        # machine is shared and wall-clock figures swing with its load.
        "pods_per_cpu_second": round(n_measure / cpu, 1),
        "ratio_to_upstream_floor_680": round(n_measure / elapsed / UPSTREAM_FLOOR, 3),
        "cpu_ratio_to_upstream_floor_680": round(n_measure / cpu / UPSTREAM_FLOOR, 3),
    }


# ---- end to end: etcd + miniapiserver + minischeduler as processes ----


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str], marker: str | None, timeout: float = 90) -> tuple:
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE if marker else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    line, deadline = "", time.monotonic() + timeout
    while marker and marker not in line:
        line = proc.stdout.readline()
        if time.monotonic() > deadline or (not line and proc.poll() is not None):
            proc.kill()
            raise RuntimeError(f"{args[:3]} did not print {marker!r}: {line.strip()}")
    return proc, line


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a child process, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _create_all(session, url: str, bodies: list[dict], in_flight: int = 32) -> None:
    it = iter(bodies)

    async def worker() -> None:
        for body in it:
            async with session.post(url, json=body) as r:
                if r.status != 201:
                    raise RuntimeError(f"create failed: {r.status} {await r.text()}")

    await asyncio.gather(*(worker() for _ in range(in_flight)))


def _node_body(i: int) -> dict:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": f"node-{i}", "labels": {"kubernetes.io/hostname": f"node-{i}"}},
        "status": {"allocatable": NODE_CAP, "capacity": NODE_CAP},
    }  # fmt: skip


def _pod_body(i: int, req: dict) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"measured-{i}", "namespace": "default"},
        "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                 "resources": {"requests": req}}]},
    }  # fmt: skip


async def _count_bound(session, url: str, n: int, rv: str, deadline: float) -> float:
    """Watch pods until n distinct ones have spec.nodeName; the time the last was seen."""
    bound: set[str] = set()
    q = f"{url}/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}"
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with session.get(q, timeout=timeout) as r:
        async for line in r.content:
            obj = json.loads(line)["object"]
            if obj.get("spec", {}).get("nodeName"):
                bound.add(obj["metadata"]["name"])
                if len(bound) >= n:
                    return time.monotonic()
            if time.monotonic() > deadline:
                break
    raise RuntimeError(f"only {len(bound)}/{n} pods bound before the deadline")


async def run_e2e(store: str, data: str, n_nodes: int, n_pods: int, req: dict) -> dict:
    """One end-to-end run; every process is stopped and the data dir removed after."""
    procs: list[subprocess.Popen] = []
    try:
        client, peer = _free_port(), _free_port()
        curl, purl = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        program = ["etcd"] if store == "etcd" else [sys.executable, "-m", "miniraft", "serve"]
        etcd, _ = _start(
            [*program, "--name", "s", "--data-dir", os.path.join(data, "store"),
             "--listen-client-urls", curl, "--advertise-client-urls", curl,
             "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
             "--initial-cluster", f"s={purl}"],
            None,
        )  # fmt: skip
        procs.append(etcd)
        api_dir = os.path.join(data, "api")
        api, line = _start(
            [sys.executable, "-m", "miniapiserver", "--etcd-servers", curl, "--secure-port", "0",
             "--data-dir", api_dir, "--max-requests-inflight", "2000",
             "--max-mutating-requests-inflight", "2000"],
            "serving on",
        )  # fmt: skip
        procs.append(api)
        url = line.split("serving on ")[1].split(";")[0].strip()
        token = Path(api_dir, "pki", "tokens.csv").read_text().split(",", 1)[0]
        ctx = ssl.create_default_context(cafile=str(Path(api_dir, "pki", "ca.crt")))
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers, connector=conn) as session:
            t = time.monotonic()
            await _create_all(
                session, f"{url}/api/v1/nodes", [_node_body(i) for i in range(n_nodes)]
            )
            nodes_s = time.monotonic() - t
            sched, _ = _start(
                [sys.executable, "-m", "minischeduler", "--kubeconfig",
                 os.path.join(api_dir, "kubeconfig"), "--seed", "1"],
                "minischeduler: scheduling",
            )  # fmt: skip
            procs.append(sched)
            async with session.get(f"{url}/api/v1/namespaces/default/pods") as r:
                rv = (await r.json())["metadata"]["resourceVersion"]
            deadline = time.monotonic() + 60
            watch = asyncio.ensure_future(_count_bound(session, url, n_pods, rv, deadline))
            cpu0, t0 = _cpu_seconds(sched.pid), time.monotonic()
            pods = [_pod_body(i, req) for i in range(n_pods)]
            await _create_all(session, f"{url}/api/v1/namespaces/default/pods", pods)
            t_end = await watch
            cpu = _cpu_seconds(sched.pid) - cpu0
    finally:
        for p in reversed(procs):
            _stop(p)
    elapsed = t_end - t0
    return {
        "nodes": n_nodes,
        "measured_pods": n_pods,
        "node_create_seconds": round(nodes_s, 2),
        "seconds": round(elapsed, 3),
        "pods_per_second": round(n_pods / elapsed, 1),
        "scheduler_cpu_seconds": round(cpu, 2),
        "pods_per_scheduler_cpu_second": round(n_pods / cpu, 1) if cpu else None,
    }


def main() -> None:
    args = sys.argv[1:]
    e2e_only, no_e2e = "--e2e-only" in args, "--no-e2e" in args
    only = [a for a in args if not a.startswith("--")]
    start = time.monotonic()

    def over_budget(name: str) -> bool:
        # Keep the whole run under 3 minutes on a loaded machine: say what was left out.
        if time.monotonic() - start < BUDGET_SECONDS:
            return False
        print(json.dumps({"workload": name, "skipped": "time budget"}), flush=True)
        return True

    if not e2e_only:
        for w in WORKLOADS:
            if (only and not any(o in w[0] for o in only)) or over_budget(w[0]):
                continue
            print(json.dumps(run(w)), flush=True)
    if no_e2e:
        return
    store = "etcd" if shutil.which("etcd") else "miniraft"
    for n_nodes, n_pods in E2E_WORKLOADS:
        name = f"SchedulingBasic/e2e/{n_nodes}Nodes_{n_pods}Pods"
        if (only and not any(o in name for o in only)) or over_budget(name):
            continue
        data = os.path.join("/tmp", f"scheduler-perf-e2e-{os.getpid()}")
        try:
            figures = asyncio.run(run_e2e(store, data, n_nodes, n_pods, POD_REQ[0]))
        finally:
            shutil.rmtree(data, ignore_errors=True)
        rate = figures["pods_per_second"]
        figures["ratio_to_upstream_floor_680"] = round(rate / UPSTREAM_FLOOR, 3)
        print(json.dumps({"workload": name, "store": store, **figures}), flush=True)


# (nodes, pods) created as API objects for the end-to-end figure.
E2E_WORKLOADS = [(500, 500), (5000, 500)]
BUDGET_SECONDS = 110.0  # no new workload starts after this; each one takes < 60 s


if __name__ == "__main__":
    main()
