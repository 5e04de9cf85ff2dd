"""fastjson (the `_json`-only codec on the CLI's hot path) agrees with the json package."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicontainer.libcontainer import fastjson

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None)
@given(JSON)
def test_roundtrip_and_formatting_match_json(value):
    assert fastjson.loads(json.dumps(value)) == value
    assert fastjson.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert fastjson.dumps(value, indent=2) == json.dumps(value, indent=2, ensure_ascii=False)
    assert fastjson.dumps(value, indent="\t") == json.dumps(value, indent="\t", ensure_ascii=False)


@pytest.mark.parametrize("text", ["{bad", "[1,]", "", "1 2", '{"a":}'])
def test_errors_are_json_decode_errors(text):
    with pytest.raises(json.JSONDecodeError):
        fastjson.loads(text)
