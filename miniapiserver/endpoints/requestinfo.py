"""Resolve an HTTP request into the API verb and the object it addresses.

Mirrors k8s.io/apiserver/pkg/endpoints/request/requestinfo.go
(RequestInfoFactory.NewRequestInfo): `/api/v1/namespaces/ns/pods/name/status`
becomes verb get, version v1, namespace ns, resource pods, name name,
subresource status. Paths outside /api and /apis are non-resource requests.
Omitted: the deprecated `/watch/` path prefix; impersonation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

API_PREFIXES = ("api", "apis")
GROUPLESS_PREFIXES = ("api",)
# Paths under /namespaces/<ns>/ that are subresources of the namespace itself.
NAMESPACE_SUBRESOURCES = ("status", "finalize")

_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True)
class RequestInfo:
    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = field(default_factory=tuple)


def _truthy(query: dict[str, list[str]], key: str) -> bool:
    values = query.get(key)
    return bool(values) and values[0].lower() in ("1", "t", "true")


def _name_from_field_selector(selectors: list[str]) -> str:
    for sel in selectors:
        for term in sel.split(","):
            key, sep, value = term.partition("=")
            if sep and key.strip() == "metadata.name" and not key.endswith("!"):
                return value.removeprefix("=").strip()
    return ""


def new_request_info(method: str, path: str, query_string: str = "") -> RequestInfo:
    """NewRequestInfo for one request line."""
    parts = [p for p in path.strip("/").split("/") if p != ""] if path.strip("/") else []
    non_resource = RequestInfo(False, path, method.lower())
    if len(parts) < 1 or parts[0] not in API_PREFIXES:
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix not in GROUPLESS_PREFIXES:
        if len(parts) < 2:  # /apis or /apis/<group>: discovery, not a resource
            return non_resource
        group, parts = parts[0], parts[1:]
    elif len(parts) < 1:  # /api
        return non_resource
    version, parts = parts[0], parts[1:]
    if not parts:  # /api/v1, /apis/apps/v1
        return non_resource
    query = parse_qs(query_string, keep_blank_values=True)
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else ""
    subresource = parts[2] if len(parts) >= 3 else ""
    verb = _VERBS.get(method.upper(), method.lower())
    if method.upper() == "DELETE":
        verb = "delete" if name else "deletecollection"
    if verb == "get" and not name:
        verb = "watch" if _truthy(query, "watch") else "list"
    if verb in ("list", "watch"):
        # A list or watch narrowed to one name by fieldSelector is about that name
        # (authorization and audit read it).
        name = _name_from_field_selector(query.get("fieldSelector", [])) or name
    return RequestInfo(
        True,
        path,
        verb,
        prefix,
        group,
        version,
        namespace,
        resource,
        subresource,
        name,
        tuple(parts),
    )
