"""Defaulting of core/v1 objects: what the API server fills in before validation.

Mirrors kubernetes pkg/apis/core/v1/defaults.go (SetDefaults_Pod,
SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_ContainerPort,
SetDefaults_Probe, SetDefaults_HTTPGetAction, SetDefaults_Volume and the
volume sources, SetDefaults_Service, SetDefaults_Namespace,
SetDefaults_NamespaceStatus, SetDefaults_NodeStatus, SetDefaults_Secret,
SetDefaults_ObjectFieldSelector, SetDefaults_EndpointPort). Each function
takes a frozen object and returns the defaulted copy.
Omitted: feature-gated defaults (pod-level resources, hostname override),
windows and ephemeral containers.
"""

from __future__ import annotations

from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.core.v1 import (
    Container,
    EnvVar,
    HTTPGetAction,
    LifecycleHandler,
    Namespace,
    Node,
    PodSpec,
    Probe,
    Secret,
    Service,
    ServicePort,
    Volume,
)

__all__ = [
    "DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS",
    "LABEL_METADATA_NAME",
    "set_defaults_container",
    "set_defaults_endpoints",
    "set_defaults_namespace",
    "set_defaults_node",
    "set_defaults_pod",
    "set_defaults_pod_spec",
    "set_defaults_pod_template",
    "set_defaults_probe",
    "set_defaults_secret",
    "set_defaults_service",
    "set_defaults_volume",
]

DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
DEFAULT_MODE = 0o644
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600
LABEL_METADATA_NAME = "kubernetes.io/metadata.name"


def _image_pull_policy(image: str) -> str:
    # Digests pin content: IfNotPresent. Otherwise ":latest" or no tag means Always.
    if "@" in image:
        return corev1.PULL_IF_NOT_PRESENT
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return corev1.PULL_ALWAYS if tag in ("", "latest") else corev1.PULL_IF_NOT_PRESENT


def _http_get(a: HTTPGetAction | None) -> HTTPGetAction | None:
    if a is None:
        return None
    return replace(a, path=a.path or "/", scheme=a.scheme or "HTTP")


def set_defaults_probe(p: Probe | None) -> Probe | None:
    """SetDefaults_Probe: timeout 1s, period 10s, success 1, failure 3."""
    if p is None:
        return None
    return replace(
        p,
        timeout_seconds=p.timeout_seconds or 1,
        period_seconds=p.period_seconds or 10,
        success_threshold=p.success_threshold or 1,
        failure_threshold=p.failure_threshold or 3,
        http_get=_http_get(p.http_get),
    )


def _handler(h: LifecycleHandler | None) -> LifecycleHandler | None:
    return None if h is None else replace(h, http_get=_http_get(h.http_get))


def _env(e: EnvVar) -> EnvVar:
    ref = e.value_from.field_ref if e.value_from else None
    if ref is None or ref.api_version:
        return e
    return replace(e, value_from=replace(e.value_from, field_ref=replace(ref, api_version="v1")))


def set_defaults_container(c: Container) -> Container:
    """SetDefaults_Container plus its ports, probes, hooks and env."""
    lifecycle = c.lifecycle
    if lifecycle is not None:
        lifecycle = replace(
            lifecycle,
            post_start=_handler(lifecycle.post_start),
            pre_stop=_handler(lifecycle.pre_stop),
        )
    return replace(
        c,
        image_pull_policy=c.image_pull_policy or _image_pull_policy(c.image),
        termination_message_path=c.termination_message_path
        or corev1.TERMINATION_MESSAGE_PATH_DEFAULT,
        termination_message_policy=c.termination_message_policy
        or corev1.TERMINATION_MESSAGE_READ_FILE,
        ports=[replace(p, protocol=p.protocol or corev1.PROTOCOL_TCP) for p in c.ports],
        liveness_probe=set_defaults_probe(c.liveness_probe),
        readiness_probe=set_defaults_probe(c.readiness_probe),
        startup_probe=set_defaults_probe(c.startup_probe),
        lifecycle=lifecycle,
        env=[_env(e) for e in c.env],
    )


def set_defaults_volume(v: Volume) -> Volume:
    """SetDefaults_Volume: no source means emptyDir; file modes default to 0644."""
    sources = (
        v.host_path,
        v.empty_dir,
        v.secret,
        v.persistent_volume_claim,
        v.downward_api,
        v.config_map,
        v.projected,
    )
    if all(s is None for s in sources):
        return replace(v, empty_dir=corev1.EmptyDirVolumeSource())
    if v.secret is not None and v.secret.default_mode is None:
        v = replace(v, secret=replace(v.secret, default_mode=DEFAULT_MODE))
    if v.config_map is not None and v.config_map.default_mode is None:
        v = replace(v, config_map=replace(v.config_map, default_mode=DEFAULT_MODE))
    if v.downward_api is not None and v.downward_api.default_mode is None:
        v = replace(v, downward_api=replace(v.downward_api, default_mode=DEFAULT_MODE))
    if v.host_path is not None and v.host_path.type is None:
        v = replace(v, host_path=replace(v.host_path, type=corev1.HOST_PATH_UNSET))
    if v.projected is not None:
        srcs = [
            replace(
                s,
                service_account_token=replace(
                    s.service_account_token, expiration_seconds=DEFAULT_TOKEN_EXPIRATION_SECONDS
                ),
            )
            if s.service_account_token is not None
            and s.service_account_token.expiration_seconds is None
            else s
            for s in v.projected.sources
        ]
        v = replace(
            v,
            projected=replace(
                v.projected,
                sources=srcs,
                default_mode=v.projected.default_mode
                if v.projected.default_mode is not None
                else DEFAULT_MODE,
            ),
        )
    return v


def _host_network_ports(containers: list[Container]) -> list[Container]:
    # With hostNetwork the container port is the host port.
    return [
        replace(c, ports=[replace(p, host_port=p.host_port or p.container_port) for p in c.ports])
        for c in containers
    ]


def set_defaults_pod_spec(spec: PodSpec) -> PodSpec:
    """SetDefaults_PodSpec (+ the containers and volumes inside it)."""
    containers = [set_defaults_container(c) for c in spec.containers]
    init_containers = [set_defaults_container(c) for c in spec.init_containers]
    if spec.host_network:
        containers, init_containers = (
            _host_network_ports(containers),
            _host_network_ports(init_containers),
        )
    return replace(
        spec,
        containers=containers,
        init_containers=init_containers,
        volumes=[set_defaults_volume(v) for v in spec.volumes],
        dns_policy=spec.dns_policy or corev1.DNS_CLUSTER_FIRST,
        restart_policy=spec.restart_policy or corev1.RESTART_POLICY_ALWAYS,
        security_context=spec.security_context or corev1.PodSecurityContext(),
        termination_grace_period_seconds=(
            DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS
            if spec.termination_grace_period_seconds is None
            else spec.termination_grace_period_seconds
        ),
        scheduler_name=spec.scheduler_name or corev1.DEFAULT_SCHEDULER_NAME,
    )


def _requests_from_limits(c: Container) -> Container:
    # SetDefaults_Pod: a limit without a request makes the request equal to it.
    if not c.resources.limits:
        return c
    requests = dict(c.resources.limits) | dict(c.resources.requests)
    return replace(c, resources=replace(c.resources, requests=requests))


def set_defaults_pod(pod: corev1.Pod) -> corev1.Pod:
    """SetDefaults_Pod: requests from limits, enableServiceLinks, then the spec."""
    spec = pod.spec
    spec = replace(
        spec,
        containers=[_requests_from_limits(c) for c in spec.containers],
        init_containers=[_requests_from_limits(c) for c in spec.init_containers],
        enable_service_links=True
        if spec.enable_service_links is None
        else spec.enable_service_links,
    )
    return replace(pod, spec=set_defaults_pod_spec(spec))


def set_defaults_pod_template(t: corev1.PodTemplateSpec) -> corev1.PodTemplateSpec:
    """The defaults every embedded pod template gets (PodSpec and below)."""
    return replace(t, spec=set_defaults_pod_spec(t.spec))


def _service_port(p: ServicePort) -> ServicePort:
    target = p.target_port if p.target_port not in (None, 0, "") else p.port
    return replace(p, protocol=p.protocol or corev1.PROTOCOL_TCP, target_port=target)


def set_defaults_service(svc: Service) -> Service:
    """SetDefaults_Service: type ClusterIP, affinity None, TCP, targetPort = port, policies."""
    s = svc.spec
    s = replace(
        s,
        session_affinity=s.session_affinity or corev1.SESSION_AFFINITY_NONE,
        type=s.type or corev1.SERVICE_TYPE_CLUSTER_IP,
        ports=[_service_port(p) for p in s.ports],
    )
    if (
        s.session_affinity == corev1.SESSION_AFFINITY_CLIENT_IP
        and s.session_affinity_config is None
    ):
        cfg = corev1.ClientIPConfig(timeout_seconds=corev1.DEFAULT_CLIENT_IP_TIMEOUT_SECONDS)
        s = replace(s, session_affinity_config=corev1.SessionAffinityConfig(client_ip=cfg))
    external = s.type in (corev1.SERVICE_TYPE_NODE_PORT, corev1.SERVICE_TYPE_LOAD_BALANCER)
    if external and not s.external_traffic_policy:
        s = replace(s, external_traffic_policy=corev1.TRAFFIC_POLICY_CLUSTER)
    if s.type != corev1.SERVICE_TYPE_EXTERNAL_NAME and s.internal_traffic_policy is None:
        s = replace(s, internal_traffic_policy=corev1.TRAFFIC_POLICY_CLUSTER)
    if s.type == corev1.SERVICE_TYPE_LOAD_BALANCER and s.allocate_load_balancer_node_ports is None:
        s = replace(s, allocate_load_balancer_node_ports=True)
    return replace(svc, spec=s)


def set_defaults_namespace(ns: Namespace) -> Namespace:
    """SetDefaults_Namespace (the metadata.name label) and SetDefaults_NamespaceStatus."""
    labels = dict(ns.metadata.labels)
    if ns.metadata.name:
        labels[LABEL_METADATA_NAME] = ns.metadata.name
    return replace(
        ns,
        metadata=replace(ns.metadata, labels=labels),
        status=replace(ns.status, phase=ns.status.phase or corev1.NAMESPACE_ACTIVE),
    )


def set_defaults_node(node: Node) -> Node:
    """SetDefaults_NodeStatus: allocatable defaults to capacity."""
    if node.status.allocatable or not node.status.capacity:
        return node
    return replace(node, status=replace(node.status, allocatable=dict(node.status.capacity)))


def set_defaults_secret(secret: Secret) -> Secret:
    """SetDefaults_Secret: type Opaque."""
    return replace(secret, type=secret.type or corev1.SECRET_TYPE_OPAQUE)


def set_defaults_endpoints(ep: corev1.Endpoints) -> corev1.Endpoints:
    """SetDefaults_EndpointPort: protocol TCP."""
    subsets = [
        replace(s, ports=[replace(p, protocol=p.protocol or corev1.PROTOCOL_TCP) for p in s.ports])
        for s in ep.subsets
    ]
    return replace(ep, subsets=subsets)
