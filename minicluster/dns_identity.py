"""The cluster DNS server's own identity: the ServiceAccount kube-system/coredns.

Mirrors what kubeadm's CoreDNS addon phase applies (cmd/kubeadm/app/phases/addons/dns/
manifests.go: the ServiceAccount `coredns`, the ClusterRole `system:coredns` that lists and
watches endpoints, services, pods, namespaces and EndpointSlices, and its ClusterRoleBinding)
and the token a CoreDNS pod would get from its projected kube-api-access volume. Our DNS
server runs on the host, not in a pod, so the token comes from the TokenRequest API and goes
into a kubeconfig, coredns.conf.
Omitted: token rotation (one year-long token; a kubelet refreshes a pod's before it expires).
"""

from __future__ import annotations

import json
from pathlib import Path

from miniapi.errors import StatusError
from miniapiserver.auth import certs
from miniapiserver.auth.certs import Credentials
from miniclient.rest import Client

NAMESPACE, NAME, ROLE = "kube-system", "coredns", "system:coredns"
TOKEN_SECONDS = 365 * 24 * 3600
RBAC = "rbac.authorization.k8s.io"


def objects() -> list[tuple[str, dict]]:
    """(collection path, object) for the ServiceAccount, ClusterRole and ClusterRoleBinding."""
    lw = ["list", "watch"]
    role = {
        "apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
        "metadata": {"name": ROLE, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "rules": [
            {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
             "verbs": lw},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": lw},
        ],
    }  # fmt: skip
    binding = {
        "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": ROLE},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
    }  # fmt: skip
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME}}
    return [
        (f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts", sa),
        (f"/apis/{RBAC}/v1/clusterroles", role),
        (f"/apis/{RBAC}/v1/clusterrolebindings", binding),
    ]


async def write_kubeconfig(
    admin: Client, path: Path, server: str, creds: Credentials, cluster: str
) -> str:
    """Create the objects (409 is fine: `up` again), mint a token, write coredns.conf."""
    for collection, obj in objects():
        try:
            await admin.request("POST", collection, body=json.dumps(obj).encode())
        except StatusError as e:
            if e.code != 409:
                raise
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": TOKEN_SECONDS},
    }
    token_path = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{NAME}/token"
    out = await admin.request("POST", token_path, body=json.dumps(request).encode())
    user = f"system:serviceaccount:{NAMESPACE}:{NAME}"
    path.write_text(certs.kubeconfig(server, creds.ca_file, out["status"]["token"], cluster, user))
    path.chmod(0o600)
    return str(path)
