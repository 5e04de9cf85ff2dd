"""GET of one object and LIST of a collection.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/get.go (GetResource,
ListResource: ListOptions from the query, limit/continue, resourceVersion and
resourceVersionMatch, `watch=true` handed to the watch handler) and
response.go's conversions to Table or PartialObjectMetadataList.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from miniapi import errors
from miniapiserver.endpoints import responsewriters
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.rest import RequestScope
from miniapiserver.registry.selection import predicate_from_query
from miniapiserver.storage.etcd3_store import ListResult


async def get_resource(scope: RequestScope) -> web.Response:
    info = scope.info
    obj = await scope.store.get(info.namespace, info.name, scope.query.get("resourceVersion", ""))
    return responsewriters.response(convert.one(scope, obj), scope.output)


def list_object(scope: RequestScope, result: ListResult) -> dict[str, Any]:
    """The <Kind>List body: items plus ListMeta (resourceVersion, continue, remainingItemCount)."""
    meta: dict[str, Any] = {"resourceVersion": str(result.resource_version)}
    if result.continue_:
        meta["continue"] = result.continue_
    if result.remaining_item_count is not None:
        meta["remainingItemCount"] = result.remaining_item_count
    gvk = scope.resource.gvk
    return {
        "kind": f"{gvk.kind}List",
        "apiVersion": f"{gvk.group}/{gvk.version}" if gvk.group else gvk.version,
        "metadata": meta,
        "items": result.items,
    }


async def list_resource(scope: RequestScope) -> web.Response:
    limit = scope.int_param("limit") or 0
    if limit < 0:
        raise errors.new_bad_request("limit must be a non-negative number")
    pred = predicate_from_query(scope.resource, scope.query, limit)
    pred.continue_ = scope.query.get("continue", "")
    result = await scope.store.list(
        scope.info.namespace,
        pred,
        scope.query.get("resourceVersion", ""),
        scope.query.get("resourceVersionMatch", ""),
    )
    body = convert.many(scope, list_object(scope, result))
    return responsewriters.response(body, scope.output)
