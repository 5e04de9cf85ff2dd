"""What kubeadm's phases do once the API server answers: credentials, kubeconfig, kube-dns.

Mirrors kubeadm's certs and kubeconfig phases (a CA and a serving certificate whose SANs
include the address nodes use, an admin kubeconfig) and its CoreDNS addon phase (the
`kube-dns` Service at the tenth address of the service range, ports "dns" 53/UDP and
"dns-tcp" 53/TCP). Our DNS server runs on the host, not in a pod, so the Service has no
selector and a hand-made EndpointSlice points at the host bridge address: each node's
kube-proxy DNATs the ClusterIP there, exactly as it would to a CoreDNS pod.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from miniapiserver.auth import certs
from miniapiserver.auth.certs import Credentials
from minicluster.topology import Topology

DNS_PORTS = [("dns", "UDP"), ("dns-tcp", "TCP")]


def credentials(root: Path, t: Topology) -> Credentials:
    return certs.generate(root / "pki", hosts=("127.0.0.1", "localhost", t.bridge_ip))


def write_kubeconfig(path: Path, server: str, creds: Credentials, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(certs.kubeconfig(server, creds.ca_file, creds.token, name=name))
    path.chmod(0o600)


def kube_dns_service(t: Topology) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"},
        },
        "spec": {
            "clusterIP": t.dns_ip,
            "ports": [
                {"name": n, "port": 53, "protocol": p, "targetPort": 53} for n, p in DNS_PORTS
            ],
        },
    }


def kube_dns_endpoint_slice(t: Topology) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kube-dns-host",
            "namespace": "kube-system",
            "labels": {
                "kubernetes.io/service-name": "kube-dns",
                # Not the EndpointSlice controller's: it leaves slices it does not manage alone.
                "endpointslice.kubernetes.io/managed-by": "minicluster",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [t.bridge_ip], "conditions": {"ready": True}}],
        "ports": [{"name": n, "port": 53, "protocol": p} for n, p in DNS_PORTS],
    }


async def create_kube_dns(client, t: Topology) -> None:  # type: ignore[no-untyped-def]
    """POST the Service and its EndpointSlice (409 AlreadyExists is fine: `up` again)."""
    from miniapi.errors import StatusError

    for path, obj in (
        ("/api/v1/namespaces/kube-system/services", kube_dns_service(t)),
        (
            "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
            kube_dns_endpoint_slice(t),
        ),
    ):
        try:
            await client.request("POST", path, body=json.dumps(obj).encode())
        except StatusError as e:
            if e.code != 409:
                raise


def node_ready(node: dict) -> bool:
    conds = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


async def wait_nodes_ready(client, names: set[str], timeout: float, check=None) -> None:  # type: ignore[no-untyped-def]
    """Poll until every named Node is Ready; check() may raise to give up early."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            nodes = (await client.request("GET", "/api/v1/nodes"))["items"]
        except Exception:  # the API server may be busy on a loaded machine; ask again
            nodes = []
        ready = {n["metadata"]["name"] for n in nodes if node_ready(n)}
        if names <= ready:
            return
        if check is not None:
            check()
        if loop.time() > deadline:
            raise TimeoutError(f"nodes not Ready after {timeout:.0f}s: {sorted(names - ready)}")
        await asyncio.sleep(0.5)
