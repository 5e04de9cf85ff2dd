"""One attempt of the router: a pooled connection, the request written, the response read.

Mirrors source/common/router/upstream_request.cc (UpstreamRequest: onPoolReady,
onPoolFailure, decodeHeaders from the codec, onResetStream, onPerTryTimeout, resetStream)
and the per-host and per-cluster accounting around it in router.cc. Everything is a callback
from the connection pool, the connection's read event or the attempt's timer: no task and no
future per request. The attempt ends exactly once, in `_done`, which hands an `Attempt` back
to the router; a reset from downstream (`reset()`) ends it silently.
The connection may be HTTP/1.1 (conn_pool.UpstreamConnection) or an HTTP/2 stream
(upstream_http2.Http2UpstreamConnection): both call back the same four methods.
Omitted: upstream filters, hedged attempts.
"""

from __future__ import annotations

from miniproxy.envoy import conn_pool, http1


class RequestMessage:
    """The finalized request every attempt sends; its HTTP/1.1 bytes are encoded once."""

    __slots__ = ("headers", "body", "_wire")

    def __init__(self, headers, body: bytes) -> None:
        self.headers = headers
        self.body = body
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = http1.encode_request(self.headers, self.body)
        return self._wire


class Attempt:
    """How one upstream attempt ended: a response, or a reset reason."""

    __slots__ = ("response", "reset", "host", "started")

    def __init__(self, response=None, reset: str = "", host=None, started: float = 0.0) -> None:
        self.response = response
        self.reset = reset  # "", "overflow", "connect_failure", "reset" or "timeout"
        self.host = host
        self.started = started


class UpstreamRequest:
    """One try against one host; the router is told how it ended through on_attempt_done."""

    # Per-attempt state starts from these class-level defaults.
    pending = None
    conn = None
    timer = None  # only while waiting for a connection; then the connection watches
    deadline: float | None = None
    started = 0.0
    active = False

    def __init__(self, router, host, request: RequestMessage, head: bool) -> None:
        self.router = router
        self.cluster = router.cluster
        self.host = host
        self.request = request
        self.head = head
        self.loop = router.callbacks.loop

    def start(self, now: float, deadline: float | None) -> None:
        """Count the attempt, then ask the pool; `deadline` is in loop time (per-try/global)."""
        cluster, host = self.cluster, self.host
        st, hs = cluster.stats, host.stats
        cluster.resources.requests.inc()
        st.upstream_rq_total.value += 1
        st.upstream_rq_active.value += 1
        hs.rq_active += 1
        hs.rq_total += 1
        self.active = True
        self.started = now
        self.deadline = deadline
        self.pending = cluster.pool(self.loop).new_stream(host, self)
        if self.pending is not None and deadline is not None:
            self.timer = self.loop.call_at(deadline, self.on_timeout)

    # -- the pool's callbacks ----------------------------------------------------------
    def on_pool_ready(self, conn) -> None:
        self.pending = None
        if not self.active:
            conn.pool.release(conn, True)
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.conn = conn
        conn.send_request(self.request, self.head, self, self.deadline)

    def on_pool_failure(self, reason: str, details: str = "") -> None:
        self.pending = None
        if reason == conn_pool.CONNECT_FAILURE:
            self._outlier("connect_failure")
        self._done(Attempt(reset=reason, host=self.host))

    # -- the connection's callbacks -------------------------------------------------------
    def on_upstream_response(self, conn, msg) -> None:
        self.conn = None
        conn.pool.release(conn, msg.keep_alive)
        st, host = self.cluster.stats, self.host
        code = int(msg.headers.get(":status") or 0)
        st.response(code)
        st.upstream_rq_completed.value += 1
        if code >= 500:
            host.stats.rq_error += 1
        else:
            host.stats.rq_success += 1
        if self.cluster.detector is not None:
            self._outlier(code)
        self._done(Attempt(response=msg, host=host, started=self.started))

    def on_upstream_reset(self, reason: str) -> None:
        self.conn = None
        self._outlier(503)
        self.cluster.stats.upstream_rq_rx_reset.inc()
        self._done(Attempt(reset="reset", host=self.host))

    def on_timeout(self) -> None:
        """The per-try (or the remaining global) timeout passed before the response."""
        self.timer = None
        self.cluster.stats.upstream_rq_timeout.inc()
        self.host.stats.rq_timeout += 1
        self._outlier("timeout")
        self._abandon()
        self._done(Attempt(reset="timeout", host=self.host))

    # -- ending --------------------------------------------------------------------------
    def reset(self) -> None:
        """resetStream: the downstream went away; close what is in flight, report nothing."""
        self._abandon()
        self._release()
        self.router = None

    def _abandon(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
        if self.conn is not None:
            self.conn.abandon(self)
            self.conn = None

    def _release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.active:
            self.active = False
            cluster = self.cluster
            cluster.resources.requests.dec()
            cluster.stats.upstream_rq_active.value -= 1
            self.host.stats.rq_active -= 1

    def _done(self, attempt: Attempt) -> None:
        self._release()
        router, self.router = self.router, None
        if router is not None:
            router.on_attempt_done(attempt)

    def _outlier(self, result) -> None:
        """Report to the detector: the Detector itself in a single-process server, else a
        worker's OutlierReporter that forwards the result to the main process."""
        det = self.cluster.detector
        if det is None:
            return
        now = self.loop.time()
        if result == "connect_failure":
            det.put_connect_failure(self.host, now)
        elif result == "timeout":
            det.put_timeout(self.host, now)
        else:
            det.put_http_response_code(self.host, result, now)
