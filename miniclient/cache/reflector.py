"""The Reflector: keeps a store in step with the server by list, then watch.

Mirrors k8s.io/client-go/tools/cache/reflector.go (ListAndWatch, list with
pagination, watchHandler, lastSyncResourceVersion bookkeeping,
isLastSyncResourceVersionUnavailable, resync) and listwatch.go (ListWatch).
A list ends in store.replace(items, rv); each watch event becomes an
add/update/delete; the next watch resumes from the last resourceVersion seen
(bookmarks included), so a dropped watch costs no relist. A 410 Gone/Expired
on the watch makes the next list start over (a consistent read, RV "", if
the watch failed right at the list's own RV); every return of ListAndWatch
backs off exponentially with jitter drawn from the injected rng, sleeping on
the injected clock.
Omitted: WatchList streaming (sendInitialEvents), the relist from the watch
cache with resourceVersionMatch, expected-type checks, metrics.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from typing import Any, Protocol

from miniapi import errors
from miniapi.meta import v1 as metav1
from miniclient.backoff import Backoff
from miniclient.cache.index import object_meta
from miniclient.clock import Clock, RealClock
from miniclient.rest import ResourceClient

__all__ = ["ListWatch", "ListerWatcher", "Reflector", "ReflectorStore"]

log = logging.getLogger("miniclient.reflector")


class ListerWatcher(Protocol):
    """list one page -> (items, list resourceVersion, continue token); watch from an RV."""

    async def list(
        self, resource_version: str, limit: int, continue_: str
    ) -> tuple[list[Any], str, str]: ...

    def watch(self, resource_version: str) -> AsyncIterator[tuple[str, Any]]: ...


class ReflectorStore(Protocol):
    def add(self, obj: Any) -> None: ...

    def update(self, obj: Any) -> None: ...

    def delete(self, obj: Any) -> None: ...

    def replace(self, objs: list[Any], resource_version: str) -> None: ...

    def resync(self) -> None: ...


class ListWatch:
    """A ListerWatcher over a ResourceClient (one namespace or all, optional selectors)."""

    def __init__(
        self,
        resource: ResourceClient,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> None:
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector

    async def list(
        self, resource_version: str, limit: int, continue_: str
    ) -> tuple[list[Any], str, str]:
        page = await self.resource.list(
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            limit=limit,
            continue_=continue_,
            resource_version="" if continue_ else resource_version,
        )
        if isinstance(page, dict):
            meta = page.get("metadata") or {}
            return (
                page.get("items") or [],
                meta.get("resourceVersion", ""),
                meta.get("continue", ""),
            )
        return list(page.items), page.metadata.resource_version, page.metadata.continue_

    def watch(self, resource_version: str) -> AsyncIterator[tuple[str, Any]]:
        return self.resource.watch(
            self.namespace,
            resource_version=resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            allow_watch_bookmarks=True,
            # Like upstream's random 5-10 minute timeout: watches end and are renewed.
            timeout_seconds=300,
        )


class Reflector:
    """Drives one store (usually a DeltaFIFO) from one ListerWatcher."""

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        store: ReflectorStore,
        name: str = "reflector",
        resync_period: float = 0.0,
        page_size: int = 500,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.lister_watcher = lister_watcher
        self.store = store
        self.name = name
        self.resync_period = resync_period
        self.page_size = page_size
        self.clock: Clock = clock or RealClock()
        self.backoff = Backoff(rng or random.Random())
        self.last_sync_resource_version = ""
        self.is_last_sync_resource_version_unavailable = False
        self.lists = 0
        self.watches = 0

    def relist_resource_version(self) -> str:
        """The RV to list at: '' (quorum read) after a 410, else the last one, or '0' at first."""
        if self.is_last_sync_resource_version_unavailable:
            return ""
        return self.last_sync_resource_version or "0"

    async def run(self) -> None:
        """ListAndWatch forever, waiting a backoff step after each return (BackoffUntil)."""
        while True:
            try:
                await self.list_and_watch()
            except errors.StatusError as e:
                log.info("%s: %s (%s)", self.name, e, e.reason)
            except (TimeoutError, OSError, ValueError) as e:
                log.info("%s: %s", self.name, e)
            except Exception as e:
                log.warning("%s: unexpected %r", self.name, e)
            await self.clock.sleep(self.backoff.next(self.clock.now()))

    async def list(self) -> None:
        """A paginated list, then store.replace with the list's resourceVersion."""
        items: list[Any] = []
        rv, token = self.relist_resource_version(), ""
        try:
            while True:
                page, list_rv, token = await self.lister_watcher.list(rv, self.page_size, token)
                items.extend(page)
                if not token:
                    break
        except errors.StatusError as e:
            if errors.is_resource_expired(e) or errors.is_gone(e):
                # The RV we asked for is compacted: the next list reads the latest state.
                self.is_last_sync_resource_version_unavailable = True
            raise
        self.lists += 1
        self.is_last_sync_resource_version_unavailable = False
        self.store.replace(items, list_rv)
        self.last_sync_resource_version = list_rv

    async def list_and_watch(self) -> None:
        """List, then watch (resuming after each normal end) until an error."""
        await self.list()
        listed_rv = self.last_sync_resource_version
        resync = asyncio.ensure_future(self._resync_loop()) if self.resync_period > 0 else None
        try:
            while True:
                try:
                    await self.watch_handler(
                        self.lister_watcher.watch(self.last_sync_resource_version)
                    )
                except errors.StatusError as e:
                    if errors.is_resource_expired(e) or errors.is_gone(e):
                        # "too old resource version": only a new list can catch up.
                        log.info("%s: watch closed: %s", self.name, e)
                        if self.last_sync_resource_version == listed_rv:
                            # The list itself was already too old to watch from: a list
                            # at that RV could return the same stale page again, so the
                            # next one is a consistent read (minicloud's guard).
                            self.is_last_sync_resource_version_unavailable = True
                        return
                    raise
        finally:
            if resync is not None:
                resync.cancel()

    async def _resync_loop(self) -> None:
        while True:
            await self.clock.sleep(self.resync_period)
            self.store.resync()

    async def watch_handler(self, events: AsyncIterator[tuple[str, Any]]) -> None:
        """Apply each event to the store and remember its resourceVersion."""
        self.watches += 1
        async for kind, obj in events:
            if kind == metav1.ERROR:
                raise errors.from_status(obj)
            if kind == metav1.ADDED:
                self.store.add(obj)
            elif kind == metav1.MODIFIED:
                self.store.update(obj)
            elif kind == metav1.DELETED:
                self.store.delete(obj)
            elif kind != metav1.BOOKMARK:
                log.warning("%s: unknown watch event %r", self.name, kind)
                continue
            rv = object_meta(obj)[2]
            if rv:
                self.last_sync_resource_version = rv
