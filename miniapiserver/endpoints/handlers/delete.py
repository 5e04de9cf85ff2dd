"""DELETE of one object and of a collection.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/delete.go (DeleteResource:
DeleteOptions from the body and the query; the deleted object or a Success
Status; DeleteCollection with list options). The semantics live in
registry/delete.py.
"""

from __future__ import annotations

from aiohttp import web

from miniapiserver.endpoints import responsewriters
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.get import list_object
from miniapiserver.endpoints.handlers.rest import RequestScope, delete_options
from miniapiserver.registry import delete as registry_delete
from miniapiserver.registry.selection import predicate_from_query
from miniapiserver.registry.strategy import RETURN_DELETED_OBJECT
from miniapiserver.storage.etcd3_store import ListResult


async def delete_resource(scope: RequestScope) -> web.Response:
    dry_run = scope.dry_run()
    options = await delete_options(scope)
    info = scope.info
    obj, gone = await registry_delete.delete(
        scope.store, info.namespace, info.name, options, dry_run
    )
    kind = scope.resource.gvk.kind
    if not gone or kind in RETURN_DELETED_OBJECT:
        return responsewriters.response(convert.one(scope, obj), scope.output)
    meta = obj.get("metadata", {})
    details = {
        "name": meta.get("name", ""),
        "group": scope.resource.gvk.group,
        "kind": scope.resource.resource,
        "uid": meta.get("uid", ""),
    }
    return responsewriters.response(responsewriters.success_status(details), scope.output)


async def delete_collection(scope: RequestScope) -> web.Response:
    dry_run = scope.dry_run()
    options = await delete_options(scope)
    pred = predicate_from_query(scope.resource, scope.query, 0)
    items = await registry_delete.delete_collection(
        scope.store, scope.info.namespace, pred, options, dry_run
    )
    rv = await scope.store.storage.current_revision()
    body = list_object(scope, ListResult(items, rv))
    return responsewriters.response(convert.many(scope, body), scope.output)
