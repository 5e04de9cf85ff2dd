"""Containers: image, command, env, ports, resources, probes, lifecycle hooks.

Mirrors k8s.io/api/core/v1/types.go (Container, ContainerPort, EnvVar,
EnvVarSource, EnvFromSource, VolumeMount, Probe, ProbeHandler, ExecAction,
HTTPGetAction, TCPSocketAction, GRPCAction, Lifecycle, LifecycleHandler,
SecurityContext, Capabilities). Ports given by name are `int | str`
(IntOrString upstream).
Omitted: ephemeral containers, volumeDevices, resizePolicy, SELinux/AppArmor
/seccomp profile details of SecurityContext, windows options.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.core.v1.common import ResourceRequirements

__all__ = [
    "Capabilities",
    "ConfigMapEnvSource",
    "ConfigMapKeySelector",
    "Container",
    "ContainerPort",
    "EnvFromSource",
    "EnvVar",
    "EnvVarSource",
    "ExecAction",
    "GRPCAction",
    "HTTPGetAction",
    "HTTPHeader",
    "Lifecycle",
    "LifecycleHandler",
    "ObjectFieldSelector",
    "Probe",
    "ResourceFieldSelector",
    "SecretEnvSource",
    "SecretKeySelector",
    "SecurityContext",
    "SleepAction",
    "TCPSocketAction",
    "VolumeMount",
    "PULL_ALWAYS",
    "PULL_NEVER",
    "PULL_IF_NOT_PRESENT",
    "TERMINATION_MESSAGE_READ_FILE",
    "TERMINATION_MESSAGE_FALLBACK_TO_LOGS_ON_ERROR",
    "TERMINATION_MESSAGE_PATH_DEFAULT",
]

PULL_ALWAYS = "Always"
PULL_NEVER = "Never"
PULL_IF_NOT_PRESENT = "IfNotPresent"
TERMINATION_MESSAGE_READ_FILE = "File"
TERMINATION_MESSAGE_FALLBACK_TO_LOGS_ON_ERROR = "FallbackToLogsOnError"
TERMINATION_MESSAGE_PATH_DEFAULT = "/dev/termination-log"


class ContainerPort(Struct, frozen=True, kw_only=True):
    """A port the container listens on (informational, plus hostPort mapping)."""

    name: str = ""
    host_port: int = 0
    container_port: int = 0
    protocol: str = ""
    host_ip: str = field(default="", name="hostIP")


class ObjectFieldSelector(Struct, frozen=True, kw_only=True):
    """Selects a field of the pod (downward API), e.g. metadata.name."""

    api_version: str = ""
    field_path: str = ""


class ResourceFieldSelector(Struct, frozen=True, kw_only=True):
    """Selects a container's resource request or limit (downward API)."""

    container_name: str = ""
    resource: str = ""
    divisor: str | None = None


class ConfigMapKeySelector(Struct, frozen=True, kw_only=True):
    """One key of a ConfigMap."""

    name: str = ""
    key: str = ""
    optional: bool | None = None


class SecretKeySelector(Struct, frozen=True, kw_only=True):
    """One key of a Secret."""

    name: str = ""
    key: str = ""
    optional: bool | None = None


class EnvVarSource(Struct, frozen=True, kw_only=True):
    """Where an environment variable's value comes from."""

    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    config_map_key_ref: ConfigMapKeySelector | None = None
    secret_key_ref: SecretKeySelector | None = None


class EnvVar(Struct, frozen=True, kw_only=True):
    """name=value, or a value taken from elsewhere."""

    name: str = ""
    value: str = ""
    value_from: EnvVarSource | None = None


class ConfigMapEnvSource(Struct, frozen=True, kw_only=True):
    """All keys of a ConfigMap as environment variables."""

    name: str = ""
    optional: bool | None = None


class SecretEnvSource(Struct, frozen=True, kw_only=True):
    """All keys of a Secret as environment variables."""

    name: str = ""
    optional: bool | None = None


class EnvFromSource(Struct, frozen=True, kw_only=True):
    """A source of many environment variables, with an optional name prefix."""

    prefix: str = ""
    config_map_ref: ConfigMapEnvSource | None = None
    secret_ref: SecretEnvSource | None = None


class VolumeMount(Struct, frozen=True, kw_only=True):
    """Mounts a pod volume into the container's file system."""

    name: str = ""
    read_only: bool = False
    mount_path: str = ""
    sub_path: str = ""
    mount_propagation: str | None = None
    sub_path_expr: str = ""


class ExecAction(Struct, frozen=True, kw_only=True):
    """Run a command in the container; exit status 0 means success."""

    command: list[str] = []


class HTTPHeader(Struct, frozen=True, kw_only=True):
    """A header to send with an HTTP probe."""

    name: str = ""
    value: str = ""


class HTTPGetAction(Struct, frozen=True, kw_only=True):
    """GET a path on the pod; 200 <= status < 400 means success."""

    path: str = ""
    port: int | str = 0
    host: str = ""
    scheme: str = ""
    http_headers: list[HTTPHeader] = []


class TCPSocketAction(Struct, frozen=True, kw_only=True):
    """Open a TCP connection; connecting means success."""

    port: int | str = 0
    host: str = ""


class GRPCAction(Struct, frozen=True, kw_only=True):
    """Call the gRPC health checking protocol."""

    port: int = 0
    service: str | None = None


class SleepAction(Struct, frozen=True, kw_only=True):
    """Sleep before the container is stopped (a preStop hook)."""

    seconds: int = 0


class Probe(Struct, frozen=True, kw_only=True):
    """A periodic health check: one handler plus timing and thresholds."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int = 0
    timeout_seconds: int = 0
    period_seconds: int = 0
    success_threshold: int = 0
    failure_threshold: int = 0
    termination_grace_period_seconds: int | None = None


class LifecycleHandler(Struct, frozen=True, kw_only=True):
    """An action run at a lifecycle hook."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


class Lifecycle(Struct, frozen=True, kw_only=True):
    """postStart and preStop hooks."""

    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None
    stop_signal: str | None = None


class Capabilities(Struct, frozen=True, kw_only=True):
    """Linux capabilities to add and drop."""

    add: list[str] = []
    drop: list[str] = []


class SecurityContext(Struct, frozen=True, kw_only=True):
    """Per-container security settings (the subset the runtime honours)."""

    capabilities: Capabilities | None = None
    privileged: bool | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None
    proc_mount: str | None = None


class Container(Struct, frozen=True, kw_only=True):
    """A container of a pod (also used for init and sidecar containers)."""

    name: str = ""
    image: str = ""
    command: list[str] = []
    args: list[str] = []
    working_dir: str = ""
    ports: list[ContainerPort] = []
    env_from: list[EnvFromSource] = []
    env: list[EnvVar] = []
    resources: ResourceRequirements = field(default_factory=ResourceRequirements)
    restart_policy: str | None = None
    volume_mounts: list[VolumeMount] = []
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    termination_message_path: str = ""
    termination_message_policy: str = ""
    image_pull_policy: str = ""
    security_context: SecurityContext | None = None
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
