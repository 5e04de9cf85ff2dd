"""An asyncio REST client for typed miniapi objects and unstructured maps.

Mirrors k8s.io/client-go/rest (request.go: paths, query parameters, turning a
failed response into the server's Status error; watch.go's decoder of the
chunked JSON watch stream), the typed clientsets' verbs (get, list, watch,
create, update, updateStatus, patch, delete) and k8s.io/client-go/dynamic for
unstructured objects (dicts). A ResourceClient is one resource in one group
version; namespace is a per-call argument.
Omitted: protobuf content type, client-side rate limiting (QPS/burst), retries,
deleteCollection, subresources other than status.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from miniapi import errors, scheme
from miniapi.meta import v1 as metav1
from miniapi.runtime import GroupVersionResource
from miniclient.kubeconfig import RestConfig

__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "Client",
    "ResourceClient",
]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def _status_error(code: int, body: bytes) -> errors.StatusError:
    """The server's Status if it sent one, else one built from the HTTP code (as client-go)."""
    try:
        data = json.loads(body)
        if isinstance(data, dict) and data.get("kind") == "Status":
            return errors.from_status(scheme.decode(data))
    except (ValueError, msgspec.ValidationError):
        pass
    reason = {404: "NotFound", 409: "Conflict", 410: "Expired", 401: "Unauthorized"}.get(code, "")
    message = body.decode(errors="replace").strip() or f"the server returned HTTP {code}"
    status = metav1.Status(
        api_version="v1", kind="Status", status="Failure", message=message, reason=reason, code=code
    )
    return errors.from_status(status)


class Client:
    """One HTTP session to one API server (rest.RESTClient)."""

    def __init__(self, config: RestConfig) -> None:
        self.config = config
        headers = {"User-Agent": config.user_agent, "Accept": "application/json"}
        if config.bearer_token:
            headers["Authorization"] = f"Bearer {config.bearer_token}"
        self._headers = headers
        self._ssl = config.ssl_context()
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False)
            self._session = aiohttp.ClientSession(headers=self._headers, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def resource(
        self, kind: type | GroupVersionResource, namespaced: bool = True
    ) -> ResourceClient:
        """A client for a typed kind (by its class) or an unstructured GVR."""
        if isinstance(kind, GroupVersionResource):
            return ResourceClient(self, kind, namespaced, typed=False)
        info = scheme.SCHEME.resource_for_kind(scheme.SCHEME.object_kind(kind))
        return ResourceClient(self, info.gvr, info.namespaced, typed=True)

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request; the decoded JSON body, or the server's Status raised."""
        headers = {"Content-Type": content_type} if body is not None else {}
        async with self.session().request(
            method, self.config.host + path, params=params, data=body, headers=headers
        ) as resp:
            raw = await resp.read()
            if resp.status >= 300:
                raise _status_error(resp.status, raw)
            return json.loads(raw) if raw else None


def _query(**kwargs: Any) -> dict[str, str]:
    out = {}
    for key, value in kwargs.items():
        if value is None or value == "" or value is False:
            continue
        out[key] = "true" if value is True else str(value)
    return out


class ResourceClient:
    """The verbs on one resource; objects are typed miniapi values or dicts."""

    def __init__(
        self, client: Client, gvr: GroupVersionResource, namespaced: bool, typed: bool
    ) -> None:
        self.client = client
        self.gvr = gvr
        self.namespaced = namespaced
        self.typed = typed

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        gvr = self.gvr
        base = f"/api/{gvr.version}" if not gvr.group else f"/apis/{gvr.group}/{gvr.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace)}"
        base += f"/{gvr.resource}"
        if name:
            base += f"/{quote(name)}"
        if subresource:
            base += f"/{subresource}"
        return base

    def _decode(self, data: Any) -> Any:
        return scheme.decode(data) if self.typed else data

    def _encode(self, obj: Any) -> bytes:
        return scheme.to_json(obj) if self.typed else json.dumps(obj).encode()

    @staticmethod
    def _meta(obj: Any) -> tuple[str, str]:
        if isinstance(obj, dict):
            m = obj.get("metadata") or {}
            return m.get("namespace") or "", m.get("name") or ""
        return obj.metadata.namespace, obj.metadata.name

    async def get(self, name: str, namespace: str = "", resource_version: str = "") -> Any:
        params = _query(resourceVersion=resource_version)
        return self._decode(await self.client.request("GET", self.path(namespace, name), params))

    async def list(
        self,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
        resource_version: str = "",
    ) -> Any:
        """One page of the collection (a typed List, or a dict)."""
        params = _query(
            labelSelector=label_selector,
            fieldSelector=field_selector,
            limit=limit or None,
            resourceVersion=resource_version,
            **{"continue": continue_},
        )
        return self._decode(await self.client.request("GET", self.path(namespace), params))

    async def watch(
        self,
        namespace: str = "",
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_watch_bookmarks: bool = False,
        timeout_seconds: int | None = None,
    ) -> AsyncIterator[tuple[str, Any]]:
        """Yield (type, object) per line of the watch stream; ERROR carries a Status."""
        params = _query(
            watch=True,
            resourceVersion=resource_version,
            labelSelector=label_selector,
            fieldSelector=field_selector,
            allowWatchBookmarks=allow_watch_bookmarks,
            timeoutSeconds=timeout_seconds,
        )
        session = self.client.session()
        url = self.client.config.host + self.path(namespace)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with session.get(url, params=params, timeout=timeout) as resp:
            if resp.status >= 300:
                raise _status_error(resp.status, await resp.read())
            async for line in resp.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type", ""), event.get("object")
                if kind == metav1.ERROR:
                    yield kind, scheme.decode(obj)
                elif kind == metav1.BOOKMARK:
                    # A bookmark is a stub carrying only metadata.resourceVersion: kept as a map.
                    yield kind, obj
                else:
                    yield kind, self._decode(obj)

    async def create(self, obj: Any, namespace: str = "") -> Any:
        ns = namespace or self._meta(obj)[0]
        body = self._encode(obj)
        return self._decode(await self.client.request("POST", self.path(ns), body=body))

    async def update(self, obj: Any, subresource: str = "") -> Any:
        ns, name = self._meta(obj)
        path = self.path(ns, name, subresource)
        return self._decode(await self.client.request("PUT", path, body=self._encode(obj)))

    async def update_status(self, obj: Any) -> Any:
        return await self.update(obj, "status")

    async def patch(
        self,
        name: str,
        patch: Any,
        patch_type: str = MERGE_PATCH,
        namespace: str = "",
        subresource: str = "",
    ) -> Any:
        body = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
        path = self.path(namespace, name, subresource)
        data = await self.client.request("PATCH", path, body=body, content_type=patch_type)
        return self._decode(data)

    async def delete(
        self,
        name: str,
        namespace: str = "",
        propagation_policy: str = "",
        preconditions: dict[str, str] | None = None,
        grace_period_seconds: int | None = None,
    ) -> Any:
        """DELETE with DeleteOptions; returns the object (or Status) the server sends back."""
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        body = json.dumps(options).encode()
        data = await self.client.request("DELETE", self.path(namespace, name), body=body)
        if isinstance(data, dict) and data.get("kind") == "Status":
            return scheme.decode(data)
        return self._decode(data)
