"""POST: create an object (or a pod's binding / eviction).

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/create.go (createHandler:
decode the body in its content type, check it against the URL's namespace,
dryRun, then the registry's Create; 201 Created with the stored object).
"""

from __future__ import annotations

from aiohttp import web

from miniapiserver.endpoints import responsewriters
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.rest import RequestScope, admit, decode_object


async def create_resource(scope: RequestScope) -> web.Response:
    dry_run = scope.dry_run()
    obj = await decode_object(scope)
    admit(scope, obj)
    out = await scope.store.create(
        scope.info.namespace, obj, dry_run, scope.strict(), user=scope.user
    )
    return responsewriters.response(convert.one(scope, out), scope.output, status=201)
