"""Hypothesis strategies for API objects: pods, nodes, services, slices, workloads...

Not an upstream mirror: it plays the role of k8s.io/apimachinery's fuzzers
(api/apitesting/fuzzer, used by the round-trip tests) but draws objects that
pass validation once defaulted, with apiVersion and kind set, so
`decode(to_json(x)) == x` holds for every draw.
Omitted: invalid-object generation (validation tests use explicit tables).
"""

from __future__ import annotations

from hypothesis import strategies as st

from miniapi.apps import v1 as appsv1
from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.discovery import v1 as discoveryv1
from miniapi.meta import v1 as metav1
from miniapi.resource import Quantity
from miniapi.scheme import with_type_meta
from miniapi.strategies.basic import (
    dns1035_labels,
    dns_labels,
    label_keys,
    label_maps,
    label_selectors,
    label_values,
    object_meta,
    port_names,
    quantities,
    times,
)

__all__ = [
    "containers",
    "deployments",
    "endpoint_slices",
    "nodes",
    "pod_specs",
    "pods",
    "replica_sets",
    "scheduling_gates",
    "services",
]

_PORTS = st.integers(min_value=1, max_value=65535)
_PROTOCOLS = st.sampled_from(["TCP", "UDP", "SCTP"])


def _probes() -> st.SearchStrategy[corev1.Probe]:
    http = st.builds(
        corev1.HTTPGetAction,
        path=st.just("/healthz"),
        port=_PORTS | port_names(),
        scheme=st.just("HTTP"),
    )
    tcp = st.builds(corev1.TCPSocketAction, port=_PORTS)
    exe = st.builds(
        corev1.ExecAction, command=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3)
    )
    return st.one_of(
        st.builds(corev1.Probe, http_get=http, period_seconds=st.integers(1, 60)),
        st.builds(corev1.Probe, tcp_socket=tcp, failure_threshold=st.integers(1, 10)),
        st.builds(corev1.Probe, exec=exe, timeout_seconds=st.integers(1, 10)),
    )


@st.composite
def containers(draw: st.DrawFn, name: str | None = None) -> corev1.Container:
    requests = draw(st.dictionaries(st.sampled_from(["cpu", "memory"]), quantities(), max_size=2))
    # A limit is never below its request (validation rejects that).
    limits = {k: q + draw(quantities()) for k, q in requests.items() if draw(st.booleans())}
    resources = corev1.ResourceRequirements(requests=requests, limits=limits)
    ports = draw(
        st.lists(
            st.builds(corev1.ContainerPort, container_port=_PORTS, protocol=_PROTOCOLS), max_size=2
        )
    )
    env = draw(
        st.lists(
            st.builds(
                corev1.EnvVar,
                name=st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
                value=st.text(max_size=10),
            ),
            max_size=2,
        )
    )
    return corev1.Container(
        name=name or draw(dns_labels()),
        image=draw(
            st.sampled_from(
                ["nginx", "nginx:1.25", "busybox:latest", "registry.local/app@sha256:" + "a" * 64]
            )
        ),
        command=draw(st.lists(st.text(min_size=1, max_size=8), max_size=2)),
        ports=ports,
        env=env,
        resources=resources,
        readiness_probe=draw(st.none() | _probes()),
        liveness_probe=draw(st.none() | _probes()),
    )


def scheduling_gates() -> st.SearchStrategy[list[corev1.PodSchedulingGate]]:
    """Usually none (most pods are not gated), else up to two distinct qualified names."""
    gate = st.builds(corev1.PodSchedulingGate, name=label_keys())
    some = st.lists(gate, min_size=1, max_size=2, unique_by=lambda g: g.name)
    return st.one_of(st.just([]), st.just([]), some)


@st.composite
def pod_specs(draw: st.DrawFn) -> corev1.PodSpec:
    names = draw(st.lists(dns_labels(10), min_size=1, max_size=3, unique=True))
    toleration = st.builds(
        corev1.Toleration,
        key=label_keys(),
        operator=st.just("Equal"),
        value=label_values(),
        effect=st.sampled_from(["NoSchedule", "NoExecute", ""]),
    )
    spread = st.builds(
        corev1.TopologySpreadConstraint,
        max_skew=st.integers(1, 5),
        topology_key=st.sampled_from(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]),
        when_unsatisfiable=st.sampled_from(["DoNotSchedule", "ScheduleAnyway"]),
        label_selector=st.none() | label_selectors(),
    )
    return corev1.PodSpec(
        containers=[draw(containers(name=n)) for n in names],
        restart_policy=draw(st.sampled_from(["", "Always", "OnFailure", "Never"])),
        node_name=draw(st.just("") | dns_labels()),
        node_selector=draw(label_maps(2)),
        scheduler_name=draw(st.sampled_from(["", "default-scheduler"])),
        priority=draw(st.none() | st.integers(-(2**31), 2**31 - 1)),
        termination_grace_period_seconds=draw(st.none() | st.integers(0, 3600)),
        tolerations=draw(st.lists(toleration, max_size=2)),
        topology_spread_constraints=draw(st.lists(spread, max_size=1)),
        scheduling_gates=draw(scheduling_gates()),
        volumes=draw(
            st.lists(
                st.builds(
                    corev1.Volume,
                    name=dns_labels(10),
                    empty_dir=st.just(corev1.EmptyDirVolumeSource()),
                ),
                max_size=2,
                unique_by=lambda v: v.name,
            )
        ),
    )


@st.composite
def _pod_status(draw: st.DrawFn) -> corev1.PodStatus:
    ip = draw(st.ip_addresses(v=4).map(str))
    cond = st.builds(
        corev1.PodCondition,
        type=st.sampled_from(["Ready", "PodScheduled"]),
        status=st.sampled_from(["True", "False"]),
        last_transition_time=st.none() | times(),
    )
    return corev1.PodStatus(
        phase=draw(st.sampled_from(["", "Pending", "Running", "Succeeded", "Failed"])),
        conditions=draw(st.lists(cond, max_size=2)),
        pod_ip=ip,
        pod_ips=[corev1.PodIP(ip=ip)],
        host_ip=draw(st.ip_addresses(v=4).map(str)),
        start_time=draw(st.none() | times()),
    )


def pods() -> st.SearchStrategy[corev1.Pod]:
    return st.builds(
        corev1.Pod, metadata=object_meta(), spec=pod_specs(), status=_pod_status()
    ).map(with_type_meta)


@st.composite
def nodes(draw: st.DrawFn) -> corev1.Node:
    capacity = {
        "cpu": draw(quantities()),
        "memory": draw(quantities()),
        "pods": Quantity.parse("110"),
    }
    taint = st.builds(
        corev1.Taint,
        key=label_keys(),
        value=label_values(),
        effect=st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    )
    node = corev1.Node(
        metadata=draw(object_meta(namespaced=False)),
        spec=corev1.NodeSpec(
            pod_cidr="10.244.1.0/24",
            pod_cidrs=["10.244.1.0/24"],
            unschedulable=draw(st.booleans()),
            taints=draw(st.lists(taint, max_size=2)),
        ),
        status=corev1.NodeStatus(
            capacity=capacity,
            allocatable=capacity,
            conditions=[
                corev1.NodeCondition(
                    type="Ready",
                    status=draw(st.sampled_from(["True", "False", "Unknown"])),
                    last_heartbeat_time=draw(times()),
                )
            ],
            addresses=[
                corev1.NodeAddress(type="InternalIP", address=draw(st.ip_addresses(v=4).map(str)))
            ],
        ),
    )
    return with_type_meta(node)


@st.composite
def services(draw: st.DrawFn) -> corev1.Service:
    ports = draw(st.lists(dns_labels(10), min_size=1, max_size=3, unique=True))
    service_ports = [
        corev1.ServicePort(
            name=n if len(ports) > 1 else "",
            port=draw(_PORTS),
            protocol=draw(_PROTOCOLS),
            target_port=draw(_PORTS | port_names()),
        )
        for n in ports
    ]
    ip = draw(st.ip_addresses(v=4).map(str))
    spec = corev1.ServiceSpec(
        ports=service_ports,
        selector=draw(label_maps(2)),
        cluster_ip=ip,
        cluster_ips=[ip],
        type=draw(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer"])),
        session_affinity=draw(st.sampled_from(["None", "ClientIP"])),
    )
    return with_type_meta(
        corev1.Service(metadata=draw(object_meta(names=dns1035_labels())), spec=spec)
    )


@st.composite
def endpoint_slices(draw: st.DrawFn) -> discoveryv1.EndpointSlice:
    endpoint = st.builds(
        discoveryv1.Endpoint,
        addresses=st.ip_addresses(v=4).map(lambda a: [str(a)]),
        conditions=st.builds(
            discoveryv1.EndpointConditions,
            ready=st.none() | st.booleans(),
            serving=st.none() | st.booleans(),
            terminating=st.none() | st.booleans(),
        ),
        node_name=st.none() | dns_labels(),
        zone=st.none() | st.just("zone-a"),
    )
    port = st.builds(
        discoveryv1.EndpointPort, name=st.none() | dns_labels(10), protocol=_PROTOCOLS, port=_PORTS
    )
    slice_ = discoveryv1.EndpointSlice(
        metadata=draw(object_meta()),
        address_type="IPv4",
        endpoints=draw(st.lists(endpoint, max_size=4)),
        ports=draw(st.lists(port, max_size=2, unique_by=lambda p: p.name or "")),
    )
    return with_type_meta(slice_)


@st.composite
def _template(draw: st.DrawFn) -> tuple[metav1.LabelSelector, corev1.PodTemplateSpec]:
    labels = draw(st.dictionaries(label_keys(), label_values(), min_size=1, max_size=3))
    # Workload templates must restart Always (apps validation).
    spec = replace(draw(pod_specs()), restart_policy="Always")
    template = corev1.PodTemplateSpec(metadata=metav1.ObjectMeta(labels=labels), spec=spec)
    return metav1.LabelSelector(match_labels=labels), template


@st.composite
def deployments(draw: st.DrawFn) -> appsv1.Deployment:
    selector, template = draw(_template())
    # maxSurge and maxUnavailable may not both be 0.
    surge = st.integers(1, 10) | st.sampled_from(["25%", "50%"])
    unavailable = st.integers(0, 10) | st.sampled_from(["0%", "25%"])
    strategy = appsv1.DeploymentStrategy(
        type="RollingUpdate",
        rolling_update=appsv1.RollingUpdateDeployment(
            max_surge=draw(surge), max_unavailable=draw(unavailable)
        ),
    )
    spec = appsv1.DeploymentSpec(
        replicas=draw(st.none() | st.integers(0, 100)),
        selector=selector,
        template=template,
        strategy=strategy,
    )
    status = appsv1.DeploymentStatus(
        replicas=draw(st.integers(0, 100)), observed_generation=draw(st.integers(0, 100))
    )
    return with_type_meta(appsv1.Deployment(metadata=draw(object_meta()), spec=spec, status=status))


@st.composite
def replica_sets(draw: st.DrawFn) -> appsv1.ReplicaSet:
    selector, template = draw(_template())
    spec = appsv1.ReplicaSetSpec(
        replicas=draw(st.none() | st.integers(0, 100)), selector=selector, template=template
    )
    status = appsv1.ReplicaSetStatus(
        replicas=draw(st.integers(0, 100)), ready_replicas=draw(st.integers(0, 100))
    )
    return with_type_meta(appsv1.ReplicaSet(metadata=draw(object_meta()), spec=spec, status=status))
