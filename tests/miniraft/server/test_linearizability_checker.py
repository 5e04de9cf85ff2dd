"""The linearizability checker on known-good and known-bad histories.

Good histories are built the way they happen: every operation takes effect at
one instant between its call and its return, outputs computed sequentially at
those instants. Bad ones are good ones with one read made stale or invented.
"""

from __future__ import annotations

import math

import hypothesis.strategies as st
from hypothesis import given, settings

from miniraft.server.linearizability import UNKNOWN, Operation, check, step

VALUES = [b"a", b"b", b"c"]


@st.composite
def histories(draw):
    n = draw(st.integers(min_value=1, max_value=12))
    points = sorted(draw(st.lists(st.floats(0, 100), min_size=n, max_size=n, unique=True)))
    state: dict[bytes, bytes | None] = {}
    ops = []
    for i, t in enumerate(points):
        key = draw(st.sampled_from([b"x", b"y"]))
        kind = draw(st.sampled_from(["put", "get", "cas"]))
        args: tuple = ()
        if kind == "put":
            args = (draw(st.sampled_from(VALUES)),)
        elif kind == "cas":
            args = (draw(st.sampled_from([None, *VALUES])), draw(st.sampled_from(VALUES)))
        probe = Operation(i, key, kind, args, 0, 0, UNKNOWN)
        cur = state.get(key)
        _, nxt = step(cur, probe)
        output = {"get": cur, "put": None}.get(kind, kind == "cas" and cur == args[0])
        state[key] = nxt
        call = t - draw(st.floats(0, 30))
        ret = (
            math.inf
            if draw(st.integers(0, 9)) == 0 and kind != "get"
            else t + draw(st.floats(0, 30))
        )
        if ret == math.inf:
            output = UNKNOWN
        ops.append(Operation(i, key, kind, args, call, ret, output))
    return ops


@settings(max_examples=80, deadline=None)
@given(histories())
def test_histories_from_a_sequential_execution_are_linearizable(ops) -> None:
    assert check(ops)


def test_stale_read_after_completed_write_is_rejected() -> None:
    ops = [
        Operation(1, b"k", "put", (b"a",), 0, 1),
        Operation(2, b"k", "put", (b"b",), 2, 3),
        Operation(3, b"k", "get", (), 4, 5, b"a"),
    ]
    assert not check(ops)
    assert check([*ops[:2], Operation(3, b"k", "get", (), 2.5, 5, b"a")])  # overlapping: ok


def test_invented_value_and_double_cas_are_rejected() -> None:
    assert not check([Operation(1, b"k", "get", (), 0, 1, b"never")])
    cas = [
        Operation(1, b"c", "put", (b"0",), 0, 1),
        Operation(2, b"c", "cas", (b"0", b"1"), 2, 5, True),
        Operation(3, b"c", "cas", (b"0", b"1"), 2, 5, True),  # both cannot win
    ]
    assert not check(cas)
    lost = [cas[0], cas[1], Operation(3, b"c", "cas", (b"0", b"1"), 2, math.inf, UNKNOWN)]
    assert check(lost)


def test_unknown_put_may_take_effect_late_or_never() -> None:
    base = [Operation(1, b"k", "put", (b"a",), 0, 1)]
    maybe = Operation(2, b"k", "put", (b"b",), 2, math.inf, UNKNOWN)
    assert check([*base, maybe, Operation(3, b"k", "get", (), 3, 4, b"a")])
    assert check([*base, maybe, Operation(3, b"k", "get", (), 3, 4, b"b")])
    assert not check([*base, maybe, Operation(3, b"k", "get", (), 0.5, 0.9, b"b")])
