"""envoy.filters.http.router: pick the cluster and host, forward, retry, time out, respond.

Mirrors source/common/router/router.cc (Filter::decodeHeaders: route / direct response /
redirect / cluster lookup / maintenance; UpstreamRequest; onUpstreamHeaders with retry
decisions; onResponseTimeout, onPerTryTimeout; the local reply texts and response flags)
and the request/response header finalization of config_impl.cc. Each attempt takes a host
from the cluster's balancer, a `max_requests` slot and a pooled connection; results feed the
outlier detector.
Omitted: shadowing, hedging, internal redirects, upstream filters, HTTP/2 upstreams.
"""

from __future__ import annotations

import asyncio
import logging
import time

from miniproxy.envoy import conn_pool, http1
from miniproxy.envoy import stream_info as flags
from miniproxy.envoy.filter import FilterDataStatus, FilterHeadersStatus, StreamFilter
from miniproxy.envoy.hash_lb import compute_hash
from miniproxy.envoy.load_balancer import LbContext
from miniproxy.envoy.retry_state import RetryState
from miniproxy.envoy.route_matcher import REDIRECT_CODES, redirect_location, rewrite_path
from miniproxy.envoy.worker import post_to

log = logging.getLogger("miniproxy.envoy.router")
CONNECT_FAILURE = (
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
)
CONNECTION_TERMINATION = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
OVERFLOW = "upstream connect error or disconnect/reset before headers. reset reason: overflow"


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _overloaded(h) -> None:
    h.set("x-envoy-overloaded", "true")


class _Attempt:
    """How one upstream attempt ended: a response, or a reset reason."""

    __slots__ = ("response", "reset", "host")

    def __init__(self, response=None, reset: str = "", host=None) -> None:
        self.response = response
        self.reset = reset
        self.host = host


class Router(StreamFilter):
    def __init__(self, config, ctx) -> None:
        self.config = config
        self.ctx = ctx
        self.task: asyncio.Task | None = None
        self.route = None
        self.cluster = None
        self.weight = None
        self.retried = False

    def decode_headers(self, headers, end_stream: bool) -> FilterHeadersStatus:
        cb = self.callbacks
        route = self.route = cb.route()
        if route is None:
            self.ctx.stats.counter("no_route").inc()
            cb.send_local_reply(404, "", details="route_not_found", flag=flags.NO_ROUTE_FOUND)
            return FilterHeadersStatus.StopIteration
        cb.stream_info.route_name = route.name
        if route.kind == "direct_response":
            self._direct_response(route)
            return FilterHeadersStatus.StopIteration
        if route.kind == "redirect":
            loc = redirect_location(route, headers)
            code = REDIRECT_CODES.get(route.pb.redirect.response_code, 301)
            cb.send_local_reply(
                code, "", modify_headers=lambda h: h.set("location", loc), details="via_route"
            )
            return FilterHeadersStatus.StopIteration
        name, self.weight = route.pick_cluster(headers, cb.random_value)
        self.cluster = cb.cluster_manager.get(name)
        cb.stream_info.upstream_cluster = name
        if self.cluster is None:
            self.ctx.stats.counter("no_cluster").inc()
            cb.send_local_reply(503, "", details="cluster_not_found", flag=flags.NO_CLUSTER_FOUND)
            return FilterHeadersStatus.StopIteration
        if end_stream:
            self._start()
        return FilterHeadersStatus.StopIteration

    def decode_data(self, data, end_stream: bool) -> FilterDataStatus:
        if end_stream and self.task is None and not self.callbacks.complete:
            self._start()
        return FilterDataStatus.StopIterationNoBuffer

    def _direct_response(self, route) -> None:
        dr = route.pb.direct_response
        body = dr.body.inline_string or (
            dr.body.inline_bytes.decode("latin-1") if dr.body.inline_bytes else ""
        )

        def modify(h) -> None:
            self._finalize_response(h)

        self.callbacks.send_local_reply(
            dr.status, body, modify_headers=modify, details="direct_response"
        )

    # -- the upstream request ------------------------------------------------------------
    def _start(self) -> None:
        self.task = self.callbacks.loop.create_task(self._run_guarded())

    async def _run_guarded(self) -> None:
        """A bug in the router must not leave the client hanging: answer 500 and log it."""
        try:
            await self._run()
        except Exception:
            log.exception("router failed")
            self.callbacks.send_local_reply(500, "", details="router_filter_error")

    def _finalize_request(self, headers) -> None:
        route, cb = self.route, self.callbacks
        ctx = {"downstream": cb.stream_info.downstream_remote, "request": headers}
        if self.weight is not None:
            self.weight.request_headers.evaluate(headers, ctx)
        route.request_headers.evaluate(headers, ctx)
        route.vhost.request_headers.evaluate(headers, ctx)
        cb.stream.route_table.request_headers.evaluate(headers, ctx)
        rewrite_path(route, headers)

    def _finalize_response(self, headers) -> None:
        route, cb = self.route, self.callbacks
        ctx = {"downstream": cb.stream_info.downstream_remote, "request": cb.request_headers}
        if self.weight is not None:
            self.weight.response_headers.evaluate(headers, ctx)
        route.response_headers.evaluate(headers, ctx)
        route.vhost.response_headers.evaluate(headers, ctx)
        cb.stream.route_table.response_headers.evaluate(headers, ctx)

    def _timeouts(self, headers) -> tuple[float, float]:
        timeout = self.route.timeout
        per_try = self.route.retry.per_try_timeout if self.route.retry else 0.0
        v = headers.get("x-envoy-upstream-rq-timeout-ms")
        if v and v.isdigit():
            timeout = int(v) / 1000.0
        v = headers.get("x-envoy-upstream-rq-per-try-timeout-ms")
        if v and v.isdigit():
            per_try = int(v) / 1000.0
        return timeout, per_try

    async def _run(self) -> None:
        cb, cluster = self.callbacks, self.cluster
        headers = cb.request_headers
        timeout, per_try = self._timeouts(headers)
        self._finalize_request(headers)
        if timeout:
            headers.set("x-envoy-expected-rq-timeout-ms", str(int((per_try or timeout) * 1000)))
        data = http1.encode_request(headers, bytes(cb.body))
        head = headers.get(":method") == "HEAD"
        loop = cb.loop
        deadline = loop.time() + timeout if timeout else None
        retry = RetryState.create(self.route.retry, headers, cluster.rng)
        hash_key = (
            compute_hash(
                self.route.hash_policy, headers, cb.stream_info.downstream_remote.rsplit(":", 1)[0]
            )
            if self.route.hash_policy
            else None
        )
        lb_ctx = LbContext(hash_key)
        while True:
            host = cluster.choose_host(lb_ctx)
            if host is None:
                cb.send_local_reply(
                    503,
                    "no healthy upstream",
                    details="no_healthy_upstream",
                    flag=flags.NO_HEALTHY_UPSTREAM,
                )
                return
            if not cluster.resources.requests.can_create():
                cluster.stats.upstream_rq_pending_overflow.inc()
                cb.send_local_reply(
                    503,
                    OVERFLOW,
                    modify_headers=_overloaded,
                    details="overflow",
                    flag=flags.UPSTREAM_OVERFLOW,
                )
                return
            cb.stream_info.attempt_count += 1
            cb.stream_info.upstream_host = host.address_string
            remaining = None if deadline is None else deadline - loop.time()
            attempt_timeout = (
                min(x for x in (remaining, per_try or None) if x is not None)
                if (remaining or per_try)
                else None
            )
            started = time.monotonic()
            attempt = await self._attempt(host, data, head, attempt_timeout)
            if attempt.reset == "overflow":
                cb.send_local_reply(
                    503,
                    OVERFLOW,
                    modify_headers=_overloaded,
                    details="overflow",
                    flag=flags.UPSTREAM_OVERFLOW,
                )
                return
            global_timeout = (
                attempt.reset == "timeout"
                and deadline is not None
                and loop.time() >= deadline - 0.001
            )
            if attempt.reset == "timeout" and not global_timeout:
                cluster.stats.upstream_rq_per_try_timeout.inc()
            if (
                retry is not None
                and not global_timeout
                and await self._should_retry(retry, attempt, deadline)
            ):
                continue
            self._finish(attempt, started, global_timeout)
            return

    async def _should_retry(
        self, retry: RetryState, attempt: _Attempt, deadline: float | None
    ) -> bool:
        """shouldRetryHeaders / shouldRetryReset plus the max_retries breaker and back-off."""
        cb, cluster = self.callbacks, self.cluster
        if attempt.response is not None:
            wants = retry.would_retry_status(int(attempt.response.headers.get(":status") or 0))
        else:
            wants = retry.would_retry_reset(
                "connect_failure" if attempt.reset == "connect_failure" else attempt.reset
            )
        if not wants:
            return False
        if not retry.take_retry():
            cluster.stats.upstream_rq_retry_limit_exceeded.inc()
            cb.stream_info.set_response_flag(flags.UPSTREAM_RETRY_LIMIT_EXCEEDED)
            return False
        if not cluster.resources.retries.can_create():
            cluster.stats.upstream_rq_retry_overflow.inc()
            cb.stream_info.set_response_flag(flags.UPSTREAM_OVERFLOW)
            return False
        delay = retry.next_backoff_ms() / 1000.0
        if deadline is not None and cb.loop.time() + delay >= deadline:
            return False
        cluster.stats.upstream_rq_retry.inc()
        cluster.resources.retries.inc()
        try:
            await asyncio.sleep(delay)
        finally:
            cluster.resources.retries.dec()
        self.retried = True
        return True

    async def _attempt(self, host, data: bytes, head: bool, timeout: float | None) -> _Attempt:
        cluster = self.cluster
        st = cluster.stats
        res = cluster.resources.requests
        res.inc()
        st.upstream_rq_total.inc()
        st.upstream_rq_active.inc()
        host.stats.rq_active += 1
        host.stats.rq_total += 1
        pool = cluster.pool()
        conn = None
        timer = None
        try:
            conn = pool.try_acquire(host)
            if conn is None:
                conn = await asyncio.wait_for(pool.acquire(host), timeout)
            waiter = conn.send_request(data, head)
            if timeout:
                # One timer per attempt instead of wait_for's extra task: expiry fails the waiter.
                timer = self.callbacks.loop.call_later(timeout, _expire, waiter)
            msg = await waiter
        except conn_pool.Overflow:
            return _Attempt(reset="overflow", host=host)
        except conn_pool.ConnectFailure:
            self._outlier(host, "connect_failure")
            return _Attempt(reset="connect_failure", host=host)
        except conn_pool.UpstreamReset:
            self._outlier(host, 503)
            st.upstream_rq_rx_reset.inc()
            return _Attempt(reset="reset", host=host)
        except TimeoutError:
            st.upstream_rq_timeout.inc()
            host.stats.rq_timeout += 1
            self._outlier(host, "timeout")
            if conn is not None:
                conn.transport.close()
            return _Attempt(reset="timeout", host=host)
        except asyncio.CancelledError:
            if conn is not None:
                conn.transport.close()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            res.dec()
            st.upstream_rq_active.dec()
            host.stats.rq_active -= 1
        pool.release(conn, msg.keep_alive)
        code = int(msg.headers.get(":status") or 0)
        st.response(code)
        st.upstream_rq_completed.inc()
        if code >= 500:
            host.stats.rq_error += 1
        else:
            host.stats.rq_success += 1
        self._outlier(host, code)
        return _Attempt(response=msg, host=host)

    def _outlier(self, host, result) -> None:
        """Report to the detector on the main thread, as workers post to Envoy's main thread."""
        det = self.cluster.detector
        if det is None:
            return
        now = self.callbacks.loop.time()
        if result == "connect_failure":
            fn, args = det.put_connect_failure, (host, now)
        elif result == "timeout":
            fn, args = det.put_timeout, (host, now)
        else:
            fn, args = det.put_http_response_code, (host, result, now)
        post_to(self.cluster.main_loop or self.callbacks.loop, fn, *args)

    def _finish(self, attempt: _Attempt, started: float, global_timeout: bool) -> None:
        cb, st = self.callbacks, self.cluster.stats
        if attempt.response is not None:
            msg = attempt.response
            if self.retried and int(msg.headers.get(":status") or 0) < 500:
                st.upstream_rq_retry_success.inc()
            elapsed = int((time.monotonic() - started) * 1000)
            st.upstream_rq_time.record(elapsed)
            msg.headers.set("x-envoy-upstream-service-time", str(elapsed))
            self._finalize_response(msg.headers)
            cb.encode_headers(msg.headers, msg.body)
        elif attempt.reset == "timeout":
            cb.send_local_reply(
                504,
                "upstream request timeout",
                details="upstream_response_timeout",
                flag=flags.UPSTREAM_REQUEST_TIMEOUT,
            )
        elif attempt.reset == "connect_failure":
            cb.send_local_reply(
                503,
                CONNECT_FAILURE,
                details="upstream_reset_before_response_started{connection_failure}",
                flag=flags.UPSTREAM_CONNECTION_FAILURE,
            )
        else:
            cb.send_local_reply(
                503,
                CONNECTION_TERMINATION,
                details="upstream_reset_before_response_started{connection_termination}",
                flag=flags.UPSTREAM_CONNECTION_TERMINATION,
            )

    def on_destroy(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
