"""Response conversions asked for with `Accept: ...;as=<Kind>;g=meta.k8s.io;v=v1`.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/response.go (transformObject,
asTable, asPartialObjectMetadata, asPartialObjectMetadataList): a Table of
printed rows (columns from printers/), or objects reduced to their metadata.
"""

from __future__ import annotations

from typing import Any

from miniapiserver.endpoints.handlers.rest import RequestScope
from miniapiserver.printers import table

META_API_VERSION = "meta.k8s.io/v1"


def _include_object(scope: RequestScope) -> str:
    return scope.query.get("includeObject", "") or "Metadata"


def _in_request_version(scope: RequestScope, obj: dict[str, Any]) -> dict[str, Any]:
    """A custom resource read in another served version: conversion strategy None only
    rewrites apiVersion (apiextensions-apiserver's nopConverter)."""
    if not getattr(scope.resource, "crd_name", "") or obj.get("kind") != scope.resource.gvk.kind:
        return obj
    gvk = scope.resource.gvk
    return {**obj, "apiVersion": f"{gvk.group}/{gvk.version}"}


def one(scope: RequestScope, obj: dict[str, Any]) -> dict[str, Any]:
    obj = _in_request_version(scope, obj)
    conversion = scope.output.convert
    if conversion == "Table":
        return table.to_table(scope.resource, [obj], {}, _include_object(scope))
    if conversion == "PartialObjectMetadata":
        return {
            "kind": "PartialObjectMetadata",
            "apiVersion": META_API_VERSION,
            "metadata": obj["metadata"],
        }
    return obj


def many(scope: RequestScope, listed: dict[str, Any]) -> dict[str, Any]:
    if "items" in listed:
        listed = {**listed, "items": [_in_request_version(scope, o) for o in listed["items"]]}
    conversion = scope.output.convert
    if conversion == "Table":
        return table.to_table(
            scope.resource, listed["items"], listed["metadata"], _include_object(scope)
        )
    if conversion == "PartialObjectMetadataList":
        items = [
            {
                "kind": "PartialObjectMetadata",
                "apiVersion": META_API_VERSION,
                "metadata": o["metadata"],
            }
            for o in listed["items"]
        ]
        return {
            "kind": "PartialObjectMetadataList",
            "apiVersion": META_API_VERSION,
            "metadata": listed["metadata"],
            "items": items,
        }
    return listed


def event_object(scope: RequestScope, obj: dict[str, Any], first: bool) -> dict[str, Any]:
    """A watch event's object in the negotiated form (a one-row Table for `get -w`)."""
    obj = _in_request_version(scope, obj)
    conversion = scope.output.convert
    if conversion == "Table":
        out = table.to_table(scope.resource, [obj], {}, _include_object(scope))
        if not first:
            out["columnDefinitions"] = []  # headers only once per watch, as upstream
        return out
    if conversion in ("PartialObjectMetadata", "PartialObjectMetadataList"):
        return {
            "kind": "PartialObjectMetadata",
            "apiVersion": META_API_VERSION,
            "metadata": obj["metadata"],
        }
    return obj
