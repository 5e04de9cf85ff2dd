"""minischeduler throughput on upstream's scheduler_perf workloads, in-process.

Mirrors test/integration/scheduler_perf (config/performance-config.yaml): nodes from
node-default.yaml (4 cpu, 32Gi, 110 pods), pods from pod-default.yaml (100m, 500Mi),
init pods scheduled first and not measured, then measured pods through the real
scheduling loop (queue, cache, snapshot, all default plugins, binding to an in-memory
API). One JSON line per workload with pods/s and the ratio to upstream's CI floor
for SchedulingBasic 5000Nodes_10000Pods (680 pods/s, Go on larger machines).
pods_per_cpu_second divides by this process's CPU time (one core; stable on a loaded
machine), pods_per_second by wall time. Measured pod counts are smaller than upstream's so the whole run stays under 3 min;
each line says how many pods were measured. Running `kube-scheduler` itself is not
possible here (no Go toolchain or binary), so the floor is the stated reference.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

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


def main() -> None:
    only = sys.argv[1:]
    for w in WORKLOADS:
        if only and not any(o in w[0] for o in only):
            continue
        print(json.dumps(run(w)), flush=True)


if __name__ == "__main__":
    main()
