"""The OpenAPI v2 (swagger 2.0) document at /openapi/v2, as JSON and as gnostic protobuf.

Mirrors k8s.io/kube-openapi/pkg/handler/handler.go (one document for the whole
server, served as application/json or, for client-go's OpenAPISchema(), as
`application/com.github.proto-openapi.spec.v2@v1.0+protobuf` in gnostic's
openapi.v2.Document, labelled `...spec.v2.v1.0+protobuf`) and the v2 shape of k8s.io/apiserver/pkg/endpoints/openapi:
definitions named like the Go packages with x-kubernetes-group-version-kind,
operations with upstream's operationIds (listCoreV1NamespacedPod), tags, body and
query parameters, x-kubernetes-action and the group-version-kind of the object.
The schemas are openapi.py's walk with `#/definitions/` refs. kubectl 1.27 reads this
for `explain` and for `apply`'s patch metadata. Omitted: the /watch/ paths, the
non-resource paths, CRDs, per-field descriptions, ETag / If-None-Match.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml

from miniapi import scheme
from miniapi.runtime import ResourceInfo
from miniapiserver.endpoints import openapi
from miniapiserver.endpoints import openapiv2_pb2 as pb
from miniapiserver.endpoints.discovery import served_resources

V2_REFS = "#/definitions/"
# What client-go asks for; the reply is labelled with the "." spelling, as upstream's,
# because "@" is not a legal media-type character (Go's mime parser refuses it).
PROTOBUF_ACCEPT = ("com.github.proto-openapi.spec.v2@v1.0+protobuf",
                   "com.github.proto-openapi.spec.v2.v1.0+protobuf")  # fmt: skip
PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
PRODUCES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml"]  # fmt: skip
WRITE_PARAMS = ["dryRun", "fieldManager", "fieldValidation"]
DELETE_PARAMS = ["dryRun", "gracePeriodSeconds", "propagationPolicy"]
# the definitions operations refer to besides the kinds' own
EXTRA_DEFINITIONS = {
    META + "Patch": {
        "description": "Patch is provided to give a concrete name and type to the Kubernetes "
        "PATCH request body.",
        "type": "object",
    },
    META + "Status": {"description": "Status is a return value for calls that don't return "
                      "other objects.", "type": "object"},
    META + "DeleteOptions": {"description": "DeleteOptions may be provided when deleting an "
                             "API object.", "type": "object"},
}  # fmt: skip


def _camel(group: str, version: str) -> str:
    """core/v1 -> CoreV1, rbac.authorization.k8s.io/v1 -> RbacAuthorizationV1."""
    name = group.removesuffix(".k8s.io") if group else "core"
    return "".join(p[:1].upper() + p[1:] for p in name.split(".")) + version.capitalize()


def _tag(group: str, version: str) -> str:
    camel = _camel(group, version).removesuffix(version.capitalize())
    return f"{camel[:1].lower()}{camel[1:]}_{version}"


def _query(name: str) -> dict[str, Any]:
    return {"uniqueItems": True, "type": "string", "name": name, "in": "query"}


def _path_param(name: str, kind: str) -> dict[str, Any]:
    what = "name of the " + kind if name == "name" else "object name and auth scope"
    return {"uniqueItems": True, "type": "string", "description": what, "name": name,
            "in": "path", "required": True}  # fmt: skip


def _op(action: str, verb: str, info: ResourceInfo, suffix: str, ref: str, params: list) -> dict:
    gvk = info.gvk
    scope = "Namespaced" if info.namespaced else ""
    collection = "Collection" if action == "deletecollection" else ""
    op = {
        "consumes": PATCH_TYPES if action == "patch" else ["*/*"],
        "produces": PRODUCES,
        "schemes": ["https"],
        "tags": [_tag(gvk.group, gvk.version)],
        "operationId": f"{verb}{_camel(gvk.group, gvk.version)}{collection}{scope}{suffix}",
        "parameters": params,
        "responses": {"200": {"description": "OK", "schema": {"$ref": ref}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": gvk.group, "version": gvk.version, "kind": gvk.kind,
        },
    }  # fmt: skip
    if action in ("post", "put"):
        op["responses"]["201"] = {"description": "Created", "schema": {"$ref": ref}}
    return op


def _body(ref: str) -> dict[str, Any]:
    return {"name": "body", "in": "body", "required": True, "schema": {"$ref": ref}}


def _paths(info: ResourceInfo) -> dict[str, Any]:
    gvk = info.gvk
    base = f"/apis/{gvk.group}/{gvk.version}" if gvk.group else f"/api/{gvk.version}"
    ns = "/namespaces/{namespace}" if info.namespaced else ""
    coll, kind = f"{base}{ns}/{info.resource}", gvk.kind
    obj = V2_REFS + openapi.definition_name(info.type)
    lst = V2_REFS + openapi.definition_name(info.list_type)  # type: ignore[arg-type]
    status, patch = V2_REFS + META + "Status", V2_REFS + META + "Patch"
    writes = [_query(p) for p in WRITE_PARAMS]
    scope = [_path_param("namespace", kind)] if info.namespaced else []
    paths = {
        coll: {
            "get": _op("list", "list", info, kind, lst, [_query(p) for p in openapi.LIST_PARAMS]),
            "post": _op("post", "create", info, kind, obj, [_body(obj), *writes]),
            "delete": _op("deletecollection", "delete", info, kind, status,
                          [_query(p) for p in DELETE_PARAMS]),
            "parameters": scope,
        },
        coll + "/{name}": {
            "get": _op("get", "read", info, kind, obj, []),
            "put": _op("put", "replace", info, kind, obj, [_body(obj), *writes]),
            "patch": _op("patch", "patch", info, kind, obj, [_body(patch), *writes,
                                                             _query("force")]),
            "delete": _op("delete", "delete", info, kind, status,
                          [_query(p) for p in DELETE_PARAMS]),
            "parameters": [_path_param("name", kind), *scope],
        },
    }  # fmt: skip
    if "status" in info.subresources:
        paths[coll + "/{name}/status"] = {
            "get": _op("get", "read", info, kind + "Status", obj, []),
            "put": _op("put", "replace", info, kind + "Status", obj, [_body(obj), *writes]),
            "patch": _op("patch", "patch", info, kind + "Status", obj, [_body(patch), *writes]),
            "parameters": [_path_param("name", kind), *scope],
        }
    return paths


@cache
def document() -> dict[str, Any]:
    """The swagger 2.0 document of every served built-in group version."""
    paths: dict[str, Any] = {}
    definitions: dict[str, Any] = dict(EXTRA_DEFINITIONS)
    for group, version in sorted({(r.gvk.group, r.gvk.version) for r in served_resources(scheme.SCHEME)}):  # fmt: skip
        resources, schemas = openapi.group_version_schemas(group, version, V2_REFS)
        definitions.update(schemas)
        for r in resources:
            paths.update(_paths(r))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(definitions.items())),
    }


def wants_protobuf(accept: str) -> bool:
    return any(t in accept for t in PROTOBUF_ACCEPT)


@cache
def json_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()


def _extensions(node: dict[str, Any]) -> list[pb.NamedAny]:
    """Vendor extensions as gnostic carries them: each value as YAML text."""
    return [
        pb.NamedAny(name=k, value=pb.Any(yaml=yaml.safe_dump(v, default_flow_style=False)))
        for k, v in node.items()
        if k.startswith("x-")
    ]


def schema_proto(node: dict[str, Any]) -> pb.Schema:
    """A JSON schema as gnostic's Schema message."""
    s = pb.Schema(
        _ref=node.get("$ref", ""), format=node.get("format", ""),
        description=node.get("description", ""), required=node.get("required", []),
        vendor_extension=_extensions(node),
    )  # fmt: skip
    if "type" in node:
        s.type.value.append(node["type"])
    if "enum" in node:
        s.enum.extend(pb.Any(yaml=yaml.safe_dump(v)) for v in node["enum"])
    if "items" in node:
        s.items.schema.append(schema_proto(node["items"]))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        s.additional_properties.schema.CopyFrom(schema_proto(extra))
    elif isinstance(extra, bool):
        s.additional_properties.boolean = extra
    for name, prop in node.get("properties", {}).items():
        s.properties.additional_properties.add(name=name, value=schema_proto(prop))
    return s


def _parameter(p: dict[str, Any]) -> pb.ParametersItem:
    item = pb.ParametersItem()
    if p["in"] == "body":
        item.parameter.body_parameter.CopyFrom(
            pb.BodyParameter(
                name=p["name"], required=True, schema=schema_proto(p["schema"]), **{"in": "body"}
            )  # fmt: skip
        )
        return item
    fields = {"name": p["name"], "type": p["type"], "unique_items": True, "in": p["in"],
              "description": p.get("description", ""), "required": p.get("required", False)}  # fmt: skip
    if p["in"] == "path":
        item.parameter.non_body_parameter.path_parameter_sub_schema.CopyFrom(
            pb.PathParameterSubSchema(**fields)
        )
    else:
        item.parameter.non_body_parameter.query_parameter_sub_schema.CopyFrom(
            pb.QueryParameterSubSchema(**fields)
        )
    return item


def _operation(op: dict[str, Any]) -> pb.Operation:
    out = pb.Operation(
        tags=op["tags"], operation_id=op["operationId"], produces=op["produces"],
        consumes=op["consumes"], schemes=op["schemes"],
        parameters=[_parameter(p) for p in op["parameters"]], vendor_extension=_extensions(op),
    )  # fmt: skip
    for code, resp in op["responses"].items():
        value = pb.ResponseValue()
        value.response.description = resp["description"]
        value.response.schema.schema.CopyFrom(schema_proto(resp["schema"]))
        out.responses.response_code.add(name=code, value=value)
    return out


@cache
def proto_bytes() -> bytes:
    """The document as openapi.v2.Document bytes (kube-openapi's ToProtoBinary)."""
    doc = document()
    out = pb.Document(swagger="2.0", info=pb.Info(**doc["info"]))
    for path, item in doc["paths"].items():
        pi = pb.PathItem(parameters=[_parameter(p) for p in item.get("parameters", [])])
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                getattr(pi, method).CopyFrom(_operation(item[method]))
        out.paths.path.add(name=path, value=pi)
    for name, schema in doc["definitions"].items():
        out.definitions.additional_properties.add(name=name, value=schema_proto(schema))
    return out.SerializeToString(deterministic=True)
