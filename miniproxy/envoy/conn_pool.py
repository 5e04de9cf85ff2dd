"""HTTP/1.1 upstream connection pool: one request at a time per connection, idle reuse.

Mirrors source/common/http/http1/conn_pool.cc and source/common/conn_pool/conn_pool_base.cc
(ConnPoolImplBase: attach to a ready client, else create one if the cluster's
`max_connections` allows, else queue as pending up to `max_pending_requests`). Stats:
`upstream_cx_total`, `upstream_cx_active`, `upstream_cx_connect_fail`, `upstream_cx_overflow`,
`upstream_rq_pending_total`, `upstream_rq_pending_active`, `upstream_rq_pending_overflow`.
Omitted: HTTP/2 multiplexing, TLS, connection idle timeout and max requests per connection.
"""

from __future__ import annotations

import asyncio
import collections

from miniproxy.envoy import http1
from miniproxy.envoy.host import Host


class ConnectFailure(Exception):
    """The TCP connect failed or timed out (UF)."""


class UpstreamReset(Exception):
    """The upstream closed or broke the connection mid-response (UC / UR)."""


class Overflow(Exception):
    """A circuit breaker refused the request (UO)."""


class UpstreamConnection(asyncio.Protocol):
    """ActiveClient + CodecClient: one TCP connection speaking HTTP/1.1 to a host."""

    def __init__(self, pool: ConnPool, host: Host) -> None:
        self.pool = pool
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.parser = http1.ResponseParser()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            msg = self.parser.feed(data)
        except http1.CodecError as e:
            self._fail(UpstreamReset(e.details))
            self.transport.close()
            return
        if msg is not None and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(msg)

    def eof_received(self):
        msg = self.parser.feed_eof()
        if msg is not None and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(msg)
        return False

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.pool.on_close(self)
        self._fail(UpstreamReset("upstream connection closed"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def send_request(self, data: bytes, head: bool) -> asyncio.Future:
        """Write the request; the future resolves to the response Message (or a reset)."""
        self.parser = http1.ResponseParser()
        self.parser.head_request = head
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter


class ConnPool:
    """Connections to the hosts of one cluster on one event loop."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.idle: dict[Host, collections.deque[UpstreamConnection]] = {}
        self.pending: collections.deque[tuple[Host, asyncio.Future]] = collections.deque()
        self.connect_timeout = cluster.connect_timeout

    def try_acquire(self, host: Host) -> UpstreamConnection | None:
        """The fast path: a ready idle connection to host, if any."""
        idle = self.idle.get(host)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    async def acquire(self, host: Host) -> UpstreamConnection:
        conn = self.try_acquire(host)
        if conn is not None:
            return conn
        cb = self.cluster.resources
        st = self.cluster.stats
        if not cb.pending_requests.can_create():
            st.upstream_rq_pending_overflow.inc()
            raise Overflow("pending")
        st.upstream_rq_pending_total.inc()
        st.upstream_rq_pending_active.inc()
        cb.pending_requests.inc()
        try:
            if cb.connections.can_create():
                return await self._connect(host)
            st.upstream_cx_overflow.inc()
            fut = asyncio.get_running_loop().create_future()
            self.pending.append((host, fut))
            return await fut
        finally:
            cb.pending_requests.dec()
            st.upstream_rq_pending_active.dec()

    async def _connect(self, host: Host) -> UpstreamConnection:
        st = self.cluster.stats
        loop = asyncio.get_running_loop()
        self.cluster.resources.connections.inc()
        st.upstream_cx_total.inc()
        st.upstream_cx_active.inc()
        host.stats.cx_total += 1
        host.stats.cx_active += 1
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: UpstreamConnection(self, host), host.address, host.port
                ),
                self.connect_timeout,
            )
        except (TimeoutError, OSError) as e:
            st.upstream_cx_connect_fail.inc()
            host.stats.cx_connect_fail += 1
            self._release_slot(host)
            raise ConnectFailure(str(e) or type(e).__name__) from None
        return conn

    def release(self, conn: UpstreamConnection, reusable: bool) -> None:
        """The response is done: hand the connection to a waiter, park it, or close it."""
        if not reusable or conn.closed:
            conn.transport.close()
            return
        for i, (host, fut) in enumerate(self.pending):
            if host is conn.host and not fut.done():
                del self.pending[i]
                fut.set_result(conn)
                return
        if self.pending:
            # Waiters want other hosts: free this slot so one of them can connect.
            conn.transport.close()
            return
        self.idle.setdefault(conn.host, collections.deque()).append(conn)

    def on_close(self, conn: UpstreamConnection) -> None:
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
        while self.pending:
            h, fut = self.pending.popleft()
            if not fut.done():
                task = asyncio.ensure_future(self._connect(h))
                task.add_done_callback(lambda t, f=fut: _chain(t, f))
                return

    def close(self) -> None:
        for dq in self.idle.values():
            for conn in dq:
                conn.transport.close()
        self.idle.clear()


def _chain(task: asyncio.Future, fut: asyncio.Future) -> None:
    if fut.done():
        if not task.exception():
            task.result().transport.close()
        return
    if task.exception():
        fut.set_exception(task.exception())
    else:
        fut.set_result(task.result())
