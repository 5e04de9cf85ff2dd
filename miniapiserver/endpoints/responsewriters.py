"""Write API objects and Status errors in the media type the client negotiated.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/writers.go
(WriteObjectNegotiated, ErrorNegotiated: a Status body whose code is the HTTP
status) and handlers/response.go (transformObject: Table and
PartialObjectMetadata conversions). Omitted: gzip of large responses.
"""

from __future__ import annotations

from typing import Any

import msgspec
import yaml
from aiohttp import web

from miniapi import errors, scheme
from miniapi.meta.v1 import Status
from miniapiserver.endpoints import negotiation
from miniapiserver.endpoints.negotiation import MediaType
from miniapiserver.protobuf import envelope

_json = msgspec.json.Encoder()


def encode_body(obj: Any, media: str) -> bytes:
    if media == negotiation.YAML:
        return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False).encode()
    if media == negotiation.PROTOBUF:
        return envelope.encode(obj)
    return _json.encode(obj)


def response(obj: Any, media: MediaType, status: int = 200) -> web.Response:
    """One object (a dict) as a complete response."""
    try:
        body = encode_body(obj, media.type)
        content_type = media.type
    except envelope.CodecError:
        # A kind without a protobuf message (Table, our own lists) is served as JSON.
        body, content_type = _json.encode(obj), negotiation.JSON
    return web.Response(status=status, body=body, content_type=content_type)


def status_body(status: Status) -> dict[str, Any]:
    return scheme.encode(status)


def error_response(err: errors.StatusError, media: MediaType | None = None) -> web.Response:
    body = status_body(err.status)
    body.setdefault("metadata", {})
    out = media if media is not None and media.type != negotiation.PROTOBUF else MediaType()
    resp = response(body, MediaType(out.type))
    resp.set_status(err.code or 500)
    retry = err.status.details.retry_after_seconds if err.status.details else 0
    if retry and err.code in (429, 503, 504):
        resp.headers["Retry-After"] = str(retry)
    return resp


def success_status(details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Status a DELETE returns when it does not return the object."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
    }
    if details:
        body["details"] = details
    return body
