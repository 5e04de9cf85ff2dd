"""Strategic merge patch, as tables in the spirit of upstream's patch_test.go.

Each case: the live object, the patch kubectl (or a user) sends, the result the
API server stores. Kinds choose the merge keys (containers by name, ports by
containerPort, finalizers as a set, ...).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapiserver.patch.jsonpatch import PatchError
from miniapiserver.patch.patchmeta import schema_for_kind
from miniapiserver.patch.strategic import strategic_merge_patch


def pod(*containers: dict, **spec: object) -> dict:
    return {"kind": "Pod", "spec": {"containers": list(containers), **spec}}


def c(name: str, **fields: object) -> dict:
    return {"name": name, **fields}


CASES = [
    # maps merge, scalars replace, null deletes
    ("scalar replaced", {"a": 1, "b": 2}, {"a": 3}, {"a": 3, "b": 2}),
    ("null deletes a key", {"a": 1, "b": 2}, {"a": None}, {"b": 2}),
    ("null for an absent key is dropped", {"a": 1}, {"z": None}, {"a": 1}),
    ("nested maps merge", {"m": {"x": 1, "y": 2}}, {"m": {"y": 3}}, {"m": {"x": 1, "y": 3}}),
    # list of maps merged by key
    (
        "container updated by name, others kept",
        pod(c("a", image="1"), c("b", image="1")),
        pod(c("b", image="2")),
        pod(c("a", image="1"), c("b", image="2")),
    ),
    (
        "container added",
        pod(c("a", image="1")),
        pod(c("b", image="2")),
        pod(c("a", image="1"), c("b", image="2")),
    ),
    (
        "$patch: delete removes the item with that key",
        pod(c("a"), c("b")),
        pod({"name": "a", "$patch": "delete"}),
        pod(c("b")),
    ),
    (
        "$patch: replace on a list replaces it",
        pod(c("a"), c("b")),
        pod(c("z"), {"$patch": "replace"}),
        pod(c("z")),
    ),
    (
        "env merged by name inside a container",
        pod(c("a", env=[{"name": "X", "value": "1"}, {"name": "Y", "value": "1"}])),
        pod(c("a", env=[{"name": "Y", "value": "2"}])),
        pod(c("a", env=[{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])),
    ),
    (
        "ports merged by containerPort",
        pod(c("a", ports=[{"containerPort": 80}, {"containerPort": 90}])),
        pod(c("a", ports=[{"containerPort": 90, "name": "n"}])),
        pod(c("a", ports=[{"containerPort": 80}, {"containerPort": 90, "name": "n"}])),
    ),
    (
        "a list without a merge strategy is replaced",
        pod(c("a", args=["x", "y"])),
        pod(c("a", args=["z"])),
        pod(c("a", args=["z"])),
    ),
    # maps with directives
    ("$patch: replace on a map", {"m": {"a": 1, "b": 2}}, {"m": {"c": 3, "$patch": "replace"}}, {"m": {"c": 3}}),
    ("$patch: delete on a map", {"m": {"a": 1}, "n": 1}, {"m": {"$patch": "delete"}}, {"m": {}, "n": 1}),
    # primitive lists with the merge strategy (metadata.finalizers)
    (
        "finalizers merge as a set",
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        {"metadata": {"finalizers": ["a", "b", "c"]}},
    ),
    (
        "$deleteFromPrimitiveList removes values",
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"finalizers": ["a", "c"]}},
    ),
    # order directives
    (
        "$setElementOrder puts patched and live items in the given order",
        pod(c("a"), c("b"), c("c")),
        {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}], "containers": [c("a", image="2")]}},
        pod(c("c"), c("a", image="2"), c("b")),
    ),
    (
        "$retainKeys drops the keys not listed (deployment strategy switch)",
        {"kind": "Deployment", "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        {"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}}},
    ),
    (
        "a new list is taken without its directives",
        {"kind": "Pod", "spec": {}},
        pod(c("a"), {"name": "gone", "$patch": "delete"}),
        pod(c("a")),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "original", "patch", "want"), CASES, ids=[c[0] for c in CASES])
def test_strategic_merge_patch(name: str, original: dict, patch: dict, want: dict) -> None:
    kind = original.get("kind", "Pod")
    before = repr(original)
    assert strategic_merge_patch(original, patch, schema_for_kind(kind)) == want
    assert repr(original) == before  # the live object is not modified in place


ERRORS = [
    ("item without its merge key", pod(c("a")), pod({"image": "x"})),
    ("unknown $patch type", {"m": {}}, {"m": {"$patch": "frob"}}),
    ("$retainKeys not covering the patch", {"spec": {"strategy": {}}}, {"spec": {"strategy": {"$retainKeys": ["a"], "b": 1}}}),
    ("$patch: merge in a list", pod(c("a")), pod({"$patch": "merge"})),
    ("lists of lists", {"x": [[1]]}, {"x": [[2]]}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "original", "patch"), ERRORS, ids=[e[0] for e in ERRORS])
def test_strategic_merge_patch_errors(name: str, original: dict, patch: dict) -> None:
    schema = schema_for_kind("Pod")
    if name == "lists of lists":
        with pytest.raises(PatchError):
            strategic_merge_patch(
                {"kind": "Pod", "metadata": {"finalizers": [[1]]}},
                {"metadata": {"finalizers": [[2]]}},
                schema,
            )
        return
    with pytest.raises(PatchError):
        strategic_merge_patch(original, patch, schema)


names = st.sampled_from(["a", "b", "c", "d"])
containers = st.lists(
    st.builds(lambda n, i: {"name": n, "image": i}, names, st.sampled_from(["1", "2"])),
    max_size=4,
    unique_by=lambda x: x["name"],
)


@settings(max_examples=60, deadline=None)
@given(containers, containers)
def test_container_merge_keeps_every_name_once(live: list, patch: list) -> None:
    """After a merge, each container name appears once, patched images win, live ones stay."""
    out = strategic_merge_patch(pod(*live), pod(*patch), schema_for_kind("Pod"))
    got = {x["name"]: x["image"] for x in out["spec"]["containers"]}
    assert len(got) == len(out["spec"]["containers"])
    want = {x["name"]: x["image"] for x in live} | {x["name"]: x["image"] for x in patch}
    assert got == want
