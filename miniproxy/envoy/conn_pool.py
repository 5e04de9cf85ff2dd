"""HTTP/1.1 upstream connection pool: one request at a time per connection, idle reuse.

Mirrors source/common/http/http1/conn_pool.cc, source/common/conn_pool/conn_pool_base.cc
(ConnPoolImplBase::newStreamImpl: attach to a ready client, else create one if the
cluster's `max_connections` allows, else queue as pending up to `max_pending_requests`;
a pending stream can be cancelled) and source/common/http/codec_client.cc (the response
decoder is called back from the connection's read event, no task per request).
Stats: `upstream_cx_total`, `upstream_cx_active`, `upstream_cx_connect_fail`,
`upstream_cx_overflow`, `upstream_rq_pending_total`, `upstream_rq_pending_active`,
`upstream_rq_pending_overflow`.
Contract: `new_stream(host, callbacks)` calls exactly one of `callbacks.on_pool_ready(conn)`
or `callbacks.on_pool_failure(reason)` ("overflow" or "connect_failure"), possibly before it
returns, unless the returned handle is cancelled first.
With a cluster's UpstreamTlsContext the connection is TLS (asyncio's ssl transport).
With `http2`, one multiplexed upstream_http2 connection per host carries as many streams as the
server's SETTINGS allow; streams beyond that wait as pending (http2/conn_pool.cc).
Omitted: more than one HTTP/2 connection per host, connection idle timeout and max requests
per connection.
"""

from __future__ import annotations

import asyncio
import collections

from miniproxy.envoy import http1
from miniproxy.envoy.host import Host
from miniproxy.envoy.upstream_http2 import Http2UpstreamConnection

OVERFLOW = "overflow"
CONNECT_FAILURE = "connect_failure"


class UpstreamConnection(asyncio.Protocol):
    """ActiveClient + CodecClient: one TCP (or TLS) connection to a host, one request at a time."""

    def __init__(self, pool: ConnPool, host: Host) -> None:
        self.pool = pool
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.parser = http1.ResponseParser()
        self.decoder = None  # the UpstreamRequest waiting for this connection's response
        self.closed = False
        self.loop = asyncio.get_running_loop()
        # The response deadline of the request in flight, watched by one lazily re-armed timer
        # per connection instead of a timer per request (keep-alive requests reuse it).
        self.deadline: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_when = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            msg = self.parser.feed(data)
        except http1.CodecError as e:
            self._reset(e.details)
            self.transport.close()
            return
        if msg is not None:
            decoder, self.decoder = self.decoder, None
            if decoder is not None:
                decoder.on_upstream_response(self, msg)

    def eof_received(self):
        msg = self.parser.feed_eof()
        if msg is not None:
            decoder, self.decoder = self.decoder, None
            if decoder is not None:
                decoder.on_upstream_response(self, msg)
        return False

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.pool.on_close(self)
        self._reset("upstream connection closed")

    def _reset(self, reason: str) -> None:
        decoder, self.decoder = self.decoder, None
        if decoder is not None:
            decoder.on_upstream_reset(reason)

    def send_request(self, request, head: bool, decoder, deadline: float | None) -> None:
        """Write the request; the decoder gets on_upstream_response, on_upstream_reset or,
        past `deadline` (loop time), on_timeout."""
        data = request.wire
        self.parser.reset(head)
        self.decoder = decoder
        self.deadline = deadline
        timer = self.timer
        if deadline is not None and (timer is None or self.timer_when > deadline):
            if timer is not None:
                timer.cancel()
            self.timer = self.loop.call_at(deadline, self._on_timer)
            self.timer_when = deadline
        self.transport.write(data)

    def _on_timer(self) -> None:
        self.timer = None
        if self.decoder is None or self.deadline is None:
            return
        if self.loop.time() < self.deadline:
            self.timer = self.loop.call_at(self.deadline, self._on_timer)
            self.timer_when = self.deadline
            return
        decoder, self.decoder = self.decoder, None
        decoder.on_timeout()

    def close(self) -> None:
        self.decoder = None
        if self.transport is not None:
            self.transport.close()

    def abandon(self, decoder) -> None:
        """Give up the exchange in flight (a timeout, a downstream reset): HTTP/1 must close."""
        self.close()


class PendingStream:
    """A request waiting for a connection (ConnPoolImplBase::PendingStream); cancellable."""

    __slots__ = ("pool", "host", "callbacks", "cancelled")

    def __init__(self, pool: ConnPool, host: Host, callbacks) -> None:
        self.pool = pool
        self.host = host
        self.callbacks = callbacks
        self.cancelled = False

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self.callbacks = None
            self.pool.on_pending_done(self)


class ConnPool:
    """Connections to the hosts of one cluster on one event loop."""

    def __init__(
        self, cluster, ssl_context=None, server_hostname: str | None = None, http2: bool = False
    ) -> None:
        self.cluster = cluster
        self.http2 = http2
        self.idle: dict[Host, collections.deque[UpstreamConnection]] = {}
        # HTTP/2: one multiplexed connection per host, and the hosts being connected to.
        self.h2conns: dict[Host, Http2UpstreamConnection] = {}
        self.connecting: set[Host] = set()
        self.pending: collections.deque[PendingStream] = collections.deque()
        self.connect_timeout = cluster.connect_timeout
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.tasks: set[asyncio.Task] = set()

    def new_stream(self, host: Host, callbacks) -> PendingStream | None:
        """Attach to an idle connection now, or queue; returns a handle while queued."""
        if self.http2:
            conn = self.h2conns.get(host)
            if conn is not None and conn.has_capacity():
                callbacks.on_pool_ready(conn)
                return None
        idle = self.idle.get(host)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                callbacks.on_pool_ready(conn)
                return None
        res, st = self.cluster.resources, self.cluster.stats
        if not res.pending_requests.can_create():
            st.upstream_rq_pending_overflow.inc()
            callbacks.on_pool_failure(OVERFLOW)
            return None
        st.upstream_rq_pending_total.inc()
        st.upstream_rq_pending_active.inc()
        res.pending_requests.inc()
        pending = PendingStream(self, host, callbacks)
        self.pending.append(pending)
        if self.http2 and (host in self.connecting or host in self.h2conns):
            pass  # wait for the connection under way, or for a stream slot on the open one
        elif res.connections.can_create():
            self._connect(host)
        else:
            st.upstream_cx_overflow.inc()
        return pending

    def on_pending_done(self, pending: PendingStream) -> None:
        """The pending stream got a connection, failed or was cancelled: leave the queue."""
        try:
            self.pending.remove(pending)
        except ValueError:
            return
        self.cluster.resources.pending_requests.dec()
        self.cluster.stats.upstream_rq_pending_active.dec()

    def _take_pending(self, host: Host) -> PendingStream | None:
        for p in self.pending:
            if p.host is host:
                self.on_pending_done(p)
                return p
        return None

    def _connect(self, host: Host) -> None:
        st = self.cluster.stats
        self.cluster.resources.connections.inc()
        st.upstream_cx_total.inc()
        st.upstream_cx_active.inc()
        host.stats.cx_total += 1
        host.stats.cx_active += 1
        self.connecting.add(host)
        task = asyncio.get_running_loop().create_task(self._establish(host))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _establish(self, host: Host) -> None:
        loop = asyncio.get_running_loop()
        scheme = "https" if self.ssl_context else "http"
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: (
                        Http2UpstreamConnection(self, host, scheme)
                        if self.http2
                        else UpstreamConnection(self, host)
                    ),
                    host.address,
                    host.port,
                    ssl=self.ssl_context,
                    # "" sends no SNI: Envoy sends one only when `sni` is configured.
                    server_hostname=self.server_hostname if self.ssl_context else None,
                ),
                self.connect_timeout,
            )
        except (TimeoutError, OSError) as e:
            self.connecting.discard(host)
            self.cluster.stats.upstream_cx_connect_fail.inc()
            host.stats.cx_connect_fail += 1
            # This connection was for the oldest request waiting on host (on HTTP/2, for all
            # of them): it fails (UF).
            failed = []
            while (p := self._take_pending(host)) is not None:
                failed.append(p)
                if not self.http2:
                    break
            self._release_slot(host)
            for p in failed:
                p.callbacks.on_pool_failure(CONNECT_FAILURE, str(e) or type(e).__name__)
            return
        self.connecting.discard(host)
        self._ready(conn)

    def _ready(self, conn: UpstreamConnection) -> None:
        """onUpstreamReady: give the connection to a waiting stream for its host, or park it."""
        if self.http2:
            if not conn.closed:
                self.h2conns[conn.host] = conn
            while conn.has_capacity() and (p := self._take_pending(conn.host)) is not None:
                p.callbacks.on_pool_ready(conn)
            return
        if self.pending:
            pending = self._take_pending(conn.host)
            if pending is not None:
                pending.callbacks.on_pool_ready(conn)
                return
            if any(not p.cancelled for p in self.pending):
                # Waiters want other hosts: free this slot so one of them can connect.
                conn.transport.close()
                return
        idle = self.idle.get(conn.host)
        if idle is None:
            idle = self.idle[conn.host] = collections.deque()
        idle.append(conn)

    def release(self, conn: UpstreamConnection, reusable: bool) -> None:
        """The response is done: hand the connection to a waiter, park it, or close it."""
        if not reusable or conn.closed:
            conn.close()
            return
        self._ready(conn)

    def on_close(self, conn) -> None:
        if self.h2conns.get(conn.host) is conn:
            del self.h2conns[conn.host]
        idle = self.idle.get(conn.host)
        if idle and conn in idle:
            idle.remove(conn)
        self._release_slot(conn.host)

    def _release_slot(self, host: Host) -> None:
        self.cluster.resources.connections.dec()
        self.cluster.stats.upstream_cx_active.dec()
        host.stats.cx_active -= 1
        self.cluster.stats.upstream_cx_destroy.inc()
        # A freed slot lets a queued request open its own connection.
        if self.pending and self.cluster.resources.connections.can_create():
            self._connect(self.pending[0].host)

    def close(self) -> None:
        for dq in self.idle.values():
            for conn in dq:
                conn.transport.close()
        self.idle.clear()
        for conn in list(self.h2conns.values()):
            conn.close()
        for t in self.tasks:
            t.cancel()
