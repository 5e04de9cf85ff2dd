"""What kubeadm's phases do once the API server answers: credentials, kubeconfig, kube-dns.

Mirrors kubeadm's certs and kubeconfig phases (a CA and a serving certificate whose SANs
include the address nodes use, the ServiceAccount signing key sa.key, an admin kubeconfig for
the user and one kubeconfig per component with its own token: controller-manager.conf,
scheduler.conf, kube-proxy.conf, kubelet-<node>.conf) and its CoreDNS addon phase (the
`kube-dns` Service at the tenth address of the service range, ports "dns" 53/UDP and
"dns-tcp" 53/TCP). Our DNS server runs on the host, not in a pod, so the Service has no
selector and a hand-made EndpointSlice points at the host bridge address: each node's
kube-proxy DNATs the ClusterIP there, exactly as it would to a CoreDNS pod.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

from miniapiserver.auth import certs
from miniapiserver.auth.certs import Credentials
from minicluster.topology import Topology

DNS_PORTS = [("dns", "UDP"), ("dns-tcp", "TCP")]


def credentials(root: Path, t: Topology) -> Credentials:
    return certs.generate(root / "pki", hosts=("127.0.0.1", "localhost", t.bridge_ip))


def service_account_key(root: Path) -> Path:
    """kubeadm's `certs sa` phase: the key that signs ServiceAccount tokens (TokenRequest)."""
    return certs.service_account_key(root / "pki")


def write_kubeconfig(path: Path, server: str, creds: Credentials, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(certs.kubeconfig(server, creds.ca_file, creds.token, name=name))
    path.chmod(0o600)


def component_identities(t: Topology) -> list[tuple[str, str, str]]:
    """(kubeconfig file as kubeadm names it, user, groups): one identity per component.

    The users are the ones upstream's default policy binds (system:kube-scheduler,
    system:kube-controller-manager, system:kube-proxy) and the Node authorizer recognises
    (system:node:<name> in system:nodes). Hollow nodes share one process, so they keep
    the admin kubeconfig.
    """
    out = [
        ("controller-manager.conf", "system:kube-controller-manager", ""),
        ("scheduler.conf", "system:kube-scheduler", ""),
        ("kube-proxy.conf", "system:kube-proxy", ""),
    ]
    out += [(f"kubelet-{n.name}.conf", f"system:node:{n.name}", "system:nodes") for n in t.nodes]
    return out


def component_tokens(token_file: Path, identities: list[tuple[str, str, str]]) -> dict[str, str]:
    """Add a line to tokens.csv for each user that has none (before the API server reads it);
    user -> token. `up` again reuses the tokens already there."""
    tokens: dict[str, str] = {}
    for line in token_file.read_text().splitlines():
        fields = line.split(",")
        if len(fields) >= 2:
            tokens.setdefault(fields[1], fields[0])
    lines = []
    for _, user, groups in identities:
        if user not in tokens:
            tokens[user] = secrets.token_hex(16)
            group_field = f',"{groups}"' if groups else ""
            lines.append(f"{tokens[user]},{user},{user}{group_field}\n")
    if lines:
        with token_file.open("a") as f:
            f.writelines(lines)
    return tokens


def write_component_kubeconfigs(
    root: Path,
    server: str,
    creds: Credentials,
    identities: list[tuple[str, str, str]],
    tokens: dict[str, str],
    cluster: str,
) -> dict[str, str]:
    """kubeadm's kubeconfig phase for the components: file name -> path under root."""
    out = {}
    for name, user, _ in identities:
        path = root / name
        path.write_text(certs.kubeconfig(server, creds.ca_file, tokens[user], cluster, user))
        path.chmod(0o600)
        out[name] = str(path)
    return out


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
            missing = sorted(names - ready)
            raise TimeoutError(f"{len(missing)} nodes not Ready after {timeout:.0f}s: "
                               f"{missing[:10]}")  # fmt: skip
        # A list of a thousand hollow Nodes is megabytes: ask less often then.
        await asyncio.sleep(0.5 if len(names) < 100 else 3.0)


async def wait_default_service_account(client, namespace: str, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Wait for what the ServiceAccount admission plugin needs before a pod is accepted in
    namespace: its `default` ServiceAccount and its `kube-root-ca.crt` ConfigMap (made by the
    controller manager's serviceaccount and root-ca publisher controllers)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    paths = (
        f"/api/v1/namespaces/{namespace}/serviceaccounts/default",
        f"/api/v1/namespaces/{namespace}/configmaps/kube-root-ca.crt",
    )
    for path in paths:
        while True:
            try:
                await client.request("GET", path)
                break
            except Exception:  # not made yet (404) or a busy API server: ask again
                if loop.time() > deadline:
                    raise TimeoutError(f"{path} missing after {timeout:.0f}s") from None
                await asyncio.sleep(0.2)
