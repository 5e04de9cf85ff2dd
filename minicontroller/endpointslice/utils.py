"""From pods to endpoints: which pods count, their conditions, their ports.

Mirrors k8s.io/endpointslice/utils.go and pkg/controller/endpointslice/utils.go
(podToEndpoint, getEndpointPorts, ShouldPodBeInEndpoints, the port-map key,
the managed-by and service-name labels, ownerReferences to the Service) and
podutil.FindPort for named target ports.
Conditions: ready = pod Ready and not terminating (or the service publishes
not-ready addresses); serving = pod Ready; terminating = deletionTimestamp set.
Omitted: zones and hints (no node informer), hostname/subdomain, dual stack
(IPv4 only).
"""

from __future__ import annotations

from miniapi.core import v1 as corev1
from miniapi.discovery import v1 as discoveryv1
from miniapi.meta import v1 as metav1
from minicontroller.controller_utils import is_pod_ready

__all__ = [
    "CONTROLLER_NAME",
    "LABEL_MANAGED_BY",
    "LABEL_SERVICE_NAME",
    "endpoint_ports",
    "pod_to_endpoint",
    "port_key",
    "should_pod_be_in_endpoints",
]

LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"


def should_pod_be_in_endpoints(pod: corev1.Pod) -> bool:
    """Has an IP and is not finished (terminating pods stay, flagged)."""
    if not pod.status.pod_ip:
        return False
    return pod.status.phase not in ("Succeeded", "Failed")


def find_port(pod: corev1.Pod, port: corev1.ServicePort) -> int | None:
    """The container port a service port targets (by number, or by name in the pod)."""
    target = port.target_port
    if target is None or target == "" or target == 0:
        return port.port
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    for container in pod.spec.containers:
        for cp in container.ports:
            if cp.name == target and (cp.protocol or "TCP") == (port.protocol or "TCP"):
                return cp.container_port
    return None


def endpoint_ports(service: corev1.Service, pod: corev1.Pod) -> list[discoveryv1.EndpointPort]:
    """One EndpointPort per service port this pod can serve."""
    out = []
    for port in service.spec.ports:
        number = find_port(pod, port)
        if number is None:
            continue  # a named port this pod does not have
        out.append(
            discoveryv1.EndpointPort(
                name=port.name,
                protocol=port.protocol or "TCP",
                port=number,
                app_protocol=port.app_protocol,
            )
        )
    return out


def port_key(ports: list[discoveryv1.EndpointPort]) -> tuple:
    """Slices are grouped by their exact port set (endpointutil.NewPortMapKey)."""
    return tuple(sorted((p.name or "", p.protocol or "", p.port or 0) for p in ports))


def pod_to_endpoint(pod: corev1.Pod, service: corev1.Service) -> discoveryv1.Endpoint:
    terminating = pod.metadata.deletion_timestamp is not None
    ready = service.spec.publish_not_ready_addresses or (is_pod_ready(pod) and not terminating)
    return discoveryv1.Endpoint(
        addresses=[pod.status.pod_ip],
        conditions=discoveryv1.EndpointConditions(
            ready=ready, serving=is_pod_ready(pod), terminating=terminating
        ),
        node_name=pod.spec.node_name or None,
        target_ref=corev1.ObjectReference(
            kind="Pod",
            namespace=pod.metadata.namespace,
            name=pod.metadata.name,
            uid=pod.metadata.uid,
        ),
    )


def service_owner_reference(service: corev1.Service) -> metav1.OwnerReference:
    return metav1.OwnerReference(
        api_version="v1",
        kind="Service",
        name=service.metadata.name,
        uid=service.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )
