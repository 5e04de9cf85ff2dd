"""Indexed triggers (cacher/indexed_watchers.py, registry/triggers.py).

The property: with the pod registry's spec.nodeName trigger, every watcher receives
exactly the events that filtering the whole event stream through its own selector gives
(etcd3_watcher.transform, the store watch's per-watcher filter) — the index only skips
watchers that would have dropped the event anyway.
"""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi.scheme import SCHEME
from miniapiserver.cacher.cacher import Cacher
from miniapiserver.cacher.indexed_watchers import IndexedWatchers, trigger_values
from miniapiserver.registry import selection, triggers
from miniapiserver.storage.etcd3_watcher import transform
from miniapiserver.storage.interfaces import DELETED, MODIFIED

POD = SCHEME.resource_for("", "pods")
NODES = ["", "n1", "n2", "n3"]
SELECTORS = [
    {},
    {"fieldSelector": "spec.nodeName=n1"},
    {"fieldSelector": "spec.nodeName=n2"},
    {"fieldSelector": "spec.nodeName="},
    {"fieldSelector": "spec.nodeName!=n1"},
    {"fieldSelector": "spec.nodeName=n3,status.phase=Running"},
    {"fieldSelector": "status.phase=Running"},
    {"labelSelector": "app=web"},
    {"labelSelector": "app=web", "fieldSelector": "spec.nodeName=n2"},
]


def pod(name: str, node: str, app: str, phase: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns", "labels": {"app": app}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": phase},
    }


# One step: put a pod (create or update) or delete it.
steps = st.lists(
    st.tuples(
        st.sampled_from(["put", "put", "put", "delete"]),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(NODES),
        st.sampled_from(["web", "db"]),
        st.sampled_from(["Pending", "Running"]),
    ),
    max_size=30,
)


def expected(events: list, pred) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    """The reference: every event through the store watch's per-watcher filter."""
    out = []
    for ev in events:
        got = transform(ev.type, ev.object, ev.prev_object, ev.rv, pred)
        if got is not None:
            out.append((got.type, got.object["metadata"]["name"], got.rv))
    return out


async def run_steps(script: list) -> None:
    cacher = Cacher(
        None,  # type: ignore[arg-type]  # events are fed in directly; nothing is read
        "pods",
        lambda o: f"pods/ns/{o['metadata']['name']}",
        capacity=100,
        indexed_trigger=triggers.indexed_trigger(POD),
        get_attrs=selection.attrs_func(POD),
    )
    cacher.cache.replace({}, 1)
    cacher.ready.set()
    preds = [selection.predicate_from_query(POD, q, 0) for q in SELECTORS]
    watchers = [await cacher.watch("pods/", 1, p) for p in preds]
    events, rv = [], 1
    for op, name, node, app, phase in script:
        rv += 1
        key = f"pods/ns/{name}"
        if op == "delete":
            prev = cacher.cache.get(key)
            if prev is None:
                continue
            ev = cacher.cache.process_event(DELETED, key, prev, rv)
        else:
            ev = cacher.cache.process_event(MODIFIED, key, pod(name, node, app, phase), rv)
        events.append(ev)
        cacher.dispatch(ev)
    for w, p in zip(watchers, preds, strict=True):
        got = []
        for e in w.drain():
            got.append((e.type, e.object["metadata"]["name"], e.rv))
        assert got == expected(events, p), p


@settings(max_examples=150, deadline=None)
@given(steps)
def test_indexed_trigger_delivers_what_per_watcher_filtering_would(script: list) -> None:
    asyncio.run(run_steps(script))


def test_node_watchers_are_indexed_by_their_node() -> None:
    cacher = Cacher(None, "pods", lambda o: "", indexed_trigger=triggers.indexed_trigger(POD))  # type: ignore[arg-type]
    for q, want in [
        ({"fieldSelector": "spec.nodeName=n1"}, "n1"),
        ({"fieldSelector": "spec.nodeName=n1,metadata.name=x"}, "n1"),
        ({"fieldSelector": "spec.nodeName="}, ""),
        ({"fieldSelector": "spec.nodeName!=n1"}, None),
        ({"labelSelector": "a=b"}, None),
        ({}, None),
    ]:
        assert cacher._index(selection.predicate_from_query(POD, q, 0)) == want, q
    # Other resources have no trigger: their watchers are never indexed.
    nodes = SCHEME.resource_for("", "nodes")
    assert triggers.indexed_trigger(nodes) is None
    assert selection.predicate_from_query(nodes, {}, 0).index_fields == ()


def test_an_event_reaches_its_nodes_watchers_and_the_unindexed_only() -> None:
    ws = IndexedWatchers()
    ws.add_watcher("all", "", None)
    ws.add_watcher("one-object", "pods/ns/a", None)
    ws.add_watcher("n1", "", "n1")
    ws.add_watcher("n2", "", "n2")
    ws.add_watcher("unscheduled", "", "")
    assert sorted(ws.watchers_for("pods/ns/b", ["n1"])) == ["all", "n1"]
    # A binding moves the pod from "" to n2: the old and the new value's watchers.
    assert sorted(ws.watchers_for("pods/ns/a", ["n2", ""])) == [
        "all", "n2", "one-object", "unscheduled",
    ]  # fmt: skip
    assert len(ws.watchers_for("pods/ns/b", None)) == 4  # no trigger: everyone
    ws.discard("n1")
    assert "n1" not in ws and ws.value_watchers.keys() == {"n2", ""}
    trig = triggers.indexed_trigger(POD)
    assert trig is not None
    before, after = pod("a", "", "web", "Pending"), pod("a", "n2", "web", "Pending")
    assert trigger_values(trig, after, before) == ["n2", ""]
    assert trigger_values(trig, after, after) == ["n2"]
    assert trigger_values(trig, after, None) == ["n2"]


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(SELECTORS),
    st.lists(
        st.tuples(st.sampled_from(NODES), st.sampled_from(["web", "db"]),
                  st.sampled_from(["Pending", "Running"])),
        max_size=10,
    ),
)  # fmt: skip
def test_the_node_name_prefilter_never_changes_a_match(query: dict, pods: list) -> None:
    """The cheap spec.nodeName test before GetAttrs agrees with the full field match."""
    pred = selection.predicate_from_query(POD, query, 0)
    full = selection.attrs_func(POD)
    for i, (node, app, phase) in enumerate(pods):
        p = pod(f"p{i}", node, app, phase)
        assert pred.matches(p) == pred.matches_attrs(*full(p))
    pinned = "spec.nodeName=" in query.get("fieldSelector", "")
    assert (pred.prefilter is not None) == pinned
