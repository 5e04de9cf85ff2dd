"""PUT: replace an object (main resource or its status subresource).

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/update.go (UpdateResource:
the body replaces the object; its resourceVersion, when set, must still be
current or the answer is 409 Conflict; 201 when the update created it).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from miniapiserver.endpoints import responsewriters
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.rest import RequestScope, admit, decode_object


async def update_resource(scope: RequestScope) -> web.Response:
    dry_run = scope.dry_run()
    body = await decode_object(scope)
    info = scope.info

    def updater(current: dict[str, Any] | None) -> dict[str, Any]:
        admit(scope, body, current)
        return body

    out, created = await scope.store.update(
        info.namespace,
        info.name,
        updater,
        info.subresource,
        dry_run,
        scope.strict(),
        user=scope.user,
    )
    return responsewriters.response(
        convert.one(scope, out), scope.output, status=201 if created else 200
    )
