"""DeltaFIFO (tools/cache/delta_fifo_test.go): accumulation, dedup, tombstones, sync."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.cache.controller import ResourceEventHandlerFuncs, process_deltas
from miniclient.cache.delta_fifo import (
    ADDED,
    DELETED,
    REPLACED,
    SYNC,
    UPDATED,
    DeltaFIFO,
    ErrRequeue,
    FIFOClosedError,
)
from miniclient.cache.store import (
    DeletedFinalStateUnknown,
    deletion_handling_meta_namespace_key_func,
    meta_namespace_key_func,
    new_indexer,
)


def cm(name: str, rv: int) -> corev1.ConfigMap:
    return corev1.ConfigMap(
        metadata=metav1.ObjectMeta(namespace="ns", name=name, resource_version=str(rv))
    )


def popped(fifo: DeltaFIFO):
    out = []
    fifo.pop_nowait(lambda deltas, initial: out.append(deltas))
    return out[0] if out else None


def kinds(deltas):
    return [(d.type, d.object.metadata.resource_version) for d in deltas]


def test_deltas_accumulate_per_key_in_arrival_order():
    fifo = DeltaFIFO()
    fifo.add(cm("a", 1))
    fifo.add(cm("b", 2))
    fifo.update(cm("a", 3))
    assert kinds(popped(fifo)) == [(ADDED, "1"), (UPDATED, "3")]
    assert kinds(popped(fifo)) == [(ADDED, "2")]
    assert popped(fifo) is None


def test_two_deletions_collapse_keeping_the_real_final_state():
    fifo = DeltaFIFO()
    fifo.add(cm("a", 1))
    fifo.delete(cm("a", 2))
    fifo.delete(DeletedFinalStateUnknown("ns/a", cm("a", 1)))
    deltas = popped(fifo)
    assert [d.type for d in deltas] == [ADDED, DELETED]
    assert deltas[-1].object.metadata.resource_version == "2"


def test_delete_of_an_object_nobody_knows_is_dropped():
    fifo = DeltaFIFO(known_objects=new_indexer(meta_namespace_key_func))
    fifo.delete(cm("ghost", 1))
    assert fifo.list_keys() == []


def test_replace_emits_replaced_and_tombstones_and_counts_initial_population():
    known = new_indexer(meta_namespace_key_func)
    known.add(cm("gone", 1))
    known.add(cm("kept", 1))
    fifo = DeltaFIFO(known_objects=known)
    fifo.add(cm("queued-only", 2))
    fifo.replace([cm("kept", 5)], "5")
    assert [d.type for d in fifo.items["ns/kept"]] == [REPLACED]
    tomb = fifo.items["ns/gone"][-1]
    assert tomb.type == DELETED and isinstance(tomb.object, DeletedFinalStateUnknown)
    assert tomb.object.obj.metadata.resource_version == "1"
    # Never reached the store, and vanished from the relist: deleted too (newer upstream).
    assert fifo.items["ns/queued-only"][-1].type == DELETED


def test_has_synced_after_the_first_list_is_popped():
    known = new_indexer(meta_namespace_key_func)
    known.add(cm("gone", 1))
    fifo = DeltaFIFO(known_objects=known)
    fifo.replace([cm("a", 5), cm("b", 5)], "5")
    assert fifo.initial_population_count == 3
    initial = []
    while fifo.pop_nowait(lambda d, i: initial.append(i)):
        assert not fifo.has_synced() or len(initial) == 3
    assert initial == [True, True, True]
    assert fifo.has_synced()
    fifo.add(cm("c", 6))
    fifo.pop_nowait(lambda d, i: initial.append(i))
    assert initial[-1] is False


def test_resync_skips_keys_with_queued_deltas_and_sync_never_resurrects():
    known = new_indexer(meta_namespace_key_func)
    known.add(cm("a", 1))
    known.add(cm("b", 1))
    fifo = DeltaFIFO(known_objects=known)
    fifo.update(cm("a", 2))
    fifo.resync()
    assert [d.type for d in fifo.items["ns/a"]] == [UPDATED]
    assert [d.type for d in fifo.items["ns/b"]] == [SYNC]
    fifo.delete(cm("b", 1))
    fifo._queue_action(SYNC, cm("b", 1))
    assert fifo.items["ns/b"][-1].type == DELETED


def test_requeue_puts_the_deltas_back_and_close_ends_pop():
    fifo = DeltaFIFO()
    fifo.add(cm("a", 1))

    def fail(deltas, initial):
        raise ErrRequeue()

    fifo.pop_nowait(fail)
    assert fifo.list_keys() == ["ns/a"]

    async def main():
        popped(fifo)
        fifo.close()
        with pytest.raises(FIFOClosedError):
            await fifo.pop(lambda d, i: None)

    asyncio.run(main())


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from("abcd")),
        st.tuples(st.just("del"), st.sampled_from("abcd")),
        st.tuples(st.just("pop"), st.integers(1, 3)),
        st.tuples(st.just("relist"), st.booleans()),
        st.tuples(st.just("resync"), st.none()),
    ),
    max_size=50,
)


@settings(max_examples=50, deadline=None)
@given(EVENTS)
def test_store_converges_to_server_state_through_relists_and_lost_events(events):
    """Events may be lost (lose=True) and only a relist repairs them; the final
    relist and drain always leave the store equal to the server."""
    server: dict[str, corev1.ConfigMap] = {}
    rv = 0
    store = new_indexer(deletion_handling_meta_namespace_key_func)
    fifo = DeltaFIFO(known_objects=store)
    handler = ResourceEventHandlerFuncs()

    def process(deltas, initial):
        process_deltas(handler, store, deltas, initial)

    lose = False
    for op, arg in events:
        if op == "put":
            rv += 1
            existed = f"ns/{arg}" in server
            server[f"ns/{arg}"] = cm(arg, rv)
            if not lose:
                (fifo.update if existed else fifo.add)(server[f"ns/{arg}"])
        elif op == "del":
            if f"ns/{arg}" in server:
                rv += 1
                gone = server.pop(f"ns/{arg}")
                if not lose:
                    fifo.delete(gone)
        elif op == "pop":
            for _ in range(arg):
                fifo.pop_nowait(process)
        elif op == "relist":
            fifo.replace(list(server.values()), str(rv))
            lose = arg
        else:
            fifo.resync()
    fifo.replace(list(server.values()), str(rv))
    while fifo.pop_nowait(process) is not None:
        pass
    assert {
        k: o.metadata.resource_version for k, o in ((store.key_func(o), o) for o in store.list())
    } == {k: o.metadata.resource_version for k, o in server.items()}
