"""One client's Watch stream: many watchers, their IDs, filters, prev_kv and progress.

Mirrors etcd server/storage/mvcc/watcher.go (watchStream: IDs, Watch, Cancel,
RequestProgress) and the I/O-free part of server/etcdserver/api/v3rpc/watch.go
(serverWatchStream: create/cancel requests, FiltersFromRequest, prev_kv lookup,
progress notification). It turns WatchRequests into WatchResponses handed to
`send`; the gRPC adapter only moves them. Omitted: fragmenting large responses,
auth checks.
"""

from __future__ import annotations

from collections.abc import Callable

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.mvccpb import kv_pb2
from miniraft.server.mvcc.errors import MVCCError
from miniraft.server.mvcc.kvstore import RangeOptions
from miniraft.server.mvcc.watchable_store import WatchableStore, Watcher

INVALID_WATCH_ID = -1
AUTO_WATCH_ID = 0
ERR_COMPACTED = "etcdserver: mvcc: required revision has been compacted"


class WatchStream:
    def __init__(self, store: WatchableStore, send: Callable[[pb.WatchResponse], None]) -> None:
        self.store = store
        self.send = send
        self.watchers: dict[int, Watcher] = {}
        self.next_id = 0
        self.prev_kv: set[int] = set()
        self.progress: set[int] = set()
        self.filters: dict[int, set[int]] = {}
        self.sent_since_tick: set[int] = set()

    def _response(self, **fields) -> pb.WatchResponse:
        resp = pb.WatchResponse(**fields)
        resp.header.revision = self.store.current_rev
        return resp

    def handle(self, req: pb.WatchRequest) -> None:
        which = req.WhichOneof("request_union")
        if which == "create_request":
            self.create(req.create_request)
        elif which == "cancel_request":
            self.cancel(req.cancel_request.watch_id)
        elif which == "progress_request":
            self.send(self._response(watch_id=INVALID_WATCH_ID))

    def create(self, creq: pb.WatchCreateRequest) -> int:
        key = creq.key or b"\x00"
        if creq.start_revision < 0:
            self.send(
                self._response(
                    watch_id=INVALID_WATCH_ID,
                    canceled=True,
                    created=True,
                    cancel_reason=ERR_COMPACTED,
                )
            )
            return INVALID_WATCH_ID
        end: bytes | None = creq.range_end or None
        if end == b"\x00":
            end = b""
        wid = creq.watch_id
        if wid != AUTO_WATCH_ID and wid in self.watchers:
            self.send(
                self._response(
                    watch_id=INVALID_WATCH_ID,
                    created=True,
                    canceled=True,
                    cancel_reason="mvcc: duplicate watch ID provided on the WatchStream",
                )
            )
            return INVALID_WATCH_ID
        if wid == AUTO_WATCH_ID:
            while self.next_id in self.watchers:
                self.next_id += 1
            wid = self.next_id
            self.next_id += 1
        w = Watcher(key=key, end=end, min_rev=0, id=wid, send=self._deliver)
        self.watchers[wid] = w
        if creq.prev_kv:
            self.prev_kv.add(wid)
        if creq.progress_notify:
            self.progress.add(wid)
        self.filters[wid] = set(creq.filters)
        self.send(self._response(watch_id=wid, created=True))
        self.store.watch(w, creq.start_revision)
        return wid

    def cancel(self, wid: int) -> None:
        w = self.watchers.pop(wid, None)
        if w is None:
            return
        self.store.cancel(w)
        self.prev_kv.discard(wid)
        self.progress.discard(wid)
        self.filters.pop(wid, None)
        self.send(self._response(watch_id=wid, canceled=True))

    def close(self) -> None:
        for w in self.watchers.values():
            self.store.cancel(w)
        self.watchers.clear()

    def _deliver(self, w: Watcher, events: list[kv_pb2.Event], rev: int, compact: int) -> None:
        if w.id not in self.watchers:
            return
        if compact:
            self.watchers.pop(w.id, None)
            resp = pb.WatchResponse(watch_id=w.id, canceled=True, compact_revision=compact)
            resp.header.revision = rev
            self.send(resp)
            return
        filters = self.filters.get(w.id, set())
        keep = [ev for ev in events if not self._filtered(ev, filters)]
        if not keep:
            return
        if w.id in self.prev_kv:
            keep = [self._with_prev_kv(ev) for ev in keep]
        resp = pb.WatchResponse(watch_id=w.id)
        resp.header.revision = rev
        resp.events.extend(keep)
        self.sent_since_tick.add(w.id)
        self.send(resp)

    @staticmethod
    def _filtered(ev: kv_pb2.Event, filters: set[int]) -> bool:
        if ev.type == kv_pb2.Event.PUT:
            return pb.WatchCreateRequest.NOPUT in filters
        return pb.WatchCreateRequest.NODELETE in filters

    def _with_prev_kv(self, ev: kv_pb2.Event) -> kv_pb2.Event:
        try:
            rr = self.store.read().range(ev.kv.key, None, RangeOptions(rev=ev.kv.mod_revision - 1))
        except MVCCError:
            return ev
        if rr.kvs:
            ev = kv_pb2.Event(type=ev.type, kv=ev.kv, prev_kv=rr.kvs[0])
        return ev

    def progress_tick(self) -> None:
        """Every progress interval: an empty response to quiet watchers that asked for it."""
        for wid in sorted(self.progress):
            w = self.watchers.get(wid)
            if w is None or wid in self.sent_since_tick or w not in self.store.synced:
                continue
            self.send(self._response(watch_id=wid))
        self.sent_since_tick.clear()
