"""PATCH: JSON patch, JSON merge patch and strategic merge patch.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/patch.go (PatchResource:
the Content-Type picks the mechanism; the patch is applied to the current
object inside GuaranteedUpdate, so a concurrent write re-applies it to the
newer object; patch errors become 400/422 Status errors as
interpretStrategicMergePatchError does). Omitted: server-side apply
(`application/apply-patch+yaml` is answered with 415).
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from miniapi import errors
from miniapi.meta.v1 import Status
from miniapiserver.endpoints import negotiation, responsewriters
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.rest import RequestScope, admit, decode_body, read_body
from miniapiserver.patch.jsonpatch import PatchError, apply_json_patch, merge_patch
from miniapiserver.patch.patchmeta import schema_for_kind
from miniapiserver.patch.strategic import strategic_merge_patch


def _unprocessable(message: str) -> errors.StatusError:
    return errors.from_status(
        Status(
            kind="Status",
            api_version="v1",
            status="Failure",
            message=message,
            reason="Invalid",
            code=422,
        )
    )


def apply_patch(kind: str, patch_type: str, current: dict[str, Any], patch: Any) -> dict[str, Any]:
    """The patched object, or a Status error saying why the patch does not apply."""
    try:
        if patch_type == negotiation.JSON_PATCH:
            if not isinstance(patch, list):
                raise errors.new_bad_request(
                    "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                )
            out = apply_json_patch(current, patch)
        elif patch_type == negotiation.MERGE_PATCH:
            if not isinstance(patch, dict):
                raise errors.new_bad_request(
                    "json: cannot unmarshal into Go value of type map[string]interface {}"
                )
            out = merge_patch(current, patch)
        else:
            if not isinstance(patch, dict):
                raise errors.new_bad_request("strategic merge patch format is not supported")
            out = strategic_merge_patch(current, patch, schema_for_kind(kind))
    except PatchError as e:
        raise _unprocessable(str(e)) from None
    if not isinstance(out, dict):
        raise _unprocessable("the patched document is not an object")
    return out


async def patch_resource(scope: RequestScope) -> web.Response:
    dry_run = scope.dry_run()
    patch_type = negotiation.negotiate_input(
        scope.request.headers.get("Content-Type"),
        # Custom resources have no patch strategy: no strategic merge (apiextensions).
        getattr(scope.resource, "patch_types", negotiation.PATCH_TYPES),
    )
    body = await read_body(scope.request)
    try:
        patch = decode_body(body, negotiation.JSON)
    except errors.StatusError:
        # kubectl may send YAML-compatible JSON only; a body that is neither is a 400.
        patch = decode_body(body, negotiation.YAML)
    kind = scope.resource.gvk.kind
    info = scope.info

    def updater(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None:
            raise errors.new_not_found(scope.store.gr, info.name)
        before = copy.deepcopy(current)  # apply_patch may reuse parts of current
        new = apply_patch(kind, patch_type, current, patch)
        admit(scope, new, before)
        return new

    out, _ = await scope.store.update(
        info.namespace,
        info.name,
        updater,
        info.subresource,
        dry_run,
        scope.strict(),
        user=scope.user,
    )
    return responsewriters.response(convert.one(scope, out), scope.output)
