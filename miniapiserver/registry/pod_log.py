"""The pods/log subresource: find the pod's kubelet and stream its container log back.

Mirrors kubernetes/pkg/registry/core/pod/rest/log.go (LogREST.Get: validate the
PodLogOptions, resolve a location, stream the kubelet's answer through) and
pkg/registry/core/pod/strategy.go (LogLocation, validateContainer, getPodKubeletInfo:
the node's InternalIP, else Hostname/ExternalIP, and status.daemonEndpoints.kubeletEndpoint.Port)
and pkg/registry/generic/rest/streamer.go (a kubelet error becomes a Status).
The kubelet API is plain HTTP here (minikubelet serves no TLS), so the URL is http://.
Omitted: insecureSkipTLSVerifyBackend, ephemeral containers, the kubelet client
certificate, and the pod-log Prometheus counters.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from miniapi import errors
from miniapi.runtime import GroupResource
from miniapi.validation import field

Obj = dict[str, Any]
PODS = GroupResource("", "pods")
NODES = GroupResource("", "nodes")
# PodLogOptions query parameters passed on to the kubelet, with their kind.
INT_PARAMS = ("tailLines", "sinceSeconds", "limitBytes")
BOOL_PARAMS = ("follow", "previous", "timestamps")


def _names(containers: list[Obj]) -> str:
    return " ".join(c.get("name", "") for c in containers)


def validate_container(container: str, pod: Obj) -> str:
    """The container to read: the one asked for, or the pod's only one (400 otherwise)."""
    name, spec = pod["metadata"]["name"], pod.get("spec", {})
    containers, inits = spec.get("containers", []), spec.get("initContainers", [])
    if container:
        if not any(c.get("name") == container for c in containers + inits):
            raise errors.new_bad_request(f"container {container} is not valid for pod {name}")
        return container
    if len(containers) == 1:
        return containers[0]["name"]
    if not containers:
        raise errors.new_bad_request(f"a container name must be specified for pod {name}")
    message = (
        f"a container name must be specified for pod {name}, choose one of: [{_names(containers)}]"
    )
    if inits:
        message += f" or one of the init containers: [{_names(inits)}]"
    raise errors.new_bad_request(message)


def validate_options(name: str, query: Any) -> dict[str, str]:
    """PodLogOptions from the query; ValidatePodLogOptions failures are 422 Invalid."""
    out: dict[str, str] = {}
    for key in BOOL_PARAMS:
        if query.get(key, "").lower() in ("1", "true", "t"):
            out[key] = "true"
    errs: list = []
    for key in INT_PARAMS:
        raw = query.get(key)
        if raw in (None, ""):
            continue
        try:
            value = int(raw)
        except ValueError:
            raise errors.new_bad_request(
                f'strconv.ParseInt: parsing "{raw}": invalid syntax'
            ) from None
        if key == "tailLines" and value < 0:
            errs.append(
                field.invalid(field.new_path(key), value, "must be greater than or equal to 0")
            )
        elif key != "tailLines" and value < 1:
            errs.append(field.invalid(field.new_path(key), value, "must be greater than 0"))
        out[key] = str(value)
    if query.get("sinceTime") and "sinceSeconds" in out:
        errs.append(
            field.forbidden(
                field.new_path(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"
            )
        )
    if errs:
        raise errors.new_invalid("", "PodLogOptions", name, errs)
    return out


def kubelet_address(node: Obj) -> tuple[str, int]:
    """The node's preferred address (InternalIP first) and its kubelet port."""
    status = node.get("status", {})
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses", [])}
    for kind in ("InternalIP", "ExternalIP", "Hostname"):
        if addresses.get(kind):
            host = addresses[kind]
            break
    else:
        raise errors.new_bad_request(f"node {node['metadata']['name']} has no known addresses")
    port = status.get("daemonEndpoints", {}).get("kubeletEndpoint", {}).get("Port", 0)
    return host, int(port or 10250)


def log_location(pod: Obj, node: Obj, container: str, options: dict[str, str]) -> str:
    """The kubelet URL that serves this container's log with these options."""
    host, port = kubelet_address(node)
    meta = pod["metadata"]
    path = f"/containerLogs/{meta['namespace']}/{meta['name']}/{container}"
    query = f"?{urlencode(options)}" if options else ""
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}{path}{query}"


async def _check(resp: aiohttp.ClientResponse, pod_name: str) -> None:
    """A non-2xx kubelet answer turned into a Status, as GenericHttpResponseChecker does."""
    if 200 <= resp.status <= 206:
        return
    text = (await resp.content.read(4096)).decode(errors="replace")
    if resp.status == 400:
        raise errors.new_bad_request(text)
    if resp.status == 404:
        raise errors.new_not_found(PODS, pod_name)
    raise errors.new_internal_error(text)


async def get_log(request: web.Request, pod: Obj, node_store: Any) -> web.StreamResponse:
    """LogREST.Get: stream the kubelet's answer; chunked, so follow arrives line by line."""
    container = validate_container(request.query.get("container", ""), pod)
    options = validate_options(pod["metadata"]["name"], request.query)
    node_name = pod.get("spec", {}).get("nodeName", "")
    if not node_name:  # an unscheduled pod has no log yet: an empty body, as upstream
        return web.Response(body=b"", content_type="text/plain")
    try:
        node = await node_store.get("", node_name)
    except errors.StatusError as err:
        if err.code == 404:
            raise errors.new_not_found(NODES, node_name) from None
        raise
    url = log_location(pod, node, container, options)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            resp = await session.get(url)
        except aiohttp.ClientError as err:
            raise errors.new_internal_error(f"error trying to reach kubelet: {err}") from None
        async with resp:
            await _check(resp, pod["metadata"]["name"])
            return await _relay(request, resp)


async def _relay(request: web.Request, resp: aiohttp.ClientResponse) -> web.StreamResponse:
    out = web.StreamResponse()
    out.content_type = "text/plain"
    out.enable_chunked_encoding()
    await out.prepare(request)
    try:
        async for chunk in resp.content.iter_any():
            await out.write(chunk)
    except (aiohttp.ClientError, ConnectionResetError):
        # Headers are sent: a kubelet or client going away just ends the stream.
        return out
    await out.write_eof()
    return out
