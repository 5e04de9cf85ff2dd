"""The watch cache (pure) and the Cacher over a real store (etcd and miniraft).

WatchCache cases restate upstream's watch_cache_test.go: the ring keeps the
last N events, a watch from inside the ring replays what followed, a watch
from before it is 410 "too old resource version", rv 0 replays the current
objects. Cacher cases: fan-out with per-watcher filters, a slow watcher dropped
without holding the others back, bookmarks.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapiserver.cacher.cacher import Cacher
from miniapiserver.cacher.watch_cache import WatchCache
from miniapiserver.etcd.client import Client
from miniapiserver.storage import errors
from miniapiserver.storage.etcd3_store import Store
from miniapiserver.storage.interfaces import ADDED, BOOKMARK, DELETED, MODIFIED, SelectionPredicate


def obj(name: str, rv: int, **labels: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv), "labels": labels}
    }


def test_process_event_types_follow_the_store() -> None:
    c = WatchCache(capacity=10)
    c.replace({}, 1)
    assert c.process_event(ADDED, "pods/ns/a", obj("a", 2), 2).type == ADDED
    # a repeated ADDED for a key the cache holds is a modification of it
    assert c.process_event(ADDED, "pods/ns/a", obj("a", 3), 3).type == MODIFIED
    ev = c.process_event(DELETED, "pods/ns/a", obj("a", 4), 4)
    assert ev.type == DELETED and ev.prev_object == obj("a", 3)
    assert c.list() == [] and c.resource_version == 4


def test_ring_keeps_the_last_events_and_410s_before_them() -> None:
    c = WatchCache(capacity=3)
    c.replace({"pods/ns/a": obj("a", 5)}, 5)
    for rv in range(6, 11):
        c.process_event(MODIFIED, "pods/ns/a", obj("a", rv), rv)
    assert [e.rv for e in c.events_since(8)] == [9, 10]
    assert [e.rv for e in c.events_since(7)] == [8, 9, 10]
    with pytest.raises(errors.StorageError) as e:
        c.events_since(6)
    assert str(e.value) == "too old resource version: 6 (7)"


def test_rv_zero_replays_current_objects() -> None:
    c = WatchCache()
    c.replace({"pods/ns/b": obj("b", 3), "pods/ns/a": obj("a", 2)}, 4)
    events = c.events_since(0)
    assert [(e.type, e.key, e.rv) for e in events] == [
        (ADDED, "pods/ns/a", 4),
        (ADDED, "pods/ns/b", 4),
    ]


def test_a_fresh_list_cannot_replay_from_before_it() -> None:
    c = WatchCache()
    c.replace({}, 50)
    assert c.events_since(50) == []
    with pytest.raises(errors.StorageError):
        c.events_since(49)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), max_size=30),
    st.integers(1, 8),
    st.data(),
)
def test_events_since_is_the_suffix_after_rv(ops: list, capacity: int, data: st.DataObject) -> None:
    """For any rv the ring can serve, the replay is exactly the events after rv, in order."""
    c = WatchCache(capacity=capacity)
    c.replace({}, 1)
    history = []
    for i, (name, delete) in enumerate(ops, start=2):
        kind = DELETED if delete else ADDED
        c.process_event(kind, f"pods/ns/{name}", obj(name, i), i)
        history.append(i)
    rv = data.draw(st.integers(1, len(ops) + 1))
    if rv < c.oldest_rv():
        with pytest.raises(errors.StorageError):
            c.events_since(rv)
    else:
        assert [e.rv for e in c.events_since(rv)] == [r for r in history if r > rv]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abc"), st.booleans(), st.floats(0, 60)), max_size=60),
    st.integers(1, 6),
    st.data(),
)
def test_a_resizing_ring_still_replays_exactly_or_says_410(
    ops: list, capacity: int, data: st.DataObject
) -> None:
    """With dynamic sizing (resizeCacheLocked), whatever size the ring has grown or shrunk
    to, a watch from rv replays exactly the events after rv, or is refused with 410."""
    c = WatchCache(capacity=capacity, upper_bound=4 * capacity)
    c.replace({}, 1)
    history, now = [], 1.0
    for i, (name, delete, gap) in enumerate(ops, start=2):
        now += gap  # gaps past EVENT_FRESH_DURATION make events stale, and the ring shrink
        c.process_event(DELETED if delete else ADDED, f"pods/ns/{name}", obj(name, i), i, now)
        history.append(i)
        assert capacity <= c.capacity <= 4 * capacity
        assert len(c.events) <= c.capacity
    rv = data.draw(st.integers(1, len(ops) + 1))
    if rv < c.oldest_rv():
        with pytest.raises(errors.StorageError):
            c.events_since(rv)
    else:
        assert [e.rv for e in c.events_since(rv)] == [r for r in history if r > rv]


def test_the_ring_grows_while_events_are_fresh_and_shrinks_when_stale() -> None:
    c = WatchCache(capacity=4, upper_bound=16)
    c.replace({}, 1)
    for i in range(2, 22):  # 20 events within a second: nothing may be dropped below 16
        c.process_event(ADDED, f"pods/ns/p{i}", obj(f"p{i}", i), i, now=1.0 + i / 100)
    assert c.capacity == 16 and len(c.events) == 16
    for i in range(22, 40):  # a trickle, 100 s apart: the ring falls back to its lower bound
        c.process_event(ADDED, f"pods/ns/p{i}", obj(f"p{i}", i), i, now=100.0 * i)
    assert c.capacity == 4
    assert [e.rv for e in c.events_since(c.oldest_rv())] == [36, 37, 38, 39]
    # without a clock reading (now=0) or without an upper bound the ring stays fixed
    fixed = WatchCache(capacity=4)
    fixed.replace({}, 1)
    for i in range(2, 22):
        fixed.process_event(ADDED, f"pods/ns/p{i}", obj(f"p{i}", i), i, now=1.0)
    assert fixed.capacity == 4


def test_attributes_are_computed_once_per_stored_object() -> None:
    calls = []

    def get_attrs(o: dict) -> tuple[dict, dict]:
        calls.append(o["metadata"]["resourceVersion"])
        return o["metadata"]["labels"], {}

    c = WatchCache()
    c.replace({}, 1)
    ev = c.process_event(ADDED, "pods/ns/a", obj("a", 2, app="web"), 2, now=1.0)
    assert c.object_attrs("pods/ns/a", ev.object, get_attrs) == ({"app": "web"}, {})
    assert c.object_attrs("pods/ns/a", ev.object, get_attrs) == ({"app": "web"}, {})
    assert ev.attrs[False] == ({"app": "web"}, {})  # shared with the event's watchers
    nxt = c.process_event(MODIFIED, "pods/ns/a", obj("a", 3, app="db"), 3, now=1.0)
    assert nxt.attrs[True] == ({"app": "web"}, {})  # the previous object's, not recomputed
    assert c.object_attrs("pods/ns/a", nxt.object, get_attrs) == ({"app": "db"}, {})
    assert calls == ["2", "3"]


# --- the Cacher over a real store ------------------------------------------------


def with_cacher(store_url: str, body, **kwargs) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        client = Client([store_url])
        await client.connect()
        await client.wait_ready()
        store = Store(client, f"/registry-{uuid.uuid4().hex[:8]}")
        cacher = Cacher(
            store,
            "pods",
            lambda o: f"pods/{o['metadata']['namespace']}/{o['metadata']['name']}",
            **kwargs,
        )
        cacher.start()
        try:
            await asyncio.wait_for(cacher.ready.wait(), 10)
            await body(store, cacher)
        finally:
            await cacher.stop()
            await client.close()

    asyncio.run(main())


async def drain(w, n: int, timeout: float = 10) -> list:  # type: ignore[no-untyped-def]
    out = []

    async def go() -> None:
        async for ev in w:
            out.append((ev.type, ev.object["metadata"].get("name", ev.rv)))
            if len(out) == n:
                return

    await asyncio.wait_for(go(), timeout)
    return out


def test_fan_out_with_per_watcher_filters(store_url: str) -> None:
    async def body(store: Store, cacher: Cacher) -> None:
        everything = await cacher.watch("pods/", 0)
        only_web = await cacher.watch(
            "pods/",
            0,
            SelectionPredicate(
                label=lambda ls: ls.get("app") == "web",
                get_attrs=lambda o: (o["metadata"].get("labels", {}), {}),
            ),
        )
        other_ns = await cacher.watch("pods/other/", 0)
        web = {"metadata": {"name": "a", "namespace": "ns", "labels": {"app": "web"}}}
        await store.create("pods/ns/a", web)
        await store.create("pods/ns/b", {"metadata": {"name": "b", "namespace": "ns"}})
        await store.create("pods/other/c", {"metadata": {"name": "c", "namespace": "other"}})
        assert await drain(everything, 3) == [(ADDED, "a"), (ADDED, "b"), (ADDED, "c")]
        assert await drain(only_web, 1) == [(ADDED, "a")]
        assert await drain(other_ns, 1) == [(ADDED, "c")]
        listed = await cacher.get_list("pods/ns/", rv="0")
        assert [o["metadata"]["name"] for o in listed.items] == ["a", "b"]

    with_cacher(store_url, body)


def test_slow_watcher_is_dropped_others_go_on(store_url: str) -> None:
    async def body(store: Store, cacher: Cacher) -> None:
        slow = await cacher.watch("pods/", 0)
        fast = await cacher.watch("pods/", 0)
        got = []

        async def consume() -> None:
            async for ev in fast:
                got.append(ev.object["metadata"]["name"])
                if len(got) == 8:
                    return

        task = asyncio.create_task(consume())
        for i in range(8):
            await store.create(f"pods/ns/p{i}", {"metadata": {"name": f"p{i}", "namespace": "ns"}})
        await asyncio.wait_for(task, 10)
        assert got == [f"p{i}" for i in range(8)]
        assert slow.overflowed and slow.stopped
        assert slow not in cacher.watchers
        # the dropped watcher ends after the 4 events its buffer held; its client re-lists
        assert [ev.object["metadata"]["name"] async for ev in slow] == ["p0", "p1", "p2", "p3"]

    with_cacher(store_url, body, watcher_buffer=4)


def test_bookmarks_carry_the_store_revision(store_url: str) -> None:
    async def body(store: Store, cacher: Cacher) -> None:
        w = await cacher.watch("pods/", 0, SelectionPredicate(allow_watch_bookmarks=True))
        created = await store.create("pods/ns/a", {"metadata": {"name": "a", "namespace": "ns"}})
        events = []
        async for ev in w:
            events.append(ev)
            # A bookmark may come before the create's event on a slow machine; wait for
            # the one after it.
            if ev.type == BOOKMARK and any(e.type == ADDED for e in events):
                break
        assert [e.type for e in events if e.type != BOOKMARK] == [ADDED]
        assert events[-1].rv >= int(created["metadata"]["resourceVersion"])

    with_cacher(store_url, body, bookmark_interval=0.2)


def test_watch_behind_the_ring_is_410(store_url: str) -> None:
    async def body(store: Store, cacher: Cacher) -> None:
        first = await store.create("pods/ns/a", {"metadata": {"name": "a", "namespace": "ns"}})
        for i in range(4):
            await store.guaranteed_update("pods/ns/a", lambda o, i=i: {**o, "n": i})
        await cacher.wait_until_fresh_and_block(await store.current_revision())
        with pytest.raises(errors.StorageError) as e:
            await cacher.watch("pods/", int(first["metadata"]["resourceVersion"]))
        assert e.value.code == errors.ERR_EXPIRED

    with_cacher(store_url, body, capacity=2)


def test_catching_up_with_writes_to_other_resources(store_url: str) -> None:
    """A watch "from now" on a quiet resource must not wait for an event of its own:
    a progress notification moves the cache to the store's revision."""

    async def body(store: Store, cacher: Cacher) -> None:
        for i in range(3):
            await store.create(
                f"services/ns/s{i}", {"metadata": {"name": f"s{i}", "namespace": "ns"}}
            )
        current = await store.current_revision()
        assert cacher.cache.resource_version < current
        await asyncio.wait_for(cacher.wait_until_fresh_and_block(current), 2.5)
        assert cacher.cache.resource_version >= current

    with_cacher(store_url, body)


def test_guaranteed_update_from_a_stale_cached_copy(store_url: str) -> None:
    """Cacher.GuaranteedUpdate's cachedExistingObject: a stale copy costs a retry, never a
    lost write, and a no-op judged on a stale copy is checked against the store first."""

    async def body(store: Store, cacher: Cacher) -> None:
        first = await store.create("pods/ns/a", {"metadata": {"name": "a", "namespace": "ns"}})
        second = await store.guaranteed_update("pods/ns/a", lambda o: {**o, "n": 1})
        seen = []

        def bump(o: dict) -> dict:
            seen.append(o.get("n"))
            return {**o, "n": (o.get("n") or 0) + 10}

        out = await store.guaranteed_update("pods/ns/a", bump, cached_existing=first)
        assert seen == [None, 1]  # tried on the stale copy, then on the store's
        assert out["n"] == 11
        current = await store.get("pods/ns/a")
        # A no-op on a stale copy is not trusted: it re-reads, and the store's object wins.
        same = await store.guaranteed_update("pods/ns/a", lambda o: o, cached_existing=second)
        assert same["metadata"]["resourceVersion"] == current["metadata"]["resourceVersion"]
        assert same["n"] == 11

        def refuse_stale(o: dict) -> dict:
            if o.get("n") != 11:
                raise errors.StorageError(errors.ERR_UNREACHABLE, "pods/ns/a", "stale")
            return {**o, "n": 12}

        out = await store.guaranteed_update("pods/ns/a", refuse_stale, cached_existing=first)
        assert out["n"] == 12

    with_cacher(store_url, body)
