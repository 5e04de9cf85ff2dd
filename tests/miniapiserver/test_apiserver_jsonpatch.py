"""JSON patch (RFC 6902) and JSON merge patch (RFC 7386): tables and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapiserver.patch.jsonpatch import (
    PatchError,
    apply_json_patch,
    create_merge_patch,
    merge_patch,
)

DOC = {"a": {"b": [1, 2, 3]}, "c": "x"}

JSON_PATCH_CASES = [
    ([{"op": "add", "path": "/d", "value": 1}], {**DOC, "d": 1}),
    ([{"op": "add", "path": "/a/b/-", "value": 4}], {"a": {"b": [1, 2, 3, 4]}, "c": "x"}),
    ([{"op": "add", "path": "/a/b/0", "value": 0}], {"a": {"b": [0, 1, 2, 3]}, "c": "x"}),
    ([{"op": "remove", "path": "/a/b/1"}], {"a": {"b": [1, 3]}, "c": "x"}),
    ([{"op": "replace", "path": "/c", "value": "y"}], {"a": {"b": [1, 2, 3]}, "c": "y"}),
    ([{"op": "move", "from": "/c", "path": "/e"}], {"a": {"b": [1, 2, 3]}, "e": "x"}),
    ([{"op": "copy", "from": "/a/b/0", "path": "/f"}], {**DOC, "f": 1}),
    ([{"op": "test", "path": "/c", "value": "x"}, {"op": "remove", "path": "/c"}], {"a": {"b": [1, 2, 3]}}),
    ([{"op": "add", "path": "/a~1b", "value": 1}], {**DOC, "a/b": 1}),
]  # fmt: skip


@pytest.mark.parametrize(("patch", "want"), JSON_PATCH_CASES)
def test_json_patch(patch: list, want: dict) -> None:
    assert apply_json_patch(DOC, patch) == want
    assert DOC == {"a": {"b": [1, 2, 3]}, "c": "x"}  # the input is never changed


@pytest.mark.parametrize(
    "patch",
    [
        [{"op": "remove", "path": "/nope"}],
        [{"op": "replace", "path": "/nope", "value": 1}],
        [{"op": "test", "path": "/c", "value": "other"}],
        [{"op": "add", "path": "/a/b/9", "value": 1}],
        [{"op": "frob", "path": "/c"}],
        [{"op": "add", "path": "c", "value": 1}],
        [{"op": "move", "from": "/a", "path": "/a/x"}],
        {"op": "add"},
    ],
)
def test_json_patch_errors(patch: object) -> None:
    with pytest.raises(PatchError):
        apply_json_patch(DOC, patch)


MERGE_CASES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]  # the RFC 7386 appendix examples, restated


@pytest.mark.parametrize(("doc", "patch", "want"), MERGE_CASES)
def test_merge_patch(doc: dict, patch: dict, want: dict) -> None:
    assert merge_patch(doc, patch) == want


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)
objects = st.dictionaries(
    st.text(max_size=2), json_values.filter(lambda v: v is not None), max_size=4
)


def _no_nulls(v: object) -> bool:
    if isinstance(v, dict):
        return all(x is not None and _no_nulls(x) for x in v.values())
    if isinstance(v, list):
        return all(_no_nulls(x) for x in v)
    return True


@settings(max_examples=60, deadline=None)
@given(objects, objects)
def test_created_merge_patch_turns_original_into_modified(a: dict, b: dict) -> None:
    """A patch made from (a, b) applied to a gives b, when b holds no nulls in maps."""
    if not _no_nulls(b):
        return
    assert merge_patch(a, create_merge_patch(a, b)) == b
