"""The etcd3 store, on a real etcd 3.4 and on miniraft (the store_url fixture runs both).

Rewritten from the backend-agnostic tables of
k8s.io/apiserver/pkg/storage/testing/store_tests.go and watcher_tests.go:
create/get, create conflict, GuaranteedUpdate with and without a race,
conditional delete, list with paging and continuation at one revision,
watch from zero and from a revision, and compaction answering 410.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest

from miniapiserver.etcd.client import Client
from miniapiserver.storage import errors
from miniapiserver.storage.etcd3_store import Store
from miniapiserver.storage.interfaces import (
    ADDED,
    DELETED,
    MODIFIED,
    Preconditions,
    SelectionPredicate,
)


def run(store_url: str, body: Callable[[Store, Client], Awaitable[None]]) -> None:
    async def main() -> None:
        client = Client([store_url])
        await client.connect()
        await client.wait_ready()
        try:
            await body(Store(client, f"/registry-{uuid.uuid4().hex[:8]}"), client)
        finally:
            await client.close()

    asyncio.run(main())


def pod(name: str, ns: str = "ns", **labels: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
    }


def test_create_then_get(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        out = await s.create("pods/ns/a", pod("a"))
        rv = int(out["metadata"]["resourceVersion"])
        got = await s.get("pods/ns/a")
        assert got == out
        # the resourceVersion is the key's mod_revision and is not stored in the value
        raw = await c.get(s.prepare_key("pods/ns/a"))
        assert raw.kvs[0].mod_revision == rv
        assert b"resourceVersion" not in raw.kvs[0].value

    run(store_url, body)


def test_create_existing_key_is_key_exists(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        await s.create("pods/ns/a", pod("a"))
        with pytest.raises(errors.StorageError) as e:
            await s.create("pods/ns/a", pod("a"))
        assert e.value.code == errors.ERR_KEY_EXISTS

    run(store_url, body)


def test_get_missing_is_key_not_found(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        with pytest.raises(errors.StorageError) as e:
            await s.get("pods/ns/none")
        assert e.value.code == errors.ERR_KEY_NOT_FOUND
        assert await s.get("pods/ns/none", ignore_not_found=True) is None

    run(store_url, body)


def test_guaranteed_update_retries_on_a_lost_race(store_url: str) -> None:
    """tryUpdate runs again on the newer object when another writer got in between."""

    async def body(s: Store, c: Client) -> None:
        await s.create("pods/ns/a", {**pod("a"), "n": 0})
        calls = []

        async def try_update(cur: dict) -> dict:
            calls.append(cur["n"])
            if len(calls) == 1:  # a concurrent writer bumps n behind our back
                await s.guaranteed_update("pods/ns/a", lambda o: {**o, "n": o["n"] + 10})
            return {**cur, "n": cur["n"] + 1}

        out = await s.guaranteed_update("pods/ns/a", try_update)
        assert calls == [0, 10]
        assert out["n"] == 11

    run(store_url, body)


def test_guaranteed_update_without_change_does_not_write(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        created = await s.create("pods/ns/a", pod("a"))
        out = await s.guaranteed_update("pods/ns/a", lambda o: o)
        assert out["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]

    run(store_url, body)


def test_delete_with_preconditions(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        await s.create("pods/ns/a", {**pod("a"), "metadata": {"name": "a", "uid": "u1"}})
        with pytest.raises(errors.StorageError) as e:
            await s.delete("pods/ns/a", Preconditions(uid="other"))
        assert "Precondition failed: UID in precondition: other" in str(e.value)
        gone = await s.delete("pods/ns/a", Preconditions(uid="u1"))
        assert gone["metadata"]["uid"] == "u1"
        assert await s.get("pods/ns/a", ignore_not_found=True) is None

    run(store_url, body)


def test_list_pages_share_one_revision(store_url: str) -> None:
    """limit/continue: every page is read at the first page's revision."""

    async def body(s: Store, c: Client) -> None:
        for i in range(5):
            await s.create(f"pods/ns/p{i}", pod(f"p{i}"))
        await s.create("pods/other/x", pod("x", "other"))
        first = await s.get_list("pods/ns", SelectionPredicate(limit=2))
        assert [o["metadata"]["name"] for o in first.items] == ["p0", "p1"]
        assert first.remaining_item_count == 3
        await s.create("pods/ns/p9", pod("p9"))  # after the snapshot: not in this list
        second = await s.get_list(
            "pods/ns", SelectionPredicate(limit=10, continue_=first.continue_)
        )
        assert [o["metadata"]["name"] for o in second.items] == ["p2", "p3", "p4"]
        assert second.resource_version == first.resource_version
        assert second.continue_ == ""
        everything = await s.get_list("pods")
        assert len(everything.items) == 7

    run(store_url, body)


def test_list_with_filter_keeps_filling_the_page(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        for i in range(6):
            await s.create(f"pods/ns/p{i}", pod(f"p{i}", app="yes" if i % 3 == 0 else "no"))
        pred = SelectionPredicate(
            label=lambda ls: ls.get("app") == "yes",
            get_attrs=lambda o: (o["metadata"]["labels"], {}),
            limit=2,
        )
        out = await s.get_list("pods/ns", pred)
        assert [o["metadata"]["name"] for o in out.items] == ["p0", "p3"]
        assert out.remaining_item_count is None  # unknown with a selector

    run(store_url, body)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("!!!", "continue key is not valid"),
        (
            "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NSwic3RhcnQiOiIuLi9zZWNyZXRzIn0",
            "continue key is not valid",
        ),
    ],
    ids=["not base64 json", "path traversal"],
)
def test_bad_continue_tokens(store_url: str, token: str, message: str) -> None:
    async def body(s: Store, c: Client) -> None:
        with pytest.raises(errors.StorageError, match=message) as e:
            await s.get_list("pods/ns", SelectionPredicate(limit=1, continue_=token))
        assert e.value.code == errors.ERR_BAD_REQUEST

    run(store_url, body)


async def _collect(w, n: int) -> list:  # type: ignore[no-untyped-def]
    out = []
    async for ev in w:
        out.append((ev.type, ev.object["metadata"]["name"]))
        if len(out) == n:
            break
    return out


def test_watch_from_zero_starts_with_added_events(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        await s.create("pods/ns/a", pod("a"))
        w = s.watch("pods/ns", 0)
        task = asyncio.create_task(_collect(w, 4))
        await asyncio.sleep(0.3)
        await s.create("pods/ns/b", pod("b"))
        await s.guaranteed_update("pods/ns/b", lambda o: {**o, "x": 1})
        await s.delete("pods/ns/a")
        events = await asyncio.wait_for(task, 10)
        assert events == [(ADDED, "a"), (ADDED, "b"), (MODIFIED, "b"), (DELETED, "a")]

    run(store_url, body)


def test_watch_from_a_revision_replays_what_followed(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        a = await s.create("pods/ns/a", pod("a"))
        await s.create("pods/ns/b", pod("b"))
        await s.delete("pods/ns/a")
        events = await asyncio.wait_for(
            _collect(s.watch("pods/ns", int(a["metadata"]["resourceVersion"])), 2), 10
        )
        assert events == [(ADDED, "b"), (DELETED, "a")]

    run(store_url, body)


def test_watch_with_selector_sees_objects_leave_and_enter(store_url: str) -> None:
    """watcher_tests' filter case: an update out of the selection is a DELETED."""

    async def body(s: Store, c: Client) -> None:
        a = await s.create("pods/ns/a", pod("a", app="yes"))
        pred = SelectionPredicate(
            label=lambda ls: ls.get("app") == "yes",
            get_attrs=lambda o: (o["metadata"].get("labels", {}), {}),
        )
        w = s.watch("pods/ns", int(a["metadata"]["resourceVersion"]), pred)
        task = asyncio.create_task(_collect(w, 2))
        await asyncio.sleep(0.3)
        await s.guaranteed_update(
            "pods/ns/a", lambda o: {**o, "metadata": {**o["metadata"], "labels": {"app": "no"}}}
        )
        await s.guaranteed_update(
            "pods/ns/a", lambda o: {**o, "metadata": {**o["metadata"], "labels": {"app": "yes"}}}
        )
        assert await asyncio.wait_for(task, 10) == [(DELETED, "a"), (ADDED, "a")]

    run(store_url, body)


def test_compaction_makes_old_revisions_gone(store_url: str) -> None:
    async def body(s: Store, c: Client) -> None:
        a = await s.create("pods/ns/a", pod("a"))
        await s.create("pods/ns/b", pod("b"))
        first = await s.get_list("pods/ns", SelectionPredicate(limit=1))
        await s.create("pods/ns/c", pod("c"))
        await s.compact(await s.current_revision())
        with pytest.raises(errors.StorageError) as e:
            await _collect(s.watch("pods/ns", int(a["metadata"]["resourceVersion"])), 1)
        assert e.value.code == errors.ERR_EXPIRED
        assert "too old resource version" in str(e.value)
        with pytest.raises(errors.StorageError) as e:
            await s.get_list("pods/ns", SelectionPredicate(limit=1, continue_=first.continue_))
        assert e.value.code == errors.ERR_EXPIRED
        assert str(e.value).startswith("The provided continue parameter is too old")

    run(store_url, body)
