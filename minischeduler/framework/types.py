"""NodeInfo, PodInfo and Resource: the per-node aggregate the plugins read.

Mirrors pkg/scheduler/framework/types.go (NodeInfo, PodInfo, AffinityTerm,
WeightedAffinityTerm, Resource, HostPortInfo, ImageStateSummary, nextGeneration) and
the request arithmetic of k8s.io/component-helpers/resource (PodRequests: containers
summed, each init container as a floor, overhead added). Requests are Go int64s:
milli-CPU and bytes. Omitted: sidecar (restartable init) containers' special
accounting, pod-level resources, in-place resize, PVC reference counts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from miniapi import labels as klabels
from miniapi.core.v1 import Node, Pod, PodAffinityTerm

CPU, MEMORY, EPHEMERAL_STORAGE, PODS = "cpu", "memory", "ephemeral-storage", "pods"
# schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: what a container without
# requests is counted as when scoring, so empty pods still spread out.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
DEFAULT_BIND_ALL_HOST_IP = "0.0.0.0"

_generation = itertools.count(1)


def next_generation() -> int:
    """nextGeneration: a process-wide counter stamped on every NodeInfo change."""
    return next(_generation)


@dataclass(slots=True)
class Resource:
    """Resource: compute quantities in Go int64 units."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    allowed_pod_number: int = 0
    scalar_resources: dict[str, int] = field(default_factory=dict)

    def add(self, other: Resource) -> None:
        self.milli_cpu += other.milli_cpu
        self.memory += other.memory
        self.ephemeral_storage += other.ephemeral_storage
        self.allowed_pod_number += other.allowed_pod_number
        for k, v in other.scalar_resources.items():
            self.scalar_resources[k] = self.scalar_resources.get(k, 0) + v

    def sub(self, other: Resource) -> None:
        self.milli_cpu -= other.milli_cpu
        self.memory -= other.memory
        self.ephemeral_storage -= other.ephemeral_storage
        self.allowed_pod_number -= other.allowed_pod_number
        for k, v in other.scalar_resources.items():
            self.scalar_resources[k] = self.scalar_resources.get(k, 0) - v

    def set_max(self, other: Resource) -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral_storage = max(self.ephemeral_storage, other.ephemeral_storage)
        for k, v in other.scalar_resources.items():
            self.scalar_resources[k] = max(self.scalar_resources.get(k, 0), v)

    def get(self, name: str) -> int:
        if name == CPU:
            return self.milli_cpu
        if name == MEMORY:
            return self.memory
        if name == EPHEMERAL_STORAGE:
            return self.ephemeral_storage
        if name == PODS:
            return self.allowed_pod_number
        return self.scalar_resources.get(name, 0)

    def clone(self) -> Resource:
        return Resource(
            self.milli_cpu,
            self.memory,
            self.ephemeral_storage,
            self.allowed_pod_number,
            dict(self.scalar_resources),
        )


def resource_from_list(rl: dict) -> Resource:
    """NewResource(ResourceList): cpu in milli-units, everything else in units."""
    r = Resource()
    for name, q in rl.items():
        if name == CPU:
            r.milli_cpu += q.milli_value()
        elif name == MEMORY:
            r.memory += q.value()
        elif name == EPHEMERAL_STORAGE:
            r.ephemeral_storage += q.value()
        elif name == PODS:
            r.allowed_pod_number += q.value()
        else:
            r.scalar_resources[name] = r.scalar_resources.get(name, 0) + q.value()
    return r


def _container_request(c, non_zero: bool) -> Resource:
    r = resource_from_list(c.resources.requests)
    if non_zero:
        if CPU not in c.resources.requests:
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST
        if MEMORY not in c.resources.requests:
            r.memory = DEFAULT_MEMORY_REQUEST
    return r


def compute_pod_resource_request(pod: Pod, non_zero: bool = False) -> Resource:
    """PodRequests: max(Σ containers, each init container) + overhead.

    With non_zero, a container missing a cpu/memory request counts as 100m/200Mi
    (NonMissingContainerRequests), as the scoring plugins see it.
    """
    total = Resource()
    for c in pod.spec.containers:
        total.add(_container_request(c, non_zero))
    for c in pod.spec.init_containers:
        total.set_max(_container_request(c, non_zero))
    if pod.spec.overhead:
        total.add(resource_from_list(pod.spec.overhead))
    return total


@dataclass(slots=True)
class AffinityTerm:
    """AffinityTerm: a PodAffinityTerm with its selectors parsed once."""

    namespaces: frozenset[str]
    selector: klabels.Selector
    topology_key: str
    namespace_selector: klabels.Selector

    def matches(self, pod: Pod, ns_labels: dict[str, str] | None) -> bool:
        """Matches: the pod's namespace is in scope and its labels match."""
        if pod.metadata.namespace in self.namespaces or (
            ns_labels is not None and self.namespace_selector.matches(ns_labels)
        ):
            return self.selector.matches(pod.metadata.labels)
        return False


@dataclass(slots=True)
class WeightedAffinityTerm:
    term: AffinityTerm
    weight: int


def new_affinity_term(pod: Pod, term: PodAffinityTerm) -> AffinityTerm:
    """newAffinityTerm: no namespaces and no namespaceSelector means the pod's own."""
    namespaces = frozenset(term.namespaces)
    if not namespaces and term.namespace_selector is None:
        namespaces = frozenset([pod.metadata.namespace])
    selector = klabels.label_selector_as_selector(term.label_selector)
    for key in term.match_label_keys:
        if key in pod.metadata.labels:
            selector = selector.add(klabels.new_requirement(key, "in", [pod.metadata.labels[key]]))
    return AffinityTerm(
        namespaces,
        selector,
        term.topology_key,
        klabels.label_selector_as_selector(term.namespace_selector),
    )


class PodInfo:
    """PodInfo: a pod plus its pre-parsed affinity terms and cached requests."""

    __slots__ = (
        "pod",
        "required_affinity_terms",
        "required_anti_affinity_terms",
        "preferred_affinity_terms",
        "preferred_anti_affinity_terms",
        "request",
        "non_zero_request",
    )

    def __init__(self, pod: Pod) -> None:
        self.pod = pod
        aff = pod.spec.affinity
        pa = aff.pod_affinity if aff else None
        paa = aff.pod_anti_affinity if aff else None
        req = pa.required_during_scheduling_ignored_during_execution if pa else []
        self.required_affinity_terms = [new_affinity_term(pod, t) for t in req]
        req = paa.required_during_scheduling_ignored_during_execution if paa else []
        self.required_anti_affinity_terms = [new_affinity_term(pod, t) for t in req]
        pref = pa.preferred_during_scheduling_ignored_during_execution if pa else []
        self.preferred_affinity_terms = [
            WeightedAffinityTerm(new_affinity_term(pod, w.pod_affinity_term), w.weight)
            for w in pref
        ]
        pref = paa.preferred_during_scheduling_ignored_during_execution if paa else []
        self.preferred_anti_affinity_terms = [
            WeightedAffinityTerm(new_affinity_term(pod, w.pod_affinity_term), w.weight)
            for w in pref
        ]
        self.request = compute_pod_resource_request(pod)
        self.non_zero_request = compute_pod_resource_request(pod, non_zero=True)

    def has_affinity(self) -> bool:
        return bool(
            self.required_affinity_terms
            or self.required_anti_affinity_terms
            or self.preferred_affinity_terms
            or self.preferred_anti_affinity_terms
        )


def pod_key(pod: Pod) -> str:
    """GetPodKey: the UID, or namespace/name for pods built without one."""
    return pod.metadata.uid or f"{pod.metadata.namespace}/{pod.metadata.name}"


def _pod_host_ports(pod: Pod):
    for c in pod.spec.containers:
        for p in c.ports:
            if p.host_port > 0:
                yield (p.host_ip or DEFAULT_BIND_ALL_HOST_IP, p.protocol or "TCP", p.host_port)


class HostPortInfo:
    """HostPortInfo: ip -> {(protocol, port)}, with 0.0.0.0 conflicting with every ip."""

    __slots__ = ("ports",)

    def __init__(self) -> None:
        self.ports: dict[str, dict[tuple[str, int], int]] = {}

    def add(self, ip: str, protocol: str, port: int) -> None:
        m = self.ports.setdefault(ip, {})
        m[(protocol, port)] = m.get((protocol, port), 0) + 1

    def remove(self, ip: str, protocol: str, port: int) -> None:
        m = self.ports.get(ip, {})
        if m.get((protocol, port), 0) > 1:
            m[(protocol, port)] -= 1
        else:
            m.pop((protocol, port), None)
            if not m:
                self.ports.pop(ip, None)

    def check_conflict(self, ip: str, protocol: str, port: int) -> bool:
        pp = (protocol, port)
        if ip == DEFAULT_BIND_ALL_HOST_IP:
            return any(pp in m for m in self.ports.values())
        return pp in self.ports.get(ip, {}) or pp in self.ports.get(DEFAULT_BIND_ALL_HOST_IP, {})

    def clone(self) -> HostPortInfo:
        h = HostPortInfo()
        h.ports = {ip: dict(m) for ip, m in self.ports.items()}
        return h


@dataclass(slots=True)
class ImageStateSummary:
    """ImageStateSummary: an image's size and how many nodes hold it."""

    size: int
    num_nodes: int


class NodeInfo:
    """NodeInfo: a node, its pods, and the sums the filters and scores need."""

    __slots__ = (
        "node",
        "name",
        "pods",
        "pods_with_affinity",
        "pods_with_required_anti_affinity",
        "used_ports",
        "requested",
        "non_zero_requested",
        "allocatable",
        "image_states",
        "generation",
    )

    def __init__(self, node: Node | None = None, *pods: Pod) -> None:
        self.node: Node | None = None
        self.name = ""
        self.pods: list[PodInfo] = []
        self.pods_with_affinity: list[PodInfo] = []
        self.pods_with_required_anti_affinity: list[PodInfo] = []
        self.used_ports = HostPortInfo()
        self.requested = Resource()
        self.non_zero_requested = Resource()
        self.allocatable = Resource()
        self.image_states: dict[str, ImageStateSummary] = {}
        self.generation = next_generation()
        if node is not None:
            self.set_node(node)
        for p in pods:
            self.add_pod_info(PodInfo(p))

    def set_node(self, node: Node) -> None:
        self.node = node
        self.name = node.metadata.name
        self.allocatable = resource_from_list(node.status.allocatable)
        self.generation = next_generation()

    def add_pod_info(self, pi: PodInfo) -> None:
        self.pods.append(pi)
        if pi.has_affinity():
            self.pods_with_affinity.append(pi)
        if pi.required_anti_affinity_terms:
            self.pods_with_required_anti_affinity.append(pi)
        self._update(pi, 1)

    def remove_pod(self, pod: Pod) -> bool:
        key = pod_key(pod)
        for i, pi in enumerate(self.pods):
            if pod_key(pi.pod) == key:
                del self.pods[i]
                self.pods_with_affinity = [
                    p for p in self.pods_with_affinity if pod_key(p.pod) != key
                ]
                self.pods_with_required_anti_affinity = [
                    p for p in self.pods_with_required_anti_affinity if pod_key(p.pod) != key
                ]
                self._update(pi, -1)
                return True
        return False

    def _update(self, pi: PodInfo, sign: int) -> None:
        if sign > 0:
            self.requested.add(pi.request)
            self.non_zero_requested.add(pi.non_zero_request)
            for ip, proto, port in _pod_host_ports(pi.pod):
                self.used_ports.add(ip, proto, port)
        else:
            self.requested.sub(pi.request)
            self.non_zero_requested.sub(pi.non_zero_request)
            for ip, proto, port in _pod_host_ports(pi.pod):
                self.used_ports.remove(ip, proto, port)
        self.generation = next_generation()

    def clone(self) -> NodeInfo:
        c = NodeInfo.__new__(NodeInfo)
        c.node = self.node
        c.name = self.name
        c.pods = list(self.pods)
        c.pods_with_affinity = list(self.pods_with_affinity)
        c.pods_with_required_anti_affinity = list(self.pods_with_required_anti_affinity)
        c.used_ports = self.used_ports.clone()
        c.requested = self.requested.clone()
        c.non_zero_requested = self.non_zero_requested.clone()
        c.allocatable = self.allocatable.clone()
        c.image_states = dict(self.image_states)
        c.generation = self.generation
        return c
