"""Validation of containers: names, images, ports, env, mounts, probes, resources.

Mirrors kubernetes pkg/apis/core/validation/validation.go (validateContainers,
validateInitContainers, validateContainerPorts, ValidateEnv, ValidateEnvFrom,
ValidateVolumeMounts, validateProbe, validateHandler, validateHTTPGetAction,
ValidatePortNumOrName, validatePullPolicy, ValidateResourceRequirements,
checkHostPortConflicts) with upstream's field paths and messages.
Omitted: security context, resize policy, sidecar restartPolicy rules,
downward API divisor checks.
"""

from __future__ import annotations

from miniapi.core.v1 import Container, ContainerPort, EnvVar, LifecycleHandler, Probe
from miniapi.resource import Quantity
from miniapi.validation import field, names
from miniapi.validation.field import ErrorList, Path
from miniapi.validation.objectmeta import validate_nonnegative_field

__all__ = ["validate_containers", "validate_init_containers", "validate_port_num_or_name"]

SUPPORTED_PORT_PROTOCOLS = ["SCTP", "TCP", "UDP"]
SUPPORTED_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
SUPPORTED_HTTP_SCHEMES = ["HTTP", "HTTPS"]


def validate_port_num_or_name(port: int | str, path: Path) -> ErrorList:
    if isinstance(port, int):
        return [field.invalid(path, port, m) for m in names.is_valid_port_num(port)]
    return [field.invalid(path, port, m) for m in names.is_valid_port_name(port)]


def _container_ports(ports: list[ContainerPort], path: Path) -> ErrorList:
    errs: ErrorList = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        p = path.index(i)
        if port.name:
            msgs = names.is_valid_port_name(port.name)
            if msgs:
                errs += [field.invalid(p.child("name"), port.name, m) for m in msgs]
            elif port.name in seen:
                errs.append(field.duplicate(p.child("name"), port.name))
            seen.add(port.name)
        if port.container_port == 0:
            errs.append(field.required(p.child("containerPort")))
        else:
            errs += [
                field.invalid(p.child("containerPort"), port.container_port, m)
                for m in names.is_valid_port_num(port.container_port)
            ]
        if port.host_port != 0:
            errs += [
                field.invalid(p.child("hostPort"), port.host_port, m)
                for m in names.is_valid_port_num(port.host_port)
            ]
        if not port.protocol:
            errs.append(field.required(p.child("protocol")))
        elif port.protocol not in SUPPORTED_PORT_PROTOCOLS:
            errs.append(
                field.not_supported(p.child("protocol"), port.protocol, SUPPORTED_PORT_PROTOCOLS)
            )
    return errs


def _env(env: list[EnvVar], path: Path) -> ErrorList:
    errs: ErrorList = []
    for i, ev in enumerate(env):
        p = path.index(i)
        if not ev.name:
            errs.append(field.required(p.child("name")))
        else:
            errs += [
                field.invalid(p.child("name"), ev.name, m) for m in names.is_env_var_name(ev.name)
            ]
        src = ev.value_from
        if src is None:
            continue
        count = sum(
            x is not None
            for x in (
                src.field_ref,
                src.resource_field_ref,
                src.config_map_key_ref,
                src.secret_key_ref,
            )
        )
        vp = p.child("valueFrom")
        if count == 0:
            errs.append(
                field.invalid(
                    vp,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                )
            )
        elif ev.value:
            errs.append(field.invalid(vp, "", "may not be specified when `value` is not empty"))
        elif count > 1:
            errs.append(
                field.invalid(vp, "", "may not have more than one field specified at a time")
            )
    return errs


def _volume_mounts(c: Container, volumes: set[str], path: Path) -> ErrorList:
    errs: ErrorList = []
    seen: set[str] = set()
    for i, m in enumerate(c.volume_mounts):
        p = path.index(i)
        if not m.name:
            errs.append(field.required(p.child("name")))
        elif m.name not in volumes:
            errs.append(field.not_found(p.child("name"), m.name))
        if not m.mount_path:
            errs.append(field.required(p.child("mountPath")))
        if m.mount_path in seen:
            errs.append(field.invalid(p.child("mountPath"), m.mount_path, "must be unique"))
        seen.add(m.mount_path)
    return errs


def _handler(h: LifecycleHandler | Probe, path: Path) -> ErrorList:
    errs: ErrorList = []
    count = 0
    for attr, wire in (
        ("exec", "exec"),
        ("http_get", "httpGet"),
        ("tcp_socket", "tcpSocket"),
        ("grpc", "grpc"),
        ("sleep", "sleep"),
    ):
        action = getattr(h, attr, None)
        if action is None:
            continue
        if count > 0:
            errs.append(
                field.forbidden(path.child(wire), "may not specify more than 1 handler type")
            )
            continue
        count += 1
        p = path.child(wire)
        if attr == "exec" and not action.command:
            errs.append(field.required(p.child("command")))
        elif attr == "http_get":
            if not action.path:
                errs.append(field.required(p.child("path")))
            errs += validate_port_num_or_name(action.port, p.child("port"))
            if action.scheme not in SUPPORTED_HTTP_SCHEMES:
                errs.append(
                    field.not_supported(p.child("scheme"), action.scheme, SUPPORTED_HTTP_SCHEMES)
                )
        elif attr == "tcp_socket" or attr == "grpc":
            errs += validate_port_num_or_name(action.port, p.child("port"))
    if count == 0:
        errs.append(field.required(path, "must specify a handler type"))
    return errs


def _probe(probe: Probe | None, path: Path) -> ErrorList:
    if probe is None:
        return []
    errs = _handler(probe, path)
    for attr, wire in (
        ("initial_delay_seconds", "initialDelaySeconds"),
        ("timeout_seconds", "timeoutSeconds"),
        ("period_seconds", "periodSeconds"),
        ("success_threshold", "successThreshold"),
        ("failure_threshold", "failureThreshold"),
    ):
        errs += validate_nonnegative_field(getattr(probe, attr), path.child(wire))
    return errs


def _resources(c: Container, path: Path) -> ErrorList:
    errs: ErrorList = []
    zero = Quantity.parse("0")
    for kind in ("limits", "requests"):
        for name, q in getattr(c.resources, kind).items():
            if q < zero:
                errs.append(
                    field.invalid(
                        path.child(kind).key(name), str(q), "must be greater than or equal to 0"
                    )
                )
    for name, q in c.resources.requests.items():
        limit = c.resources.limits.get(name)
        if limit is not None and q > limit:
            msg = f"must be less than or equal to {name} limit of {limit}"
            errs.append(field.invalid(path.child("requests").key(name), str(q), msg))
    return errs


def _container(c: Container, volumes: set[str], p: Path) -> ErrorList:
    errs: ErrorList = []
    if not c.image:
        errs.append(field.required(p.child("image")))
    if c.lifecycle is not None:
        for attr, wire in (("post_start", "postStart"), ("pre_stop", "preStop")):
            h = getattr(c.lifecycle, attr)
            if h is not None:
                errs += _handler(h, p.child("lifecycle", wire))
    errs += _probe(c.liveness_probe, p.child("livenessProbe"))
    if c.liveness_probe is not None and c.liveness_probe.success_threshold != 1:
        errs.append(
            field.invalid(
                p.child("livenessProbe", "successThreshold"),
                c.liveness_probe.success_threshold,
                "must be 1",
            )
        )
    errs += _probe(c.startup_probe, p.child("startupProbe"))
    if c.startup_probe is not None and c.startup_probe.success_threshold != 1:
        errs.append(
            field.invalid(
                p.child("startupProbe", "successThreshold"),
                c.startup_probe.success_threshold,
                "must be 1",
            )
        )
    policy = c.termination_message_policy
    if not policy:
        errs.append(
            field.required(
                p.child("terminationMessagePolicy"), "must be 'File' or 'FallbackToLogsOnError'"
            )
        )
    elif policy not in ("File", "FallbackToLogsOnError"):
        errs.append(
            field.invalid(
                p.child("terminationMessagePolicy"),
                policy,
                "must be 'File' or 'FallbackToLogsOnError'",
            )
        )
    errs += _probe(c.readiness_probe, p.child("readinessProbe"))
    errs += _container_ports(c.ports, p.child("ports"))
    errs += _env(c.env, p.child("env"))
    errs += _volume_mounts(c, volumes, p.child("volumeMounts"))
    if not c.image_pull_policy:
        errs.append(field.required(p.child("imagePullPolicy")))
    elif c.image_pull_policy not in SUPPORTED_PULL_POLICIES:
        errs.append(
            field.not_supported(
                p.child("imagePullPolicy"), c.image_pull_policy, SUPPORTED_PULL_POLICIES
            )
        )
    return errs + _resources(c, p.child("resources"))


def _host_port_conflicts(containers: list[Container], path: Path) -> ErrorList:
    errs: ErrorList = []
    seen: set[str] = set()
    for ci, c in enumerate(containers):
        for pi, port in enumerate(c.ports):
            if port.host_port == 0:
                continue
            key = f"{port.protocol}/{port.host_ip}/{port.host_port}"
            if key in seen:
                errs.append(
                    field.duplicate(path.index(ci).child("ports").index(pi).child("hostPort"), key)
                )
            seen.add(key)
    return errs


def _container_name(c: Container, p: Path, seen: set[str]) -> ErrorList:
    """A container's name: required, a DNS label, unique among `seen` (which it joins)."""
    errs: ErrorList = []
    if not c.name:
        errs.append(field.required(p.child("name")))
    else:
        errs += [field.invalid(p.child("name"), c.name, m) for m in names.is_dns1123_label(c.name)]
    if c.name in seen:
        errs.append(field.duplicate(p.child("name"), c.name))
    seen.add(c.name)
    return errs


def validate_containers(containers: list[Container], volumes: set[str], path: Path) -> ErrorList:
    """validateContainers: at least one; unique DNS-label names; each container's fields."""
    if not containers:
        return [field.required(path)]
    errs: ErrorList = []
    seen: set[str] = set()
    for i, c in enumerate(containers):
        p = path.index(i)
        errs += _container_name(c, p, seen)
        errs += _container(c, volumes, p)
    return errs + _host_port_conflicts(containers, path)


def validate_init_containers(
    init: list[Container], others: list[Container], volumes: set[str], path: Path
) -> ErrorList:
    """validateInitContainers: names unique across all containers; no probes or hooks."""
    errs: ErrorList = []
    seen = {c.name for c in others}
    for i, c in enumerate(init):
        p = path.index(i)
        errs += _container_name(c, p, seen)
        errs += _container(c, volumes, p)
        sidecar = c.restart_policy == "Always"
        for attr, wire in (
            ("lifecycle", "lifecycle"),
            ("liveness_probe", "livenessProbe"),
            ("readiness_probe", "readinessProbe"),
        ):
            if getattr(c, attr) is not None and not sidecar:
                errs.append(
                    field.forbidden(
                        p.child(wire),
                        "may not be set for init containers without restartPolicy=Always",
                    )
                )
    return errs
