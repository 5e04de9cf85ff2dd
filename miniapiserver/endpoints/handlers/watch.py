"""WATCH: a chunked stream of newline-delimited `{"type", "object"}` events.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/watch.go (serveWatch,
WatchServer.ServeHTTP: one JSON watch event per chunk, a timeout from
timeoutSeconds or a random 30-60 minutes, an ERROR event with a Status when
the watch cannot go on) over the Cacher. A 410 for a too-old resourceVersion
is sent as an ERROR event on a 200 stream, as upstream does.
Omitted: protobuf and websocket watch framing (watches are JSON).
"""

from __future__ import annotations

import asyncio
import random

import msgspec
from aiohttp import web

from miniapi import errors
from miniapiserver.endpoints import responsewriters
from miniapiserver.endpoints.handlers import convert
from miniapiserver.endpoints.handlers.rest import RequestScope
from miniapiserver.registry.selection import predicate_from_query
from miniapiserver.storage.interfaces import BOOKMARK, ERROR, Event

MIN_REQUEST_TIMEOUT = 1800.0  # --min-request-timeout's default
_json = msgspec.json.Encoder()


def _frame(scope: RequestScope, ev: Event, first: bool) -> bytes:
    obj = ev.object
    if ev.type == BOOKMARK:
        gvk = scope.resource.gvk
        obj = {
            "kind": gvk.kind,
            "apiVersion": f"{gvk.group}/{gvk.version}" if gvk.group else gvk.version,
            "metadata": obj["metadata"],
        }
    elif ev.type != ERROR:
        # A custom resource may be watched in another version: no shared encoding then.
        custom = getattr(scope.resource, "crd_name", "")
        if not scope.output.convert and ev.cache is not None and not custom:
            # Encode each object once for all its watchers.
            raw = ev.cache.get("json")
            if raw is None:
                raw = ev.cache["json"] = _json.encode(obj)
            return b'{"type":"' + ev.type.encode() + b'","object":' + raw + b"}\n"
        obj = convert.event_object(scope, obj, first)
    return _json.encode({"type": ev.type, "object": obj}) + b"\n"


async def _stream(resp: web.StreamResponse, scope: RequestScope, watcher, deadline: float) -> None:  # type: ignore[no-untyped-def]
    """Write events until the watch ends or its timeout passes (one write per batch)."""
    first = True
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                batch = await watcher.next_batch()
                if not batch:
                    return
                frames = []
                for ev in batch:
                    frames.append(_frame(scope, ev, first))
                    first = False
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
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    try:
        watcher = await store.watch(scope.info.namespace, scope.info.name, pred, rv)
    except errors.StatusError as e:
        if e.code != 410:
            raise
        # A too-old revision is reported inside the stream, so reflectors re-list.
        await resp.prepare(scope.request)
        status = responsewriters.status_body(e.status)
        await resp.write(_json.encode({"type": ERROR, "object": status}) + b"\n")
        return resp
    await resp.prepare(scope.request)
    loop = asyncio.get_running_loop()
    try:
        await _stream(resp, scope, watcher, loop.time() + timeout)
    except ConnectionResetError:
        pass  # the client went away
    finally:
        watcher.stop()
        store.cacher.watchers.discard(watcher)
    return resp
