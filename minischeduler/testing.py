"""Builders for pods and nodes in tests and benchmarks.

Mirrors pkg/scheduler/testing/wrappers.go (st.MakePod(), st.MakeNode()) in spirit:
short constructors so that test tables read like upstream's. Capacity values are
resource.Quantity strings, exactly as upstream's tables write them.
"""

from __future__ import annotations

from miniapi.core.v1 import (
    Affinity,
    Container,
    ContainerImage,
    ContainerPort,
    Node,
    NodeSpec,
    NodeStatus,
    Pod,
    PodSpec,
    PodStatus,
    ResourceRequirements,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)
from miniapi.meta.v1 import ObjectMeta
from miniapi.resource import parse_quantity


def _rl(m: dict[str, str] | None) -> dict:
    return {k: parse_quantity(v) for k, v in (m or {}).items()}


def make_node(
    name: str,
    capacity: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    taints: list[Taint] | None = None,
    images: list[tuple[list[str], int]] | None = None,
    unschedulable: bool = False,
) -> Node:
    """A node; `pods` defaults to 110 like the kubelet's max-pods."""
    cap = {"pods": "110", **(capacity or {})}
    return Node(
        metadata=ObjectMeta(name=name, labels={"kubernetes.io/hostname": name, **(labels or {})}),
        spec=NodeSpec(taints=taints or [], unschedulable=unschedulable),
        status=NodeStatus(
            capacity=_rl(cap),
            allocatable=_rl(cap),
            images=[ContainerImage(names=n, size_bytes=s) for n, s in images or []],
        ),
    )


def make_pod(
    name: str,
    namespace: str = "default",
    reqs: list[dict[str, str]] | None = None,
    node: str = "",
    labels: dict[str, str] | None = None,
    priority: int | None = None,
    tolerations: list[Toleration] | None = None,
    affinity: Affinity | None = None,
    spread: list[TopologySpreadConstraint] | None = None,
    host_ports: list[int] | None = None,
    images: list[str] | None = None,
    node_selector: dict[str, str] | None = None,
    nominated: str = "",
    preemption_policy: str | None = None,
) -> Pod:
    """One container per entry of `reqs` (like st.MakePod().Req(...).Req(...))."""
    containers = [
        Container(
            name=f"c{i}",
            image=(images or ["pause"] * len(reqs or [{}]))[i] if images else "pause",
            resources=ResourceRequirements(requests=_rl(r)),
            ports=[ContainerPort(container_port=p, host_port=p) for p in host_ports or []]
            if i == 0
            else [],
        )
        for i, r in enumerate(reqs if reqs is not None else [{}])
    ]
    if images and len(images) > len(containers):
        containers += [
            Container(name=f"c{i}", image=img)
            for i, img in enumerate(images)
            if i >= len(containers)
        ]
    return Pod(
        metadata=ObjectMeta(
            name=name, namespace=namespace, uid=f"{namespace}-{name}", labels=labels or {}
        ),
        spec=PodSpec(
            containers=containers,
            node_name=node,
            priority=priority,
            tolerations=tolerations or [],
            affinity=affinity,
            topology_spread_constraints=spread or [],
            node_selector=node_selector or {},
            preemption_policy=preemption_policy,
        ),
        status=PodStatus(nominated_node_name=nominated),
    )
