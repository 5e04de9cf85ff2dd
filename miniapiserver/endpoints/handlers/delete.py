"""DELETE of one object and of a collection.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/delete.go (DeleteResource:
DeleteOptions from the body and the query; the deleted object or a Success
Status; DeleteCollection with list options), with the admission calls of a
DELETE: the mutating phase with no object, the validating phase with the object
being deleted. The semantics live in registry/delete.py. Omitted: admission of
each object of a deletecollection.
"""

from __future__ import annotations

from aiohttp import web

from miniapi import errors
from miniapiserver.admission.attributes import DELETE
from miniapiserver.endpoints import responsewriters
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.get import list_object
from miniapiserver.endpoints.handlers.rest import RequestScope, delete_options
from miniapiserver.registry import delete as registry_delete
from miniapiserver.registry.selection import predicate_from_query
from miniapiserver.registry.strategy import RETURN_DELETED_OBJECT
from miniapiserver.storage.etcd3_store import ListResult


async def admit_delete(scope: RequestScope, dry_run: bool) -> None:
    """The delete handler's mutating admission, then deleteValidation with the old object."""
    store, info = scope.store, scope.info
    if store.admission is None:
        return
    attrs = store.attributes(
        DELETE, info.namespace, info.name, None, None, scope.user, info.subresource, dry_run
    )
    await store.admission.admit(attrs)
    try:
        attrs.old_object = await store.get(info.namespace, info.name)
    except errors.StatusError as e:
        if e.code == 404:
            return  # the delete itself answers 404
        raise
    await store.admission.validate(attrs)


async def delete_resource(scope: RequestScope) -> web.Response:
    dry_run = scope.dry_run()
    options = await delete_options(scope)
    info = scope.info
    await admit_delete(scope, dry_run)
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
