"""The pods/exec subresource: carry `kubectl exec`'s WebSocket to the pod's kubelet.

Mirrors kubernetes/pkg/registry/core/pod/rest/subresources.go (ExecREST.Connect),
pkg/registry/core/pod/strategy.go (ExecLocation/streamLocation: validate the container,
find the node's kubelet, `/exec/{ns}/{pod}/{container}` with command, input, output,
error and tty) and k8s.io/apimachinery/pkg/util/proxy/upgradeaware.go (dial the backend
with the client's upgrade request; a refused upgrade goes back to the client as the
backend answered it, so kubectl shows the kubelet's reason).
Here the two legs are separate WebSockets relayed message by message (the subprotocol is
the one the kubelet chose) rather than one raw byte stream; a request that is no
WebSocket (SPDY/3.1) is forwarded as plain HTTP, so the client gets the kubelet's refusal.
Authorization is the chain's, as in 1.32: a WebSocket GET needs `get` on pods/exec, a POST
`create` (the extra `create` check of AuthorizePodWebsocketUpgradeCreatePermission is 1.35's).
Omitted: TLS to the kubelet, the in-flight throttling of upgraded connections.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from miniapi import errors
from miniapiserver.registry import pod_log

Obj = dict[str, Any]
# PodExecOptions query names -> the kubelet's (api.ExecStdinParam "input" and friends).
KUBELET_PARAMS = {"stdin": "input", "stdout": "output", "stderr": "error", "tty": "tty"}


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "t", "true")


def exec_location(pod: Obj, node: Obj, container: str, query: Any) -> str:
    """The kubelet URL for this exec: kubectl's stdin/stdout/stderr/tty become input/output/..."""
    host, port = pod_log.kubelet_address(node)
    params = [("command", c) for c in query.getall("command", [])]
    params += [(kubelet, "1") for ours, kubelet in KUBELET_PARAMS.items()
               if _truthy(query.get(ours))]  # fmt: skip
    meta = pod["metadata"]
    host = f"[{host}]" if ":" in host else host
    path = f"/exec/{meta['namespace']}/{meta['name']}/{container}"
    return f"http://{host}:{port}{path}?{urlencode(params)}"


async def _node(pod: Obj, node_store: Any) -> Obj:
    node_name = pod.get("spec", {}).get("nodeName", "")
    if not node_name:
        raise errors.new_bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")
    try:
        return await node_store.get("", node_name)
    except errors.StatusError as err:
        if err.code == 404:
            raise errors.new_not_found(pod_log.NODES, node_name) from None
        raise


async def _forward_plain(request: web.Request, session: aiohttp.ClientSession, url: str):
    """The kubelet's answer to the request without an upgrade, relayed as it came."""
    async with session.request(request.method, url) as resp:
        body = await resp.read()
        return web.Response(status=resp.status, body=body,
                            content_type=resp.content_type or "text/plain")  # fmt: skip


async def _relay(src: Any, dst: Any) -> None:
    async for msg in src:
        if msg.type == aiohttp.WSMsgType.BINARY:
            await dst.send_bytes(msg.data)
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await dst.send_str(msg.data)


async def _splice(client: web.WebSocketResponse, backend: Any) -> None:
    """Copy both ways until one side ends, then close the other."""
    tasks = [asyncio.create_task(_relay(client, backend)),
             asyncio.create_task(_relay(backend, client))]  # fmt: skip
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await backend.close()
            await client.close()


async def connect(request: web.Request, pod: Obj, node_store: Any) -> web.StreamResponse:
    """ExecREST.Connect: validate, locate the kubelet, and proxy the upgraded connection."""
    container = pod_log.validate_container(request.query.get("container", ""), pod)
    url = exec_location(pod, await _node(pod, node_store), container, request.query)
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    client = web.WebSocketResponse(heartbeat=None)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            if not client.can_prepare(request).ok:
                return await _forward_plain(request, session, url)
            try:
                backend = await session.ws_connect(
                    url, protocols=[p for p in offered if p], heartbeat=None
                )
            except aiohttp.WSServerHandshakeError:
                # aiohttp keeps no body of a refused handshake: ask again plainly for it.
                return await _forward_plain(request, session, url)
        except aiohttp.ClientError as err:
            raise errors.new_internal_error(f"error dialing backend: {err}") from None
        client = web.WebSocketResponse(protocols=[backend.protocol] if backend.protocol else ())
        await client.prepare(request)
        await _splice(client, backend)
    return client
