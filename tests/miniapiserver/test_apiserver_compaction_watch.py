"""Progress answers of an old etcd must not move a watch past events it has not sent.

etcd 3.4 before 3.4.31 (Debian ships 3.4.23) answers a WatchProgressRequest at once with
its current revision, even while older events are still queued for the watch (etcd issue
15220). The Cacher turned that answer into a bookmark: the watch cache's revision and every
bookmarked watcher's jumped ahead, and the queued events that followed were dropped by those
watchers, so under load the scheduler and the hollow kubelets stopped seeing pods
(benchmarks/hollow_scale.py stalled). These tests build such a backlog on a real etcd.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from miniapiserver.cacher.cacher import Cacher
from miniapiserver.etcd.client import Client
from miniapiserver.storage.etcd3_store import Store
from miniapiserver.storage.feature import supports_request_watch_progress
from miniapiserver.storage.interfaces import BOOKMARK, EVERYTHING, SelectionPredicate

from .conftest import start_etcd, stop_etcd

N = 1500


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("3.4.23", False), ("3.4.30", False), ("3.4.31", True), ("3.4.31-rc.0", False),
        ("3.5.0", False), ("3.5.12", False), ("3.5.13", True), ("3.6.0", True),
        ("3.4.0-miniraft", False), ("garbage", False),
    ],
)  # fmt: skip
def test_request_watch_progress_support_by_etcd_version(version: str, ok: bool) -> None:
    assert supports_request_watch_progress(version) is ok


@pytest.fixture(scope="module")
def etcd_url():  # type: ignore[no-untyped-def]
    url, proc, data = start_etcd("etcd")
    try:
        yield url
    finally:
        stop_etcd(proc, data)


async def _store(url: str) -> Store:
    client = Client([url])
    await client.connect()
    await client.wait_ready()
    return Store(client, f"/registry-{uuid.uuid4().hex[:8]}")


async def _create_pods(store: Store, n: int, tag: str) -> None:
    pad = "x" * 1500  # big events fill etcd's send buffers sooner
    for i in range(0, n, 100):
        await asyncio.gather(
            *(
                store.create(
                    f"pods/ns/{tag}{j}",
                    {"metadata": {"name": f"{tag}{j}", "namespace": "ns"}, "pad": pad},
                )
                for j in range(i, min(i + 100, n))
            )
        )


@pytest.mark.tool("etcd")
def test_progress_never_runs_ahead_of_queued_events(etcd_url: str) -> None:
    async def main() -> None:
        store = await _store(etcd_url)
        try:
            start = await store.current_revision()
            await _create_pods(store, N, "p")
            progress: asyncio.Queue[None] = asyncio.Queue()
            progress.put_nowait(None)
            # A watch from before the writes: etcd replays them as a backlog.
            events = store.watch("pods/", start, EVERYTHING, progress=progress)
            bookmark, seen = 0, 0
            async for ev in events:
                if ev.type == BOOKMARK:
                    bookmark = max(bookmark, ev.rv)
                    if seen == N:
                        break
                else:
                    assert ev.rv > bookmark, "an event came after a bookmark past it"
                    seen += 1
                progress.put_nowait(None)  # keep asking while the backlog drains
            await events.aclose()
            # Once caught up, the answer is believed: the watch moves to the store's revision.
            assert bookmark >= await store.current_revision() - 1
        finally:
            await store.client.close()

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.tool("etcd")
def test_bookmarked_cache_watcher_sees_every_pod_of_a_burst(etcd_url: str) -> None:
    async def main() -> None:
        store = await _store(etcd_url)
        cacher = Cacher(
            store, "pods", lambda o: f"pods/ns/{o['metadata']['name']}", watcher_buffer=10 * N
        )
        cacher.bookmark_interval = 0.05  # ask for progress all the time
        cacher.start()
        try:
            await asyncio.wait_for(cacher.ready.wait(), 10)
            w = await cacher.watch("pods/", 0, SelectionPredicate(allow_watch_bookmarks=True))
            writer = asyncio.create_task(_create_pods(store, N, "q"))
            names: set[str] = set()
            async for ev in w:
                if ev.type != BOOKMARK:
                    names.add(ev.object["metadata"]["name"])
                if writer.done() and len(cacher.cache.store) == N and not w.pending():
                    break
            await writer
            assert not w.overflowed
            assert len(names) == N, f"{N - len(names)} pods never reached the watcher"
        finally:
            await cacher.stop()
            await store.client.close()

    asyncio.run(asyncio.wait_for(main(), 60))
