"""PUT: replace an object (main resource or its status subresource).

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/update.go (UpdateResource:
the body replaces the object; its resourceVersion, when set, must still be
current or the answer is 409 Conflict; 201 when the update created it).
"""

from __future__ import annotations

from aiohttp import web

from miniapiserver.endpoints import responsewriters
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.rest import RequestScope, decode_object


async def update_resource(scope: RequestScope) -> web.Response:
    dry_run = scope.dry_run()
    body = await decode_object(scope)
    info = scope.info
    out, created = await scope.store.update(
        info.namespace, info.name, lambda _current: body, info.subresource, dry_run, scope.strict()
    )
    return responsewriters.response(
        convert.one(scope, out), scope.output, status=201 if created else 200
    )
