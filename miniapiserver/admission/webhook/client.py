"""Calling a webhook: resolve where it is, POST the AdmissionReview over HTTPS.

Mirrors k8s.io/apiserver/pkg/util/webhook/client.go (ClientManager.HookClient: the
URL, or the Service as https://<name>.<namespace>.svc:<port><path> verified against
caBundle, or the system roots without one), authentication.go's
`?timeout=<n>s` on the request, and the endpoint service resolver of
kube-aggregator (--enable-aggregator-routing: a Service is reached through an address
of its Endpoints, the certificate still checked for <name>.<namespace>.svc, because
nothing routes cluster IPs on the API server's host here). Errors are
ErrCallingWebhook: "failed calling webhook ..." with upstream's reason texts.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec

from miniapi.admissionregistration.v1 import WebhookClientConfig
from miniapiserver.registry.store import RegistryStore

DEFAULT_TIMEOUT_SECONDS = 10
DEFAULT_SERVICE_PORT = 443


class CallingWebhookError(Exception):
    """ErrCallingWebhook: the webhook could not be asked (failurePolicy decides)."""

    def __init__(self, webhook_name: str, reason: str) -> None:
        super().__init__(f'failed calling webhook "{webhook_name}": {reason}')
        self.webhook_name = webhook_name
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """Where to POST: the URL and the TLS server name to verify."""

    url: str
    server_name: str | None = None


def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    if not ca_bundle:
        return ssl.create_default_context()
    try:
        pem = base64.b64decode(ca_bundle, validate=True).decode()
        return ssl.create_default_context(cadata=pem)
    except (binascii.Error, ValueError, ssl.SSLError) as e:
        raise ValueError(f"could not load caBundle: {e}") from None


async def resolve(config: WebhookClientConfig, stores: dict[str, RegistryStore]) -> Target:
    """The URL to call: clientConfig.url, or the Service through its Endpoints."""
    if config.url:
        return Target(config.url)
    svc_ref = config.service
    if svc_ref is None:
        raise ValueError("the webhook has neither url nor service")
    ns, name = svc_ref.namespace, svc_ref.name
    port = svc_ref.port or DEFAULT_SERVICE_PORT
    services, endpoints = stores["/services"], stores["/endpoints"]
    svc = await services.storage.get(services.key(ns, name), ignore_not_found=True)
    if svc is None:
        raise ValueError(f'service "{name}" not found')
    svc_port = next(
        (p for p in svc.get("spec", {}).get("ports", []) if p.get("port") == port), None
    )
    if svc_port is None:
        raise ValueError(f'no service port {port} found for service "{name}"')
    eps = await endpoints.storage.get(endpoints.key(ns, name), ignore_not_found=True)
    for subset in (eps or {}).get("subsets", []):
        for ep_port in subset.get("ports", []):
            if ep_port.get("name", "") == svc_port.get("name", ""):
                for address in subset.get("addresses", []):
                    host = f"{address['ip']}:{ep_port['port']}"
                    return Target(f"https://{host}{svc_ref.path or ''}", f"{name}.{ns}.svc")
    raise ValueError(f'no endpoints available for service "{name}"')


async def call(
    webhook_name: str,
    config: WebhookClientConfig,
    timeout_seconds: int | None,
    review: dict[str, Any],
    stores: dict[str, RegistryStore],
) -> bytes:
    """POST the review; the response body, or CallingWebhookError."""
    timeout = timeout_seconds or DEFAULT_TIMEOUT_SECONDS
    try:
        target = await resolve(config, stores)
        ctx = _ssl_context(config.ca_bundle)
    except ValueError as e:
        raise CallingWebhookError(webhook_name, str(e)) from None
    sep = "&" if "?" in target.url else "?"
    url = f"{target.url}{sep}timeout={timeout}s"
    try:
        return await _post(webhook_name, url, review, ctx, target.server_name, timeout)
    except TimeoutError:
        reason = "context deadline exceeded"
    except aiohttp.ClientConnectorCertificateError as e:
        reason = f"tls: failed to verify certificate: {e.certificate_error}"
    except aiohttp.ClientConnectorError as e:
        reason = f"dial tcp {e.host}:{e.port}: connect: {_errno_text(e)}"
    except aiohttp.ClientError as e:
        reason = str(e)
    raise CallingWebhookError(webhook_name, f'failed to call webhook: Post "{url}": {reason}')


async def _post(
    webhook_name: str, url: str, review: dict[str, Any], ctx: ssl.SSLContext,
    server_name: str | None, timeout: int,
) -> bytes:  # fmt: skip
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
    async with (
        session,
        session.post(
            url,
            data=msgspec.json.encode(review),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            ssl=ctx,
            server_hostname=server_name,
        ) as resp,
    ):
        body = await resp.read()
        if resp.status != 200:
            raise CallingWebhookError(
                webhook_name,
                f"failed to call webhook: the server responded with the status code "
                f"{resp.status} but did not return more information",
            )
        return body


def _errno_text(e: aiohttp.ClientConnectorError) -> str:
    return "connection refused" if isinstance(e.os_error, ConnectionRefusedError) else e.strerror
