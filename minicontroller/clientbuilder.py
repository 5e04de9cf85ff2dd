"""Clients that act as each controller's own ServiceAccount (--use-service-account-credentials).

Mirrors k8s.io/controller-manager/pkg/clientbuilder (ControllerClientBuilder and the
DynamicControllerClientBuilder behind kube-controller-manager's
--use-service-account-credentials): with the controller manager's own credentials, make sure
the ServiceAccount kube-system/<name> exists (getOrCreateServiceAccount), ask the
TokenRequest API (serviceaccounts/<name>/token) for a token, and hand the controller a client
that authenticates with it, as `system:serviceaccount:kube-system:<name>`. RBAC then gives
it exactly its `system:controller:<name>` role.
Omitted: token rotation. Upstream asks for one hour and refreshes the token before it
expires; we ask once for a year-long token (TokenRequest allows up to 2^32 s), which a
toy cluster's controller manager outlives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp

from miniapi.errors import StatusError
from miniclient.kubeconfig import RestConfig
from miniclient.rest import Client

NAMESPACE = "kube-system"
TOKEN_SECONDS = 365 * 24 * 3600
# --controllers name -> the ServiceAccount its client runs as (cmd/kube-controller-manager/names)
SERVICE_ACCOUNTS = {
    "deployment": "deployment-controller",
    "endpointslice": "endpointslice-controller",
    "replicaset": "replicaset-controller",
    "garbage-collector-controller": "generic-garbage-collector",
    "namespace-controller": "namespace-controller",
    "node-lifecycle-controller": "node-controller",
    "serviceaccount-controller": "service-account-controller",
    "root-ca-certificate-publisher-controller": "root-ca-cert-publisher",
}


class SAControllerClientBuilder:
    """client(name): a Client authenticated as the controller's ServiceAccount."""

    def __init__(self, root: Client, config: RestConfig, namespace: str = NAMESPACE) -> None:
        self.root, self.config, self.namespace = root, config, namespace
        self.clients: list[Client] = []

    async def get_or_create_service_account(self, name: str) -> None:
        path = f"/api/v1/namespaces/{self.namespace}/serviceaccounts"
        try:
            await self.root.request("GET", f"{path}/{name}")
            return
        except StatusError as e:
            if e.code != 404:
                raise
        body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
        try:
            await self.root.request("POST", path, body=json.dumps(body).encode())
        except StatusError as e:
            if e.code != 409:  # created meanwhile (another manager): fine
                raise

    async def token(self, name: str) -> str:
        path = f"/api/v1/namespaces/{self.namespace}/serviceaccounts/{name}/token"
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": TOKEN_SECONDS},
        }
        out = await self.root.request("POST", path, body=json.dumps(request).encode())
        return out["status"]["token"]

    async def client(self, controller: str, attempts: int = 30) -> Client:
        """The client for one --controllers name, as its ServiceAccount.

        Like upstream's builder it keeps trying while the API server is not answering yet.
        """
        sa = SERVICE_ACCOUNTS[controller]
        for attempt in range(attempts):
            try:
                await self.get_or_create_service_account(sa)
                token = await self.token(sa)
                break
            except (StatusError, aiohttp.ClientError, OSError) as e:
                retriable = not isinstance(e, StatusError) or e.code >= 500 or e.code == 429
                if not retriable or attempt == attempts - 1:
                    raise
                await asyncio.sleep(1.0)
        # Only the token authenticates: the manager's own client certificate must not ride along.
        config = dataclasses.replace(
            self.config,
            bearer_token=token,
            cert_data=b"",
            key_data=b"",
            user_agent=f"{self.config.user_agent}/{sa}",
        )
        c = Client(config)
        self.clients.append(c)
        return c

    async def close(self) -> None:
        for c in self.clients:
            await c.close()
