"""Validation of Pod, PodSpec and pod templates.

Mirrors kubernetes pkg/apis/core/validation/validation.go (ValidatePod,
ValidatePodSpec, ValidateVolumes, validateRestartPolicy, validateDNSPolicy,
ValidateTolerations, validateAffinity, ValidateNodeSelector,
validateTopologySpreadConstraints, validateSchedulingGates, ValidatePodTemplateSpec,
validateContainersOnlyForPod) with upstream's field paths and messages.
Omitted: pod updates (only some fields are mutable upstream, and scheduling
gates may only be removed), security
contexts, resource claims, overhead, OS-specific rules.
"""

from __future__ import annotations

from miniapi.core.v1 import (
    Affinity,
    NodeSelectorTerm,
    Pod,
    PodAffinityTerm,
    PodSchedulingGate,
    PodSpec,
    PodTemplateSpec,
    Toleration,
    Volume,
)
from miniapi.validation import field, names
from miniapi.validation.container import validate_containers, validate_init_containers
from miniapi.validation.field import ErrorList, Path
from miniapi.validation.objectmeta import (
    name_is_dns_subdomain,
    validate_label_selector,
    validate_labels,
    validate_nonnegative_field,
    validate_object_meta,
)

__all__ = [
    "validate_pod",
    "validate_pod_spec",
    "validate_pod_template_spec",
    "validate_tolerations",
]

_VOLUME_SOURCES = (
    "host_path",
    "empty_dir",
    "secret",
    "persistent_volume_claim",
    "downward_api",
    "config_map",
    "projected",
)
_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_NODE_SELECTOR_OPS = ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]


def _volumes(volumes: list[Volume], path: Path) -> tuple[set[str], ErrorList]:
    errs: ErrorList = []
    seen: set[str] = set()
    for i, v in enumerate(volumes):
        p = path.index(i)
        if not v.name:
            errs.append(field.required(p.child("name")))
        else:
            errs += [
                field.invalid(p.child("name"), v.name, m) for m in names.is_dns1123_label(v.name)
            ]
        if v.name in seen:
            errs.append(field.duplicate(p.child("name"), v.name))
        if v.name:
            seen.add(v.name)
        set_sources = [s for s in _VOLUME_SOURCES if getattr(v, s) is not None]
        if not set_sources:
            errs.append(field.required(p, "must specify a volume type"))
        elif len(set_sources) > 1:
            errs.append(field.forbidden(p, "may not specify more than 1 volume type"))
        if v.host_path is not None and not v.host_path.path:
            errs.append(field.required(p.child("hostPath", "path")))
    return seen, errs


def _restart_policy(policy: str, path: Path) -> ErrorList:
    if not policy:
        return [field.required(path)]
    return (
        []
        if policy in _RESTART_POLICIES
        else [field.not_supported(path, policy, _RESTART_POLICIES)]
    )


def _dns_policy(policy: str, path: Path) -> ErrorList:
    if not policy:
        return [field.required(path)]
    return [] if policy in _DNS_POLICIES else [field.not_supported(path, policy, _DNS_POLICIES)]


def validate_tolerations(tolerations: list[Toleration], path: Path) -> ErrorList:
    """ValidateTolerations."""
    errs: ErrorList = []
    for i, t in enumerate(tolerations):
        p = path.index(i)
        if t.key:
            errs += [
                field.invalid(p.child("key"), t.key, m) for m in names.is_qualified_name(t.key)
            ]
        if not t.key and t.operator != "Exists":
            errs.append(
                field.invalid(
                    p.child("operator"),
                    t.operator,
                    'operator must be Exists when `key` is empty, which means "match all values and all keys"',
                )
            )
        if t.toleration_seconds is not None and t.effect != "NoExecute":
            errs.append(
                field.invalid(
                    p.child("effect"),
                    t.effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if t.operator in ("Equal", ""):
            msgs = names.is_valid_label_value(t.value)
            if msgs:
                errs.append(field.invalid(p.child("operator"), t.value, ";".join(msgs)))
        elif t.operator == "Exists":
            if t.value:
                errs.append(
                    field.invalid(
                        p.child("operator"),
                        str(t),
                        "value must be empty when `operator` is 'Exists'",
                    )
                )
        else:
            errs.append(field.not_supported(p.child("operator"), t.operator, ["Equal", "Exists"]))
        if t.effect and t.effect not in _TAINT_EFFECTS:
            errs.append(field.not_supported(p.child("effect"), t.effect, _TAINT_EFFECTS))
    return errs


def _node_selector_term(term: NodeSelectorTerm, path: Path) -> ErrorList:
    errs: ErrorList = []
    for i, req in enumerate(term.match_expressions):
        p = path.child("matchExpressions").index(i)
        if req.operator in ("In", "NotIn") and not req.values:
            errs.append(
                field.required(
                    p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"
                )
            )
        elif req.operator in ("Exists", "DoesNotExist") and req.values:
            errs.append(
                field.forbidden(
                    p.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
        elif req.operator in ("Gt", "Lt") and len(req.values) != 1:
            errs.append(
                field.required(
                    p.child("values"),
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                )
            )
        elif req.operator not in _NODE_SELECTOR_OPS:
            errs.append(
                field.invalid(p.child("operator"), req.operator, "not a valid selector operator")
            )
        errs += [
            field.invalid(p.child("key"), req.key, m) for m in names.is_qualified_name(req.key)
        ]
    return errs


def _pod_affinity_term(term: PodAffinityTerm, path: Path) -> ErrorList:
    errs = validate_label_selector(term.label_selector, path.child("labelSelector"))
    errs += validate_label_selector(term.namespace_selector, path.child("namespaceSelector"))
    for ns in term.namespaces:
        errs += [field.invalid(path.child("namespace"), ns, m) for m in names.is_dns1123_label(ns)]
    if not term.topology_key:
        errs.append(field.required(path.child("topologyKey"), "can not be empty"))
    else:
        errs += [
            field.invalid(path.child("topologyKey"), term.topology_key, m)
            for m in names.is_qualified_name(term.topology_key)
        ]
    return errs


def _weight(weight: int, path: Path) -> ErrorList:
    return [] if 1 <= weight <= 100 else [field.invalid(path, weight, "must be in the range 1-100")]


def _affinity(a: Affinity | None, path: Path) -> ErrorList:
    if a is None:
        return []
    errs: ErrorList = []
    na = a.node_affinity
    if na is not None:
        req = na.required_during_scheduling_ignored_during_execution
        rp = path.child("nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
        if req is not None and not req.node_selector_terms:
            errs.append(
                field.required(
                    rp.child("nodeSelectorTerms"), "must have at least one node selector term"
                )
            )
        for i, term in enumerate(req.node_selector_terms if req else []):
            errs += _node_selector_term(term, rp.child("nodeSelectorTerms").index(i))
        pp = path.child("nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
        for i, pref in enumerate(na.preferred_during_scheduling_ignored_during_execution):
            errs += _weight(pref.weight, pp.index(i).child("weight"))
            errs += _node_selector_term(pref.preference, pp.index(i).child("preference"))
    for attr, wire in (("pod_affinity", "podAffinity"), ("pod_anti_affinity", "podAntiAffinity")):
        pa = getattr(a, attr)
        if pa is None:
            continue
        rp = path.child(wire, "requiredDuringSchedulingIgnoredDuringExecution")
        for i, term in enumerate(pa.required_during_scheduling_ignored_during_execution):
            errs += _pod_affinity_term(term, rp.index(i))
        pp = path.child(wire, "preferredDuringSchedulingIgnoredDuringExecution")
        for i, w in enumerate(pa.preferred_during_scheduling_ignored_during_execution):
            errs += _weight(w.weight, pp.index(i).child("weight"))
            errs += _pod_affinity_term(w.pod_affinity_term, pp.index(i).child("podAffinityTerm"))
    return errs


def _topology_spread(spec: PodSpec, path: Path) -> ErrorList:
    errs: ErrorList = []
    seen: set[tuple[str, str]] = set()
    for i, c in enumerate(spec.topology_spread_constraints):
        p = path.index(i)
        if c.max_skew <= 0:
            errs.append(field.invalid(p.child("maxSkew"), c.max_skew, "must be greater than zero"))
        if not c.topology_key:
            errs.append(field.required(p.child("topologyKey"), "can not be empty"))
        if c.when_unsatisfiable not in ("DoNotSchedule", "ScheduleAnyway"):
            errs.append(
                field.not_supported(
                    p.child("whenUnsatisfiable"),
                    c.when_unsatisfiable,
                    ["DoNotSchedule", "ScheduleAnyway"],
                )
            )
        pair = (c.topology_key, c.when_unsatisfiable)
        if pair in seen:
            errs.append(field.duplicate(p, "{" + f"{pair[0]}, {pair[1]}" + "}"))
        seen.add(pair)
        errs += validate_label_selector(c.label_selector, p.child("labelSelector"))
    return errs


def _scheduling_gates(gates: list[PodSchedulingGate], path: Path) -> ErrorList:
    """validateSchedulingGates: each name is a qualified name, and none repeats."""
    errs: ErrorList = []
    seen: set[str] = set()
    for i, gate in enumerate(gates):
        errs += [
            field.invalid(path.index(i), gate.name, m) for m in names.is_qualified_name(gate.name)
        ]
        if gate.name in seen:
            errs.append(field.duplicate(path.index(i), gate.name))
        seen.add(gate.name)
    return errs


def validate_pod_spec(spec: PodSpec, path: Path) -> ErrorList:
    """ValidatePodSpec."""
    volumes, errs = _volumes(spec.volumes, path.child("volumes"))
    errs += validate_containers(spec.containers, volumes, path.child("containers"))
    errs += validate_init_containers(
        spec.init_containers, spec.containers, volumes, path.child("initContainers")
    )
    errs += _restart_policy(spec.restart_policy, path.child("restartPolicy"))
    errs += _dns_policy(spec.dns_policy, path.child("dnsPolicy"))
    errs += validate_labels(spec.node_selector, path.child("nodeSelector"))
    errs += _affinity(spec.affinity, path.child("affinity"))
    if spec.service_account_name:
        errs += [
            field.invalid(path.child("serviceAccountName"), spec.service_account_name, m)
            for m in name_is_dns_subdomain(spec.service_account_name, False)
        ]
    if spec.node_name:
        errs += [
            field.invalid(path.child("nodeName"), spec.node_name, m)
            for m in name_is_dns_subdomain(spec.node_name, False)
        ]
    if (
        spec.active_deadline_seconds is not None
        and not 1 <= spec.active_deadline_seconds <= 2**31 - 1
    ):
        errs.append(
            field.invalid(
                path.child("activeDeadlineSeconds"),
                spec.active_deadline_seconds,
                names.inclusive_range_error(1, 2**31 - 1),
            )
        )
    if spec.termination_grace_period_seconds is not None:
        errs += validate_nonnegative_field(
            spec.termination_grace_period_seconds, path.child("terminationGracePeriodSeconds")
        )
    if spec.hostname:
        errs += [
            field.invalid(path.child("hostname"), spec.hostname, m)
            for m in names.is_dns1123_label(spec.hostname)
        ]
    errs += validate_tolerations(spec.tolerations, path.child("tolerations"))
    errs += _topology_spread(spec, path.child("topologySpreadConstraints"))
    for i, gate in enumerate(spec.readiness_gates):
        errs += [
            field.invalid(
                path.child("readinessGates").index(i).child("conditionType"), gate.condition_type, m
            )
            for m in names.is_qualified_name(gate.condition_type)
        ]
    return errs + _scheduling_gates(spec.scheduling_gates, path.child("schedulingGates"))


def _only_for_pod(spec: PodSpec, path: Path) -> ErrorList:
    errs: ErrorList = []
    for wire, containers in (
        ("containers", spec.containers),
        ("initContainers", spec.init_containers),
    ):
        for i, c in enumerate(containers):
            if c.image != c.image.strip():
                errs.append(
                    field.invalid(
                        path.child(wire).index(i).child("image"),
                        c.image,
                        "must not have leading or trailing whitespace",
                    )
                )
    return errs


def validate_pod(pod: Pod) -> ErrorList:
    """ValidatePodCreate: metadata (namespaced, DNS subdomain name) and spec."""
    errs = validate_object_meta(
        pod.metadata, True, name_is_dns_subdomain, field.new_path("metadata")
    )
    errs += validate_pod_spec(pod.spec, field.new_path("spec"))
    return errs + _only_for_pod(pod.spec, field.new_path("spec"))


def validate_pod_template_spec(t: PodTemplateSpec, path: Path) -> ErrorList:
    """ValidatePodTemplateSpec: labels, annotations and the spec (no name needed)."""
    errs = validate_labels(t.metadata.labels, path.child("metadata", "labels"))
    return errs + validate_pod_spec(t.spec, path.child("spec"))
