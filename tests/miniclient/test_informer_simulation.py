"""The informer's contracts under a seeded, deterministic watch source.

Reference: client-go shared_informer.go's doc comment — the cache's history for
a key is a subsequence of the server's, and after quiescence the cache equals
the server's state. The fake here is only the *watch source* (list pages, a
watch stream, 410 after compaction, dropped streams, failing lists) inside this
simulator; the Reflector, DeltaFIFO, Indexer and SharedIndexInformer are real.
"""

from __future__ import annotations

import asyncio
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi import errors
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.backoff import Backoff
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.shared_informer import SharedIndexInformer
from miniclient.clock import FakeClock


def cm(name: str, rv: int) -> corev1.ConfigMap:
    return corev1.ConfigMap(
        metadata=metav1.ObjectMeta(namespace="ns", name=name, resource_version=str(rv))
    )


class FakeWatchSource:
    """An API server's list/watch surface over an in-memory event history."""

    def __init__(self) -> None:
        self.rv = 0
        self.state: dict[str, corev1.ConfigMap] = {}
        self.history: list[tuple[int, str, corev1.ConfigMap]] = []
        self.compacted = 0
        self.generation = 0
        self.fail_lists = 0
        self.changed = asyncio.Event()
        self.per_key: dict[str, list[int | None]] = {}

    def put(self, name: str) -> None:
        self.rv += 1
        key = f"ns/{name}"
        kind = metav1.MODIFIED if key in self.state else metav1.ADDED
        self.state[key] = cm(name, self.rv)
        self.history.append((self.rv, kind, self.state[key]))
        self.per_key.setdefault(key, []).append(self.rv)
        self.changed.set()

    def delete(self, name: str) -> None:
        key = f"ns/{name}"
        if key not in self.state:
            return
        self.rv += 1
        gone = self.state.pop(key)
        final = cm(name, self.rv)
        self.history.append((self.rv, metav1.DELETED, final))
        self.per_key[key].append(None)
        del gone
        self.changed.set()

    def drop_watches(self) -> None:
        self.generation += 1
        self.changed.set()

    def compact(self) -> None:
        self.compacted = self.rv

    async def list(self, resource_version: str, limit: int, continue_: str):
        if self.fail_lists:
            self.fail_lists -= 1
            raise errors.new_internal_error("etcd is unavailable")
        items = sorted(self.state.items())
        start = int(continue_ or 0)
        page = [o for _, o in items[start : start + limit]]
        token = str(start + limit) if start + limit < len(items) else ""
        return page, str(self.rv), token

    async def watch(self, resource_version: str):
        start = int(resource_version or 0)
        if start < self.compacted:
            raise errors.new_resource_expired("too old resource version")
        generation = self.generation
        sent = start
        while True:
            while generation == self.generation:
                pending = [e for e in self.history if e[0] > sent]
                if pending:
                    break
                self.changed.clear()
                await self.changed.wait()
            if generation != self.generation:
                return
            for rv, kind, obj in pending:
                sent = rv
                yield kind, obj
            if sent % 3 == 0:
                yield metav1.BOOKMARK, {"metadata": {"resourceVersion": str(sent)}}


OPS = st.lists(
    st.tuples(
        st.one_of(
            st.tuples(st.just("put"), st.sampled_from("abc")),
            st.tuples(st.just("delete"), st.sampled_from("abc")),
            st.tuples(st.just("drop"), st.none()),
            st.tuples(st.just("compact_drop"), st.none()),
            st.tuples(st.just("fail_lists"), st.integers(1, 3)),
            st.tuples(st.just("run"), st.integers(1, 30)),
        ),
        # Scheduler steps after the op: how far the informer gets before the next one.
        st.integers(0, 4),
    ),
    max_size=40,
)


def is_subsequence(short: list, long: list) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


async def simulate(ops, seed: int):
    clock = FakeClock()
    source = FakeWatchSource()
    informer = SharedIndexInformer(source, clock=clock, rng=random.Random(seed))
    seen: dict[str, list[int | None]] = {}

    def record(obj, rv):
        key = informer.indexer.key_func(obj)
        history = seen.setdefault(key, [])
        if not history or history[-1] != rv:
            history.append(rv)

    informer.add_event_handler(
        ResourceEventHandlerFuncs(
            add_func=lambda o: record(o, int(o.metadata.resource_version)),
            update_func=lambda old, new: record(new, int(new.metadata.resource_version)),
            delete_func=lambda o: record(o, None),
        )
    )

    async def run(steps: int):
        for _ in range(steps):
            await asyncio.sleep(0)
            if clock.has_waiters():
                clock.step(60.0)

    informer.run()
    informer.reflector.page_size = 2
    try:
        for (op, arg), *after in ops:
            if op == "put":
                source.put(arg)
            elif op == "delete":
                source.delete(arg)
            elif op == "drop":
                source.drop_watches()
            elif op == "compact_drop":
                source.compact()
                source.drop_watches()
            elif op == "fail_lists":
                source.fail_lists = arg
            else:
                await run(arg)
            await run(after[0] if after else 0)
        await run(400)
        await informer.wait_idle()
        cache = {informer.indexer.key_func(o): o for o in informer.indexer.list()}
        return source, seen, cache, informer
    finally:
        await informer.stop()


@settings(max_examples=25, deadline=None)
@given(OPS, st.integers(0, 2**16))
def test_cache_history_is_a_subsequence_and_cache_converges(ops, seed):
    source, seen, cache, informer = asyncio.run(simulate(ops, seed))
    assert informer.has_synced()
    assert {k: o.metadata.resource_version for k, o in cache.items()} == {
        k: o.metadata.resource_version for k, o in source.state.items()
    }
    for key, history in seen.items():
        server = source.per_key[key]
        assert is_subsequence(history, server), (key, history, server)


def test_a_compacted_watch_relists_and_a_dropped_watch_resumes_without_relist():
    ops = [(("put", "a"),), (("run", 20),), (("drop", None),), (("put", "b"),), (("run", 20),)]
    source, _, cache, informer = asyncio.run(simulate(ops, 1))
    assert informer.reflector.lists == 1
    assert informer.reflector.watches >= 2
    ops += [(("drop", None),), (("put", "c"),), (("compact_drop", None),), (("run", 30),)]
    source, _, cache, informer = asyncio.run(simulate(ops, 1))
    assert informer.reflector.lists == 2
    assert sorted(cache) == ["ns/a", "ns/b", "ns/c"]


def test_failing_lists_are_retried_until_the_cache_syncs():
    source, _, cache, informer = asyncio.run(simulate([(("fail_lists", 3),), (("put", "a"),)], 7))
    assert source.fail_lists == 0
    assert informer.reflector.lists == 1
    assert sorted(cache) == ["ns/a"]


def test_backoff_doubles_with_jitter_from_the_seed_and_resets_when_quiet():
    backoff = Backoff(random.Random(7))
    rng = random.Random(7)
    waits = [backoff.next(float(t)) for t in range(7)]
    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0]
    assert waits == [b + rng.random() * b for b in bases]
    # Two quiet minutes later the next failure starts from the initial delay again.
    assert backoff.next(200.0) < 1.6
