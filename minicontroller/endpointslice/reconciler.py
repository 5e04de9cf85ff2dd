"""Plan the EndpointSlice writes that make a Service's slices match its pods.

Mirrors k8s.io/endpointslice/reconciler.go (reconcile, reconcileByAddressType,
the placeholder slice) and reconciler_helpers.go (slicesToCreate/Update/Delete,
filling slices that are already being updated before slices left untouched,
then opening new ones). Pure: desired endpoints and existing slices in, a
`Plan` out; the controller performs the plan.
Contract: afterwards every desired endpoint is in exactly one slice of its
port set, no slice holds more than max_endpoints_per_slice, unchanged slices
are not written, and reconciling the result again plans nothing.
Omitted: the topology/hints pass, dual stack (IPv4 slices only), the
"fewer, fuller slices" rebalancing of mostly-empty slices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.discovery import v1 as discoveryv1
from miniapi.meta import v1 as metav1
from minicontroller.endpointslice.utils import (
    CONTROLLER_NAME,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    endpoint_ports,
    pod_to_endpoint,
    port_key,
    service_owner_reference,
    should_pod_be_in_endpoints,
)

__all__ = ["Plan", "desired_endpoints", "reconcile"]

ADDRESS_TYPE = "IPv4"


@dataclass
class Plan:
    create: list[discoveryv1.EndpointSlice] = field(default_factory=list)
    update: list[discoveryv1.EndpointSlice] = field(default_factory=list)
    delete: list[discoveryv1.EndpointSlice] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def _ep_key(ep: discoveryv1.Endpoint) -> tuple:
    return tuple(ep.addresses)


def desired_endpoints(
    service: corev1.Service, pods: list[corev1.Pod]
) -> dict[tuple, tuple[list[discoveryv1.EndpointPort], dict[tuple, discoveryv1.Endpoint]]]:
    """port key -> (ports, endpoint key -> endpoint) for the pods that belong in the slices."""
    out: dict[tuple, tuple[list, dict]] = {}
    for pod in sorted(pods, key=lambda p: p.metadata.name):
        if not should_pod_be_in_endpoints(pod) or ":" in pod.status.pod_ip:
            continue
        ports = endpoint_ports(service, pod)
        ep = pod_to_endpoint(pod, service)
        out.setdefault(port_key(ports), (ports, {}))[1].setdefault(_ep_key(ep), ep)
    return out


def _new_slice(service: corev1.Service, ports: list, endpoints: list) -> discoveryv1.EndpointSlice:
    lbls = {
        **service.metadata.labels,
        LABEL_SERVICE_NAME: service.metadata.name,
        LABEL_MANAGED_BY: CONTROLLER_NAME,
    }
    return discoveryv1.EndpointSlice(
        metadata=metav1.ObjectMeta(
            generate_name=f"{service.metadata.name}-",
            namespace=service.metadata.namespace,
            labels=lbls,
            owner_references=[service_owner_reference(service)],
        ),
        address_type=ADDRESS_TYPE,
        endpoints=endpoints,
        ports=ports,
    )


def _is_placeholder(s: discoveryv1.EndpointSlice) -> bool:
    return not s.endpoints and not s.ports


def reconcile(
    service: corev1.Service,
    pods: list[corev1.Pod],
    existing: list[discoveryv1.EndpointSlice],
    max_endpoints_per_slice: int = 100,
) -> Plan:
    """The creates, updates and deletes that bring existing in line with pods."""
    plan = Plan()
    desired = desired_endpoints(service, pods)
    by_key: dict[tuple, list[discoveryv1.EndpointSlice]] = {}
    for s in sorted(existing, key=lambda s: s.metadata.name):
        if s.address_type != ADDRESS_TYPE or port_key(s.ports) not in desired:
            plan.delete.append(s)
        else:
            by_key.setdefault(port_key(s.ports), []).append(s)
    for key, (ports, endpoints) in desired.items():
        _reconcile_port_set(
            service, ports, endpoints, by_key.get(key, []), max_endpoints_per_slice, plan
        )
    if not desired:
        _keep_placeholder(service, plan)
    return plan


def _reconcile_port_set(service, ports, endpoints, slices, max_per, plan: Plan) -> None:
    placed: set[tuple] = set()
    updating: list[discoveryv1.EndpointSlice] = []
    untouched: list[discoveryv1.EndpointSlice] = []
    for s in slices:
        kept = []
        for ep in s.endpoints:
            key = _ep_key(ep)
            if key in endpoints and key not in placed:
                placed.add(key)
                kept.append(endpoints[key])
        for ep in kept[max_per:]:
            placed.discard(_ep_key(ep))  # max lowered: the overflow is placed again below
        kept = kept[:max_per]
        if not kept:
            plan.delete.append(s)
        elif kept != s.endpoints:
            updating.append(replace(s, endpoints=kept))
        else:
            untouched.append(s)
    missing = [ep for key, ep in endpoints.items() if key not in placed]
    # Fill slices we write anyway first, then untouched ones, then open new slices.
    for group, is_update in ((updating, True), (untouched, False)):
        for i, s in enumerate(group):
            room = max_per - len(s.endpoints)
            if not missing or room <= 0:
                continue
            group[i] = replace(s, endpoints=[*s.endpoints, *missing[:room]])
            missing = missing[room:]
            if not is_update:
                updating.append(group[i])
    plan.update.extend(updating)
    for start in range(0, len(missing), max_per):
        plan.create.append(_new_slice(service, ports, missing[start : start + max_per]))


def _keep_placeholder(service: corev1.Service, plan: Plan) -> None:
    """No endpoints at all: exactly one empty slice remains (upstream's placeholder)."""
    for i, s in enumerate(plan.delete):
        if _is_placeholder(s) and s.address_type == ADDRESS_TYPE:
            del plan.delete[i]
            return
    plan.create.append(_new_slice(service, [], []))
