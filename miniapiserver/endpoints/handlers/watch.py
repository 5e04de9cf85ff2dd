"""WATCH: a chunked stream of events, newline-delimited JSON or length-prefixed protobuf.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/watch.go (serveWatchHandler,
WatchServer.HandleHTTP: events written as they come and flushed when the watcher has
nothing more buffered, a timeout from timeoutSeconds or a random 30-60 minutes, an ERROR
event with a Status when the watch cannot go on) over the Cacher; the encodings are
watch_encoder.py's. A 410 for a too-old resourceVersion is sent as an ERROR event on a
200 stream, as upstream does.
Omitted: websocket watch framing.
"""

from __future__ import annotations

import asyncio
import random

from aiohttp import web

from miniapi import errors
from miniapiserver.endpoints import responsewriters
from miniapiserver.endpoints.handlers import watch_encoder
from miniapiserver.endpoints.handlers.rest import RequestScope
from miniapiserver.registry.selection import predicate_from_query
from miniapiserver.storage.interfaces import ERROR, Event

MIN_REQUEST_TIMEOUT = 1800.0  # --min-request-timeout's default
# A busy stream (one written within BUSY_WINDOW) lingers FLUSH_INTERVAL after its next
# event, so the events of that interval go out in one write; an event after a quiet spell
# is written at once. Upstream writes each event into a buffer and flushes when the
# watcher's channel is empty; on one asyncio loop the channel looks empty after every
# event (the dispatcher reads one event from etcd per loop iteration, and the watchers
# run in between), so each event would cost every watcher a TLS write and a syscall.
FLUSH_INTERVAL = 0.02
BUSY_WINDOW = 1.0


async def _stream(
    resp: web.StreamResponse, encode: watch_encoder.Encoder, watcher, deadline: float
) -> None:  # type: ignore[no-untyped-def]
    """Write events until the watch ends or its timeout passes (one write per batch)."""
    first, loop, last_write = True, asyncio.get_running_loop(), -BUSY_WINDOW
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                batch = await watcher.next_batch(
                    linger=FLUSH_INTERVAL, busy_until=last_write + BUSY_WINDOW
                )
                if not batch:
                    return
                frames = []
                for ev in batch:
                    frames.append(encode(ev, first))
                    first = False
                last_write = loop.time()
                await resp.write(b"".join(frames))
    except TimeoutError:
        return


async def serve_watch(scope: RequestScope) -> web.StreamResponse:
    pred = predicate_from_query(scope.resource, scope.query, 0)
    pred.allow_watch_bookmarks = scope.flag("allowWatchBookmarks")
    timeout = scope.int_param("timeoutSeconds")
    if timeout is None:
        timeout = MIN_REQUEST_TIMEOUT * (1 + random.random())
    rv = scope.query.get("resourceVersion", "")
    store = scope.store
    content_type, encode = watch_encoder.negotiate(scope)
    resp = web.StreamResponse(status=200, headers={"Content-Type": content_type})
    resp.enable_chunked_encoding()
    try:
        watcher = await store.watch(scope.info.namespace, scope.info.name, pred, rv)
    except errors.StatusError as e:
        if e.code != 410:
            raise
        # A too-old revision is reported inside the stream, so reflectors re-list.
        await resp.prepare(scope.request)
        status = responsewriters.status_body(e.status)
        await resp.write(encode(Event(ERROR, status), True))
        return resp
    await resp.prepare(scope.request)
    loop = asyncio.get_running_loop()
    try:
        await _stream(resp, encode, watcher, loop.time() + timeout)
    except ConnectionResetError:
        pass  # the client went away
    finally:
        watcher.stop()
        store.cacher.watchers.discard(watcher)
    return resp
