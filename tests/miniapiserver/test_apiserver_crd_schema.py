"""The structural-schema core: validation messages, pruning, defaulting (pure, no server).

Messages are upstream's (kube-openapi's validate errors as apiextensions-apiserver's
ConvertError turns them into field errors).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi.validation.field import new_path
from miniapiserver.apiextensions import schema

SPEC = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
        "port": {"x-kubernetes-int-or-string": True},
        "tags": {"type": "array", "maxItems": 2, "minItems": 1, "items": {"type": "string"}},
        "ratio": {"type": "number", "minimum": 0.5},
        "note": {"type": "string", "nullable": True},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "nested": {
            "type": "object",
            "properties": {"on": {"type": "boolean", "default": True}},
            "default": {},
        },
    },
}


def errors_of(value: object) -> list[str]:
    return [str(e) for e in schema.validate(value, SPEC, new_path("spec"))]


def test_messages_match_upstream() -> None:
    assert errors_of({"name": "ok"}) == []
    assert errors_of({}) == ["spec.name: Required value"]
    assert errors_of({"name": "A1"}) == [
        "spec.name: Invalid value: \"A1\": spec.name in body should match '^[a-z]+$'"
    ]
    assert errors_of({"name": "abcdefg"}) == ["spec.name: Too long: must have at most 5 bytes"]
    assert errors_of({"name": "a", "port": 1.5}) == [
        'spec.port: Invalid value: "number": '
        'spec.port in body must be of type integer-or-string: "number"'
    ]
    assert errors_of({"name": "a", "tags": ["x", "y", "z"]}) == [
        "spec.tags: Too many: 3: must have at most 2 items"
    ]
    assert errors_of({"name": "a", "tags": []})[0].endswith(
        "spec.tags in body should have at least 1 items"
    )
    assert errors_of({"name": "a", "tags": [1]}) == [
        'spec.tags[0]: Invalid value: "integer": spec.tags[0] in body must be of type string: '
        '"integer"'
    ]
    assert errors_of({"name": "a", "ratio": 0.1}) == [
        "spec.ratio: Invalid value: 0.1: spec.ratio in body should be greater than or equal to 0.5"
    ]
    assert errors_of({"name": "a", "note": None}) == []
    assert errors_of({"name": None}) == [
        'spec.name: Invalid value: "null": spec.name in body must be of type string: "null"'
    ]
    assert errors_of({"name": "a", "labels": {"k": 1}}) == [
        'spec.labels.k: Invalid value: "integer": spec.labels.k in body must be of type string: '
        '"integer"'
    ]


def test_prune_and_default() -> None:
    value = {"name": "a", "unknown": 1, "labels": {"any": "kept"}, "tags": ["x"]}
    pruned = schema.prune(value, SPEC)
    assert pruned == {"name": "a", "labels": {"any": "kept"}, "tags": ["x"]}
    assert schema.default(pruned, SPEC)["nested"] == {"on": True}
    assert schema.default({"nested": {"on": False}}, SPEC)["nested"] == {"on": False}
    obj = {"apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "x": 1}, "junk": 2,
           "spec": {"name": "a", "zzz": 3}}  # fmt: skip
    root = {"type": "object", "properties": {"spec": SPEC}}
    assert schema.prune_custom_resource(obj, root, preserve=False) == {
        "apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "x": 1},
        "spec": {"name": "a"},
    }  # fmt: skip
    assert schema.prune_custom_resource(obj, root, preserve=True) == obj


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "tags", "x", "labels", "nested"]), JSON))
def test_pruning_keeps_only_specified_fields_and_is_idempotent(value: dict) -> None:
    pruned = schema.prune(value, SPEC)
    assert set(pruned) <= set(SPEC["properties"])
    assert schema.prune(pruned, SPEC) == pruned
    defaulted = schema.default(pruned, SPEC)
    assert schema.default(defaulted, SPEC) == defaulted
    # defaulting only adds: every pruned field survives unchanged at the top level
    assert all(defaulted[k] == v for k, v in pruned.items() if k != "nested")


def test_structural_invariants() -> None:
    from miniapiserver.apiextensions.structural import validate_crd_schemas

    crd = {"spec": {"preserveUnknownFields": True, "versions": [{"name": "v1", "schema": {
        "openAPIV3Schema": {"type": "string", "properties": {
            "a": {}, "b": {"type": "array", "items": {}},
            "c": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
            "d": {"x-kubernetes-int-or-string": True}}}}}]}}  # fmt: skip
    root = "spec.versions[0].schema.openAPIV3Schema"
    assert [str(e) for e in validate_crd_schemas(crd)] == [
        "spec.preserveUnknownFields: Invalid value: true: must be false",
        f'{root}.type: Invalid value: "string": must be object at the root',
        f"{root}.properties[a].type: Required value: must not be empty for specified object fields",
        f"{root}.properties[b].items.type: Required value: "
        "must not be empty for specified array items",
        f"{root}.properties[c].additionalProperties: Forbidden: "
        "additionalProperties and properties are mutual exclusive",
    ]


def test_unknown_fields_are_what_pruning_drops() -> None:
    value = {"name": "a", "x": 1, "tags": ["t"], "labels": {"free": "form"},
             "nested": {"on": True, "off": False}}  # fmt: skip
    assert schema.unknown_fields(value, SPEC, "spec") == ["spec.x", "spec.nested.off"]
    assert schema.unknown_fields(schema.prune(value, SPEC), SPEC) == []
