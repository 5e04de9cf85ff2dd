"""Validation of the other core/v1 kinds: Service, Node, Namespace, ConfigMap, Secret...

Mirrors kubernetes pkg/apis/core/validation/validation.go (ValidateService,
validateServicePort, ValidateNode, validateNodeTaints, ValidateNamespace,
ValidateConfigMap, ValidateSecret, ValidateServiceAccount, ValidateEvent,
ValidatePodBinding) with upstream's field paths and messages.
Omitted: dual-stack IP family rules, load balancer source ranges, node
status validation, the events.k8s.io reporting rules.
"""

from __future__ import annotations

import ipaddress

from miniapi.core import v1 as corev1
from miniapi.validation import field, names
from miniapi.validation.container import validate_port_num_or_name
from miniapi.validation.field import ErrorList, Path
from miniapi.validation.objectmeta import (
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
    validate_labels,
    validate_object_meta,
)

__all__ = [
    "validate_binding",
    "validate_config_map",
    "validate_endpoints",
    "validate_event",
    "validate_namespace",
    "validate_node",
    "validate_secret",
    "validate_service",
    "validate_service_account",
]

_META = field.new_path("metadata")
_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]


def _service_port(sp: corev1.ServicePort, require_name: bool, seen: set[str], p: Path) -> ErrorList:
    errs: ErrorList = []
    if require_name and not sp.name:
        errs.append(field.required(p.child("name")))
    elif sp.name:
        errs += [
            field.invalid(p.child("name"), sp.name, m) for m in names.is_dns1123_label(sp.name)
        ]
        if sp.name in seen:
            errs.append(field.duplicate(p.child("name"), sp.name))
        seen.add(sp.name)
    errs += [field.invalid(p.child("port"), sp.port, m) for m in names.is_valid_port_num(sp.port)]
    if not sp.protocol:
        errs.append(field.required(p.child("protocol")))
    elif sp.protocol not in _PROTOCOLS:
        errs.append(field.not_supported(p.child("protocol"), sp.protocol, _PROTOCOLS))
    if sp.target_port is not None:
        errs += validate_port_num_or_name(sp.target_port, p.child("targetPort"))
    if sp.node_port:
        errs += [
            field.invalid(p.child("nodePort"), sp.node_port, m)
            for m in names.is_valid_port_num(sp.node_port)
        ]
    return errs


def _cluster_ips(spec: corev1.ServiceSpec, path: Path) -> ErrorList:
    errs: ErrorList = []
    ips = spec.cluster_ips or ([spec.cluster_ip] if spec.cluster_ip else [])
    if spec.cluster_ip and spec.cluster_ips and spec.cluster_ips[0] != spec.cluster_ip:
        errs.append(
            field.invalid(
                path.child("clusterIPs"), spec.cluster_ips, "first value must match `clusterIP`"
            )
        )
    for i, ip in enumerate(ips):
        if ip == corev1.CLUSTER_IP_NONE and i == 0:
            continue
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            errs.append(
                field.invalid(
                    path.child("clusterIPs").index(i),
                    ip,
                    "must be empty, 'None', or a valid IP address",
                )
            )
    return errs


def validate_service(svc: corev1.Service) -> ErrorList:
    """ValidateService (create)."""
    errs = validate_object_meta(svc.metadata, True, name_is_dns1035_label, _META)
    spec, sp = svc.spec, field.new_path("spec")
    headless = spec.cluster_ip == corev1.CLUSTER_IP_NONE
    if spec.type == corev1.SERVICE_TYPE_EXTERNAL_NAME:
        if not spec.external_name:
            errs.append(field.required(sp.child("externalName")))
        else:
            errs += [
                field.invalid(sp.child("externalName"), spec.external_name, m)
                for m in names.is_dns1123_subdomain(spec.external_name)
            ]
    elif not spec.ports and not headless:
        errs.append(field.required(sp.child("ports")))
    seen: set[str] = set()
    for i, port in enumerate(spec.ports):
        errs += _service_port(port, len(spec.ports) > 1, seen, sp.child("ports").index(i))
        if spec.type == corev1.SERVICE_TYPE_CLUSTER_IP and port.node_port:
            errs.append(
                field.forbidden(
                    sp.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                )
            )
    errs += validate_labels(spec.selector, sp.child("selector"))
    if not spec.session_affinity:
        errs.append(field.required(sp.child("sessionAffinity")))
    elif spec.session_affinity not in ("ClientIP", "None"):
        errs.append(
            field.not_supported(
                sp.child("sessionAffinity"), spec.session_affinity, ["ClientIP", "None"]
            )
        )
    if not spec.type:
        errs.append(field.required(sp.child("type")))
    elif spec.type not in _SERVICE_TYPES:
        errs.append(field.not_supported(sp.child("type"), spec.type, _SERVICE_TYPES))
    return errs + _cluster_ips(spec, sp)


def validate_node(node: corev1.Node) -> ErrorList:
    """ValidateNode: name, taints, pod CIDRs."""
    errs = validate_object_meta(node.metadata, False, name_is_dns_subdomain, _META)
    tp = field.new_path("spec", "taints")
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(node.spec.taints):
        p = tp.index(i)
        errs += [field.invalid(p.child("key"), t.key, m) for m in names.is_qualified_name(t.key)]
        errs += [
            field.invalid(p.child("value"), t.value, m) for m in names.is_valid_label_value(t.value)
        ]
        if not t.effect:
            errs.append(field.required(p.child("effect")))
        elif t.effect not in _TAINT_EFFECTS:
            errs.append(field.not_supported(p.child("effect"), t.effect, _TAINT_EFFECTS))
        if (t.key, t.effect) in seen:
            errs.append(field.duplicate(p, f"{t.key}:{t.effect}"))
        seen.add((t.key, t.effect))
    for i, cidr in enumerate(
        node.spec.pod_cidrs or ([node.spec.pod_cidr] if node.spec.pod_cidr else [])
    ):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            errs.append(
                field.invalid(
                    field.new_path("spec", "podCIDRs").index(i),
                    cidr,
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                )
            )
    return errs


def validate_namespace(ns: corev1.Namespace) -> ErrorList:
    """ValidateNamespace: DNS label name, finalizer names."""
    errs = validate_object_meta(ns.metadata, False, name_is_dns_label, _META)
    fp = field.new_path("spec", "finalizers")
    for f in ns.spec.finalizers:
        msgs = names.is_qualified_name(f)
        errs += [field.invalid(fp, f, m) for m in msgs]
        if not msgs and f != corev1.FINALIZER_KUBERNETES and "/" not in f:
            errs.append(
                field.invalid(
                    fp, f, "name is neither a standard finalizer name nor is it fully qualified"
                )
            )
    return errs


def _keys(keys: list[str], path: Path) -> ErrorList:
    errs: ErrorList = []
    for k in keys:
        errs += [field.invalid(path.key(k), k, m) for m in names.is_config_map_key(k)]
    return errs


def validate_config_map(cm: corev1.ConfigMap) -> ErrorList:
    """ValidateConfigMap: key syntax, no key in both data and binaryData."""
    errs = validate_object_meta(cm.metadata, True, name_is_dns_subdomain, _META)
    errs += _keys(list(cm.data), field.new_path("data"))
    errs += _keys(list(cm.binary_data), field.new_path("binaryData"))
    for k in cm.data:
        if k in cm.binary_data:
            errs.append(
                field.invalid(
                    field.new_path("data").key(k), k, "duplicate of key present in binaryData"
                )
            )
    return errs


_REQUIRED_SECRET_KEYS = {
    corev1.SECRET_TYPE_DOCKER_CONFIG_JSON: (".dockerconfigjson",),
    corev1.SECRET_TYPE_TLS: ("tls.crt", "tls.key"),
    corev1.SECRET_TYPE_SSH_AUTH: ("ssh-privatekey",),
}


def validate_secret(secret: corev1.Secret) -> ErrorList:
    """ValidateSecret: key syntax and the keys each well-known type requires."""
    errs = validate_object_meta(secret.metadata, True, name_is_dns_subdomain, _META)
    dp = field.new_path("data")
    errs += _keys(list(secret.data), dp)
    for key in _REQUIRED_SECRET_KEYS.get(secret.type, ()):
        if key not in secret.data:
            errs.append(field.required(dp.key(key)))
    if secret.type == corev1.SECRET_TYPE_SERVICE_ACCOUNT_TOKEN:
        ann = "kubernetes.io/service-account.name"
        if not secret.metadata.annotations.get(ann):
            errs.append(field.required(_META.child("annotations").key(ann)))
    return errs


def validate_service_account(sa: corev1.ServiceAccount) -> ErrorList:
    return validate_object_meta(sa.metadata, True, name_is_dns_subdomain, _META)


def validate_event(ev: corev1.Event) -> ErrorList:
    """ValidateEvent (core/v1 form): metadata and the involved object's namespace."""
    errs = validate_object_meta(ev.metadata, True, name_is_dns_subdomain, _META)
    ns = ev.involved_object.namespace
    if ns and ns != ev.metadata.namespace:
        errs.append(
            field.invalid(
                field.new_path("involvedObject", "namespace"), ns, "does not match event.namespace"
            )
        )
    return errs


def validate_binding(b: corev1.Binding) -> ErrorList:
    """ValidatePodBinding: the target must be a Node, by name."""
    errs: ErrorList = []
    if b.target.kind and b.target.kind != "Node":
        errs.append(
            field.not_supported(
                field.new_path("target", "kind"), b.target.kind, ["Node", "<empty>"]
            )
        )
    if not b.target.name:
        errs.append(field.required(field.new_path("target", "name")))
    return errs


def validate_endpoints(ep: corev1.Endpoints) -> ErrorList:
    return validate_object_meta(ep.metadata, True, name_is_dns_subdomain, _META)
