"""What every REST handler shares: the request scope, body decoding, query options.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/rest.go (RequestScope,
limitedReadBody with the 3 MiB maxRequestBodyBytes, the 413 it answers) and
the query parameters of metav1.ListOptions / CreateOptions / DeleteOptions
(staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go) as the
parameter codec reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import yaml
from aiohttp import web

from miniapi import errors
from miniapi.runtime import ResourceInfo
from miniapiserver.auth.authn import UserInfo
from miniapiserver.endpoints import negotiation
from miniapiserver.endpoints.negotiation import MediaType
from miniapiserver.endpoints.requestinfo import RequestInfo
from miniapiserver.protobuf import envelope
from miniapiserver.registry.store import RegistryStore

MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024


@dataclass
class RequestScope:
    """One resource request: the HTTP request, what it addresses, and the registry to use."""

    request: web.Request
    info: RequestInfo
    resource: ResourceInfo
    store: RegistryStore
    output: MediaType

    @property
    def query(self) -> Any:
        return self.request.query

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true", "t")

    def dry_run(self) -> bool:
        values = self.query.getall("dryRun", [])
        for v in values:
            if v != "All":
                raise errors.new_bad_request(
                    f'Invalid dry run value: "{v}" (supported values: "All")'
                )
        return bool(values)

    def strict(self) -> bool:
        """fieldValidation: Strict refuses unknown fields; Warn and Ignore accept them."""
        value = self.query.get("fieldValidation", "")
        if value not in ("", "Strict", "Warn", "Ignore"):
            raise errors.new_bad_request(
                f"fieldValidation must be one of Ignore, Warn, or Strict, got {value}"
            )
        return value == "Strict"

    @property
    def user(self) -> UserInfo:
        """The authenticated user (admission is told who writes)."""
        return self.request.get("user") or UserInfo("")

    def int_param(self, name: str) -> int | None:
        value = self.query.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise errors.new_bad_request(
                f'strconv.ParseInt: parsing "{value}": invalid syntax'
            ) from None


def admit(scope: RequestScope, new: dict[str, Any], old: dict[str, Any] | None = None) -> None:
    """The per-request write check the server attached (RBAC escalation prevention), if any.

    Upstream passes it in the request context to the policybased storages; here the
    aiohttp request carries it under "admit_write".
    """
    hook = scope.request.get("admit_write")
    if hook is not None:
        hook(new, old)


async def read_body(request: web.Request) -> bytes:
    """limitedReadBody: at most 3 MiB, else 413."""
    too_large = errors.new_request_entity_too_large(f"limit is {MAX_REQUEST_BODY_BYTES}")
    if request.content_length is not None and request.content_length > MAX_REQUEST_BODY_BYTES:
        raise too_large
    data = bytearray()
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > MAX_REQUEST_BODY_BYTES:
            raise too_large


def decode_body(body: bytes, media: str) -> Any:
    """A request body in JSON, YAML or protobuf -> its JSON-shaped value (400 if malformed)."""
    if not body.strip():
        raise errors.new_bad_request("the body of the request was empty")
    if media == negotiation.PROTOBUF:
        try:
            return envelope.decode(body)
        except envelope.CodecError as e:
            raise errors.new_bad_request(str(e)) from None
    if media == negotiation.YAML:
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise errors.new_bad_request(f"error converting YAML to JSON: {e}") from None
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        raise errors.new_bad_request(f"couldn't get version/kind; json parse error: {e}") from None


async def decode_object(scope: RequestScope) -> dict[str, Any]:
    media = negotiation.negotiate_input(scope.request.headers.get("Content-Type"))
    obj = decode_body(await read_body(scope.request), media)
    if not isinstance(obj, dict):
        raise errors.new_bad_request("the object provided is unrecognized (must be of type Object)")
    return obj


async def delete_options(scope: RequestScope) -> dict[str, Any]:
    """DeleteOptions from the body (if any) and the query, query winning as upstream."""
    options: dict[str, Any] = {}
    body = await read_body(scope.request)
    if body.strip():
        media = negotiation.negotiate_input(scope.request.headers.get("Content-Type"))
        decoded = decode_body(body, media)
        if not isinstance(decoded, dict):
            raise errors.new_bad_request("the body of a delete must be a DeleteOptions object")
        options.update(decoded)
    grace = scope.int_param("gracePeriodSeconds")
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    if "propagationPolicy" in scope.query:
        options["propagationPolicy"] = scope.query["propagationPolicy"]
    if "orphanDependents" in scope.query:
        options["orphanDependents"] = scope.flag("orphanDependents")
    policy = options.get("propagationPolicy")
    if policy is not None and policy not in ("Orphan", "Background", "Foreground"):
        raise errors.new_bad_request(
            f'DeleteOptions.propagationPolicy: Unsupported value: "{policy}": supported values: '
            '"Foreground", "Background", "Orphan"'
        )
    return options
