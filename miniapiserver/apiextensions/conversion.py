"""Conversion strategy Webhook: a ConversionReview v1 over HTTPS converts custom resources.

Mirrors k8s.io/apiextensions-apiserver/pkg/apiserver/conversion/webhook_converter.go
(webhookConverter.Convert: only objects not already in the desired version are sent, in one
ConversionReview with a fresh uid; getConvertedObjectsFromResponse: the response's kind,
uid and result status; the converted objects' count, apiVersion and kind; then
validateConvertedObject (same name, namespace, uid) and restoreObjectMeta (metadata comes
back from the original, only labels and annotations may change, and must stay valid)),
with upstream's error texts, each a 500 InternalError Status as the storage layer reports it.
The client config (url, or service through its Endpoints, and caBundle) is the admission
webhooks' (admission/webhook/client.py).
Omitted: ConversionReview v1beta1 (a CRD whose conversionReviewVersions do not name v1
fails every conversion with "no supported conversion review versions"), the converter's
metrics and tracing.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import msgspec

from miniapi import errors
from miniapi.admissionregistration.v1 import WebhookClientConfig
from miniapi.runtime import ResourceInfo
from miniapi.validation.field import new_path, to_aggregate
from miniapi.validation.objectmeta import validate_annotations, validate_labels
from miniapiserver.admission.webhook import client
from miniapiserver.apiextensions import schema as sch
from miniapiserver.apiextensions.crdinfo import Codec, CRDInfo
from miniapiserver.registry.store import RegistryStore

CONVERSION_REVIEW = "apiextensions.k8s.io/v1, Kind=ConversionReview"
TIMEOUT_SECONDS = 30


class ConvertError(Exception):
    """Why a conversion failed, in upstream's words (wrapped into an InternalError)."""


class WebhookConverter:
    """The VersionConverter of a CRD whose spec.conversion.strategy is Webhook."""

    def __init__(self, info: CRDInfo, stores: dict[str, RegistryStore], rng: random.Random):
        self.crd, self.stores, self.rng = info, stores, rng
        self.codec = Codec(info)
        hook = (info.spec.get("conversion") or {}).get("webhook") or {}
        self.client_config = msgspec.convert(
            hook.get("clientConfig") or {}, WebhookClientConfig, from_attributes=False
        )
        self.review_versions = hook.get("conversionReviewVersions") or []
        self.name = info.crd["metadata"]["name"]

    def prepare(self, info: ResourceInfo, obj: Any, strict: bool = False) -> dict:
        """Decode in the request's version: its schema prunes, defaults and validates."""
        want = f"{self.crd.group}/{info.gvk.version}"
        if isinstance(obj, dict) and obj.get("apiVersion", want) != want:
            raise errors.new_bad_request(
                f"the API version in the data ({obj['apiVersion']}) does not match the "
                f"expected API version ({want})"
            )
        obj = self.codec.default(info, self.codec.check_type_meta(info, obj), strict)
        errs = sch.validate_custom_resource(obj, self.crd.schema(info.gvk.version))
        if errs:
            name = obj.get("metadata", {}).get("name", "")
            raise errors.new_invalid(info.gvk.group, info.gvk.kind, name, errs)
        return obj

    async def convert(
        self, objs: list[dict], api_version: str, is_list: bool = False
    ) -> list[dict]:
        """Every object in api_version; the webhook is asked only for the others."""
        todo = [i for i, o in enumerate(objs) if o.get("apiVersion") != api_version]
        if not todo:
            return objs
        first = objs[todo[0]]
        kind = first.get("kind", "")
        in_gvk = f"{first.get('apiVersion', '')}, Kind={kind}" + ("List" if is_list else "")
        try:
            converted = await self._call([objs[i] for i in todo], api_version)
            out = list(objs)
            for n, i in enumerate(todo):
                out[i] = check_converted(objs[i], converted[n], api_version, n, is_list)
        except ConvertError as e:
            raise errors.new_internal_error(f"conversion webhook for {in_gvk} {e}") from None
        return out

    async def _call(self, objects: list[dict], api_version: str) -> list[Any]:
        """POST the ConversionReview; the converted objects of a valid response."""
        if "v1" not in self.review_versions:
            raise ConvertError("failed: no supported conversion review versions")
        uid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        review = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "ConversionReview",
            "request": {"uid": uid, "desiredAPIVersion": api_version, "objects": objects},
        }
        try:
            body = await client.call(
                self.name, self.client_config, TIMEOUT_SECONDS, review, self.stores
            )
        except client.CallingWebhookError as e:
            reason = e.reason.removeprefix("failed to call webhook: ")
            raise ConvertError(f"failed: {reason}") from None
        converted = converted_objects(body, uid)
        if len(converted) != len(objects):
            raise ConvertError(f"returned {len(converted)} objects, expected {len(objects)}")
        return converted


def converted_objects(body: bytes, uid: str) -> list[Any]:
    """getConvertedObjectsFromResponse for a ConversionReview v1."""
    try:
        review = msgspec.json.decode(body)
    except msgspec.DecodeError as e:
        raise ConvertError(f"failed: {e}") from None
    if not isinstance(review, dict):
        raise ConvertError("failed: the response is not a ConversionReview object")
    got = f"{review.get('apiVersion', '')}, Kind={review.get('kind', '')}"
    if got != CONVERSION_REVIEW:
        raise ConvertError(f"failed: expected webhook response of {CONVERSION_REVIEW}, got {got}")
    response = review.get("response")
    if not isinstance(response, dict):
        raise ConvertError("failed: no response provided")
    if response.get("uid", "") != uid:
        raise ConvertError(f'failed: expected response.uid="{uid}", got "{response.get("uid")}"')
    result = response.get("result") or {}
    if result.get("status") != "Success":
        message = result.get("message") or (
            f"response.result.status was '{result.get('status', '')}', not 'Success'"
        )
        raise ConvertError(f"failed: {message}")
    objects = response.get("convertedObjects") or []
    if not isinstance(objects, list):
        raise ConvertError("failed: response.convertedObjects is not a list")
    return objects


def check_converted(
    original: dict, converted: Any, api_version: str, i: int, in_list: bool
) -> dict:
    """The per-object checks of Convert, then restoreObjectMeta; the object to use."""
    where = f"returned invalid converted object at index {i}" if in_list else (
        "returned invalid object at index 0"
    )  # fmt: skip
    if not isinstance(converted, dict):
        raise ConvertError(f"{where}: Object 'Kind' is missing in '{converted}'")
    if converted.get("apiVersion") != api_version:
        raise ConvertError(
            f"{where}: invalid groupVersion (expected {api_version}, received "
            f"{converted.get('apiVersion', '')})"
        )
    if converted.get("kind") != original.get("kind"):
        raise ConvertError(
            f"{where}: invalid kind (expected {original.get('kind')}, received "
            f"{converted.get('kind', '')})"
        )
    problem = validate_converted_object(original, converted)
    if problem:
        where = f"returned invalid converted object at index {i}" if in_list else (
            "returned invalid object"
        )  # fmt: skip
        raise ConvertError(f"{where}: {problem}")
    try:
        return restore_object_meta(original, converted)
    except ValueError as e:
        where = f"returned invalid metadata in object at index {i}" if in_list else (
            "returned invalid metadata"
        )  # fmt: skip
        raise ConvertError(f"{where}: {e}") from None


def validate_converted_object(original: dict, converted: dict) -> str:
    """validateConvertedObject: kind, name, namespace and uid may not change."""
    om, cm = original.get("metadata") or {}, converted.get("metadata") or {}
    pairs = [
        ("kind", original.get("kind", ""), converted.get("kind", "")),
        ("name", om.get("name", ""), cm.get("name", "")),
        ("namespace", om.get("namespace", ""), cm.get("namespace", "")),
        ("UID", om.get("uid", ""), cm.get("uid", "")),
    ]
    for what, want, got in pairs:
        if want != got:
            return f"must have the same {what}: {want} != {got}"
    return ""


def restore_object_meta(original: dict, converted: dict) -> dict:
    """restoreObjectMeta: the original's metadata, with the webhook's labels/annotations."""
    response_meta = converted.get("metadata")
    if response_meta is None:
        raise ValueError("missing metadata in converted object")
    if not isinstance(response_meta, dict):
        raise ValueError(f"invalid metadata of type {_go_type(response_meta)} in converted object")
    meta = dict(original.get("metadata") or {})
    for fld in ("labels", "annotations"):
        value = response_meta.get(fld)
        if value is None:
            meta.pop(fld, None)
            continue
        if not isinstance(value, dict):
            raise ValueError(
                f"invalid metadata.{fld} of type {_go_type(value)} in converted object"
            )
        for k, v in value.items():
            if not isinstance(v, str):
                raise ValueError(
                    f"metadata.{fld}[{k}] must be a string, but is {_go_type(v)} in converted object"
                )
        if value != (meta.get(fld) or {}):
            errs = (
                validate_labels(value, new_path("metadata", "labels"))
                if fld == "labels"
                else validate_annotations(value, new_path("metadata", "annotation"))
            )
            if errs:
                raise ValueError(to_aggregate(errs))
        meta[fld] = value
    return {**converted, "metadata": meta}


def _go_type(v: Any) -> str:
    """The Go type a JSON value decodes to, for the error texts."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "[]interface {}"
    return "map[string]interface {}"
