"""Pod: the unit of scheduling; its spec, status and template.

Mirrors k8s.io/api/core/v1/types.go (Pod, PodSpec, PodStatus, PodCondition,
ContainerStatus, ContainerState*, PodIP, HostIP, PodDNSConfig,
PodSecurityContext, PodReadinessGate, PodSchedulingGate, HostAlias,
PodTemplateSpec, PodTemplate, PodList). Phases and condition types are the
upstream strings.
Omitted: ephemeral containers, resource claims, OS,
host users, resize status, windows options.
"""

from __future__ import annotations

from datetime import datetime

from miniapi.base import Struct, field
from miniapi.core.v1.affinity import Affinity, Toleration, TopologySpreadConstraint
from miniapi.core.v1.common import LocalObjectReference, ResourceRequirements
from miniapi.core.v1.container import Container
from miniapi.core.v1.volume import Volume
from miniapi.meta.v1 import ListMeta, ObjectMeta
from miniapi.resource import Quantity

__all__ = [
    "ContainerState",
    "ContainerStateRunning",
    "ContainerStateTerminated",
    "ContainerStateWaiting",
    "ContainerStatus",
    "HostAlias",
    "HostIP",
    "Pod",
    "PodCondition",
    "PodDNSConfig",
    "PodDNSConfigOption",
    "PodIP",
    "PodList",
    "PodReadinessGate",
    "PodSchedulingGate",
    "PodSecurityContext",
    "PodSpec",
    "PodStatus",
    "PodTemplate",
    "PodTemplateList",
    "PodTemplateSpec",
    "POD_PENDING",
    "POD_RUNNING",
    "POD_SUCCEEDED",
    "POD_FAILED",
    "POD_UNKNOWN",
    "POD_SCHEDULED",
    "POD_READY",
    "POD_INITIALIZED",
    "CONTAINERS_READY",
    "DISRUPTION_TARGET",
    "RESTART_POLICY_ALWAYS",
    "RESTART_POLICY_ON_FAILURE",
    "RESTART_POLICY_NEVER",
    "DNS_CLUSTER_FIRST",
    "DNS_CLUSTER_FIRST_WITH_HOST_NET",
    "DNS_DEFAULT",
    "DNS_NONE",
    "DEFAULT_SCHEDULER_NAME",
]

POD_PENDING = "Pending"
POD_RUNNING = "Running"
POD_SUCCEEDED = "Succeeded"
POD_FAILED = "Failed"
POD_UNKNOWN = "Unknown"

POD_SCHEDULED = "PodScheduled"
POD_READY = "Ready"
POD_INITIALIZED = "Initialized"
CONTAINERS_READY = "ContainersReady"
DISRUPTION_TARGET = "DisruptionTarget"

RESTART_POLICY_ALWAYS = "Always"
RESTART_POLICY_ON_FAILURE = "OnFailure"
RESTART_POLICY_NEVER = "Never"

DNS_CLUSTER_FIRST = "ClusterFirst"
DNS_CLUSTER_FIRST_WITH_HOST_NET = "ClusterFirstWithHostNet"
DNS_DEFAULT = "Default"
DNS_NONE = "None"

DEFAULT_SCHEDULER_NAME = "default-scheduler"


class PodDNSConfigOption(Struct, frozen=True, kw_only=True):
    """One resolver option (ndots, timeout...)."""

    name: str = ""
    value: str | None = None


class PodDNSConfig(Struct, frozen=True, kw_only=True):
    """Extra resolv.conf settings."""

    nameservers: list[str] = []
    searches: list[str] = []
    options: list[PodDNSConfigOption] = []


class PodSecurityContext(Struct, frozen=True, kw_only=True):
    """Pod-wide security settings."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    supplemental_groups: list[int] = []
    fs_group: int | None = None


class PodReadinessGate(Struct, frozen=True, kw_only=True):
    """An extra condition type that must be True for the pod to be Ready."""

    condition_type: str = ""


class PodSchedulingGate(Struct, frozen=True, kw_only=True):
    """A named gate; the scheduler leaves the pod alone while any gate remains."""

    name: str = ""


class HostAlias(Struct, frozen=True, kw_only=True):
    """An /etc/hosts entry."""

    ip: str = ""
    hostnames: list[str] = []


class PodSpec(Struct, frozen=True, kw_only=True):
    """What the pod should run and where."""

    volumes: list[Volume] = []
    init_containers: list[Container] = []
    containers: list[Container] = []
    restart_policy: str = ""
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str = ""
    node_selector: dict[str, str] = {}
    service_account_name: str = ""
    service_account: str = ""
    automount_service_account_token: bool | None = None
    node_name: str = ""
    host_network: bool = False
    host_pid: bool = field(default=False, name="hostPID")
    host_ipc: bool = field(default=False, name="hostIPC")
    share_process_namespace: bool | None = None
    security_context: PodSecurityContext | None = None
    image_pull_secrets: list[LocalObjectReference] = []
    hostname: str = ""
    subdomain: str = ""
    affinity: Affinity | None = None
    scheduler_name: str = ""
    tolerations: list[Toleration] = []
    host_aliases: list[HostAlias] = []
    priority_class_name: str = ""
    priority: int | None = None
    dns_config: PodDNSConfig | None = None
    readiness_gates: list[PodReadinessGate] = []
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None
    preemption_policy: str | None = None
    overhead: dict[str, Quantity] = {}
    topology_spread_constraints: list[TopologySpreadConstraint] = []
    set_hostname_as_fqdn: bool | None = field(default=None, name="setHostnameAsFQDN")
    scheduling_gates: list[PodSchedulingGate] = []
    resources: ResourceRequirements | None = None


class PodCondition(Struct, frozen=True, kw_only=True):
    """A condition of the pod (PodScheduled, Initialized, ContainersReady, Ready...)."""

    type: str = ""
    observed_generation: int | None = None
    status: str = ""
    last_probe_time: datetime | None = None
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


class ContainerStateWaiting(Struct, frozen=True, kw_only=True):
    """Not running yet: why (ContainerCreating, CrashLoopBackOff, ImagePullBackOff...)."""

    reason: str = ""
    message: str = ""


class ContainerStateRunning(Struct, frozen=True, kw_only=True):
    """Running since startedAt."""

    started_at: datetime | None = None


class ContainerStateTerminated(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """Exited: code, signal, reason, times."""

    exit_code: int = 0
    signal: int = 0
    reason: str = ""
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    container_id: str = field(default="", name="containerID")


class ContainerState(Struct, frozen=True, kw_only=True):
    """Exactly one of waiting, running, terminated."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(Struct, frozen=True, kw_only=True):
    """What the kubelet observed of one container.

    name, ready, restartCount, image and imageID are written even when empty,
    as upstream does (they have no omitempty and clients require them).
    """

    name: str
    state: ContainerState | None = None
    last_state: ContainerState | None = None
    ready: bool
    restart_count: int
    image: str
    image_id: str = field(name="imageID")
    container_id: str = field(default="", name="containerID")
    started: bool | None = None
    allocated_resources: dict[str, Quantity] = {}
    resources: ResourceRequirements | None = None


class PodIP(Struct, frozen=True, kw_only=True):
    """One IP address of the pod."""

    ip: str = ""


class HostIP(Struct, frozen=True, kw_only=True):
    """One IP address of the pod's node."""

    ip: str = ""


class PodStatus(Struct, frozen=True, kw_only=True):
    """What is known of the pod: phase, conditions, addresses, container states."""

    observed_generation: int | None = None
    phase: str = ""
    conditions: list[PodCondition] = []
    message: str = ""
    reason: str = ""
    nominated_node_name: str = ""
    host_ip: str = field(default="", name="hostIP")
    host_ips: list[HostIP] = field(default_factory=list, name="hostIPs")
    pod_ip: str = field(default="", name="podIP")
    pod_ips: list[PodIP] = field(default_factory=list, name="podIPs")
    start_time: datetime | None = None
    init_container_statuses: list[ContainerStatus] = []
    container_statuses: list[ContainerStatus] = []
    qos_class: str = field(default="", name="qosClass")


class Pod(Struct, frozen=True, kw_only=True):
    """A group of containers scheduled together on one node."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: PodSpec = field(default_factory=PodSpec)
    status: PodStatus = field(default_factory=PodStatus)


class PodList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of pods."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Pod] = []


class PodTemplateSpec(Struct, frozen=True, kw_only=True):
    """The pod a controller stamps out: metadata and spec."""

    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: PodSpec = field(default_factory=PodSpec)


class PodTemplate(Struct, frozen=True, kw_only=True):
    """A stored pod template."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    template: PodTemplateSpec = field(default_factory=PodTemplateSpec)


class PodTemplateList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of pod templates."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[PodTemplate] = []
