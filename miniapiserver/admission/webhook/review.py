"""AdmissionReview v1: the request a webhook is sent and the checks on its answer.

Mirrors k8s.io/apiserver/pkg/admission/plugin/webhook/request/admissionreview.go
(CreateV1AdmissionReview, VerifyAdmissionResponse) and the shape of
k8s.io/api/admission/v1/types.go (AdmissionRequest, AdmissionResponse), and
webhook/errors (ToStatusErr: `admission webhook "x" denied the request: ...`,
NewDryRunUnsupportedErr). Pure: dicts in, dicts or errors out.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import msgspec

from miniapi import errors
from miniapi.meta.v1 import Status
from miniapiserver.admission.attributes import CREATE, DELETE, UPDATE, Attributes

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"
JSON_PATCH = "JSONPatch"
OPTIONS_KIND = {CREATE: "CreateOptions", UPDATE: "UpdateOptions", DELETE: "DeleteOptions"}


class InvalidResponse(ValueError):
    """The webhook answered, but not with a usable AdmissionReview."""


@dataclass(frozen=True)
class Result:
    """What VerifyAdmissionResponse keeps of a response."""

    allowed: bool
    status: dict[str, Any] | None = None
    patch: list[Any] | None = None
    warnings: list[str] = field(default_factory=list)


def create_review(uid: str, a: Attributes) -> dict[str, Any]:
    """CreateV1AdmissionReview: what the webhook is POSTed."""
    gvk = {"group": a.group, "version": a.version, "kind": a.kind}
    gvr = {"group": a.group, "version": a.version, "resource": a.resource}
    request: dict[str, Any] = {
        "uid": uid,
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "operation": a.operation,
        "userInfo": {"username": a.user.name, "groups": list(a.user.groups)},
        "object": a.object,
        "oldObject": a.old_object,
        "dryRun": a.dry_run,
    }
    if a.user.uid:
        request["userInfo"]["uid"] = a.user.uid
    for key, value in (("subResource", a.subresource), ("requestSubResource", a.subresource),
                       ("name", a.name), ("namespace", a.namespace)):  # fmt: skip
        if value:
            request[key] = value
    if a.operation in OPTIONS_KIND:
        request["options"] = {"apiVersion": "meta.k8s.io/v1", "kind": OPTIONS_KIND[a.operation]}
    return {"apiVersion": API_VERSION, "kind": KIND, "request": request}


def verify_response(uid: str, mutating: bool, body: bytes) -> Result:
    """VerifyAdmissionResponse; InvalidResponse says what is wrong."""
    try:
        review = msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        raise InvalidResponse(f"json parse error: {e}") from None
    if not isinstance(review, dict):
        raise InvalidResponse("the response is not an AdmissionReview object")
    response = review.get("response")
    if not isinstance(response, dict):
        raise InvalidResponse("webhook response was absent")
    if response.get("uid") != uid:
        raise InvalidResponse(f'expected response.uid="{uid}", got "{response.get("uid", "")}"')
    got = f"{review.get('apiVersion', '')}, Kind={review.get('kind', '')}"
    if (review.get("apiVersion"), review.get("kind")) != (API_VERSION, KIND):
        raise InvalidResponse(f"expected webhook response of {API_VERSION}, Kind={KIND}, got {got}")
    patch_b64, patch_type = response.get("patch") or "", response.get("patchType") or ""
    if mutating and patch_b64 and not patch_type:
        raise InvalidResponse("webhook returned response.patch but not response.patchType")
    if mutating and patch_type and not patch_b64:
        raise InvalidResponse("webhook returned response.patchType but not response.patch")
    if not mutating and patch_b64:
        raise InvalidResponse("validating webhooks may not return response.patch")
    if not mutating and patch_type:
        raise InvalidResponse("validating webhooks may not return response.patchType")
    return Result(
        allowed=bool(response.get("allowed")),
        status=response.get("status") if isinstance(response.get("status"), dict) else None,
        patch=_patch(patch_b64, patch_type) if patch_b64 else None,
        warnings=[w for w in response.get("warnings") or [] if isinstance(w, str)],
    )


def _patch(patch_b64: str, patch_type: str) -> list[Any]:
    if patch_type != JSON_PATCH:
        raise InvalidResponse(f'unsupported patch type "{patch_type}"')
    try:
        patch = msgspec.json.decode(base64.b64decode(patch_b64, validate=True))
    except (binascii.Error, ValueError, msgspec.DecodeError) as e:
        raise InvalidResponse(f"invalid patch: {e}") from None
    if not isinstance(patch, list):
        raise InvalidResponse("invalid patch: a JSON patch is a list of operations")
    return patch


def to_status_err(webhook_name: str, status: dict[str, Any] | None) -> errors.StatusError:
    """ToStatusErr: the rejection, with code >= 400 and the webhook named in the message."""
    status = dict(status or {})
    denied = f'admission webhook "{webhook_name}" denied the request'
    code = status.get("code") if isinstance(status.get("code"), int) else 0
    if status.get("message"):
        message = f"{denied}: {status['message']}"
    elif status.get("reason"):
        message = f"{denied}: {status['reason']}"
    else:
        message = f"{denied} without explanation"
    return errors.from_status(
        Status(
            kind="Status",
            api_version="v1",
            status="Failure",
            message=message,
            reason=str(status.get("reason") or ""),
            code=max(code, 400),
        )
    )


def dry_run_unsupported(webhook_name: str) -> errors.StatusError:
    """NewDryRunUnsupportedErr: a dry run may not reach a webhook with side effects."""
    return errors.new_bad_request(f'admission webhook "{webhook_name}" does not support dry run')
