"""envoy.filters.http.router: pick the cluster and host, forward, retry, time out, respond.

Mirrors source/common/router/router.cc (Filter::decodeHeaders: route / direct response /
redirect / cluster lookup / maintenance; UpstreamRequest; onUpstreamHeaders with retry
decisions; onResponseTimeout, onPerTryTimeout; the local reply texts and response flags)
and the request/response header finalization of config_impl.cc. Each attempt takes a host
from the cluster's balancer, a `max_requests` slot and a pooled connection; results feed the
outlier detector. Everything after decode_headers runs from callbacks (pool ready, response
read, timer), as Envoy's dispatcher does: no task per request.
Omitted: shadowing, hedging, internal redirects, upstream filters.
"""

from __future__ import annotations

import logging

from miniproxy.envoy import stream_info as flags
from miniproxy.envoy.filter import FilterDataStatus, FilterHeadersStatus, StreamFilter
from miniproxy.envoy.hash_lb import compute_hash
from miniproxy.envoy.load_balancer import LbContext
from miniproxy.envoy.retry_state import RetryState
from miniproxy.envoy.route_matcher import REDIRECT_CODES, redirect_location, rewrite_path
from miniproxy.envoy.upstream_request import Attempt, RequestMessage, UpstreamRequest

log = logging.getLogger("miniproxy.envoy.router")
CONNECT_FAILURE = (
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
)
CONNECTION_TERMINATION = "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
OVERFLOW = "upstream connect error or disconnect/reset before headers. reset reason: overflow"


def _overloaded(h) -> None:
    h.set("x-envoy-overloaded", "true")


class Router(StreamFilter):
    # Per-stream state starts from these class-level defaults (one Router per request).
    route = None
    cluster = None
    weight = None
    retried = False
    started = False
    upstream: UpstreamRequest | None = None
    backoff = None  # the retry back-off timer

    def __init__(self, config, ctx) -> None:
        self.config = config
        self.ctx = ctx

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
        if end_stream and not self.started and not self.callbacks.complete:
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

    def _finalize_request(self, headers) -> None:
        route, cb = self.route, self.callbacks
        parsers = route.request_parsers
        if self.weight is not None and self.weight.request_headers:
            parsers = (self.weight.request_headers, *parsers)
        if parsers:
            ctx = {"downstream": cb.stream_info.downstream_remote, "request": headers}
            for p in parsers:
                p.evaluate(headers, ctx)
        if route.rewrites:
            rewrite_path(route, headers)

    def _finalize_response(self, headers) -> None:
        route, cb = self.route, self.callbacks
        parsers = route.response_parsers
        if self.weight is not None and self.weight.response_headers:
            parsers = (self.weight.response_headers, *parsers)
        if parsers:
            ctx = {"downstream": cb.stream_info.downstream_remote, "request": cb.request_headers}
            for p in parsers:
                p.evaluate(headers, ctx)

    def _timeouts(self, headers) -> tuple[float, float]:
        """The route's timeouts, overridden by x-envoy-upstream-rq-(per-try-)timeout-ms."""
        timeout = self.route.timeout
        per_try = self.route.retry.per_try_timeout if self.route.retry else 0.0
        v = headers.get("x-envoy-upstream-rq-timeout-ms")
        if v and v.isdigit():
            timeout = int(v) / 1000.0
        v = headers.get("x-envoy-upstream-rq-per-try-timeout-ms")
        if v and v.isdigit():
            per_try = int(v) / 1000.0
        return timeout, per_try

    # -- the upstream request ------------------------------------------------------------
    def _start(self) -> None:
        """The request is complete: prepare it once, then make the first attempt."""
        cb, route = self.callbacks, self.route
        self.started = True
        headers = cb.request_headers
        # Most requests carry no x-envoy-* control header: one scan saves five lookups.
        control = False
        for item in headers._items:
            if item[0].startswith("x-envoy-"):
                control = True
                break
        if control:
            timeout, self.per_try = self._timeouts(headers)
        else:
            timeout = route.timeout
            self.per_try = route.retry.per_try_timeout if route.retry else 0.0
        if route.request_parsers or route.rewrites or self.weight is not None:
            self._finalize_request(headers)
        if timeout:
            ms = str(int((self.per_try or timeout) * 1000))
            if control:
                headers.set("x-envoy-expected-rq-timeout-ms", ms)
            else:  # no x-envoy-* header yet: nothing to replace
                headers._items.append(["x-envoy-expected-rq-timeout-ms", ms])
        body = cb.body
        self.request = RequestMessage(headers, bytes(body) if body else b"")
        self.head = cb.stream.method == "HEAD"
        now = cb.loop.time()
        self.deadline = now + timeout if timeout else None
        self.retry = (
            RetryState.create(route.retry, headers, self.cluster.rng)
            if control or route.retry is not None
            else None
        )
        hash_key = None
        if route.hash_policy:
            ip = cb.stream_info.downstream_remote.rsplit(":", 1)[0]
            hash_key = compute_hash(route.hash_policy, headers, ip)
        self.lb_ctx = LbContext(hash_key) if hash_key is not None else None
        self._do_attempt(now)

    def _do_attempt(self, now: float | None = None) -> None:
        """One try: host, `max_requests` breaker, then an UpstreamRequest (router.cc)."""
        cb, cluster = self.callbacks, self.cluster
        host = cluster.choose_host(self.lb_ctx, cb.loop)
        if host is None:
            cb.send_local_reply(
                503, "no healthy upstream", details="no_healthy_upstream",
                flag=flags.NO_HEALTHY_UPSTREAM,
            )  # fmt: skip
            return
        if not cluster.resources.requests.can_create():  # the max_requests breaker is open
            cluster.stats.upstream_rq_pending_overflow.inc()
            self._overflow()
            return
        info = cb.stream_info
        info.attempt_count += 1
        info.upstream_host = host.address_string
        if now is None:
            now = cb.loop.time()
        deadline = self.deadline
        if self.per_try and (deadline is None or now + self.per_try < deadline):
            deadline = now + self.per_try
        self.upstream = UpstreamRequest(self, host, self.request, self.head)
        self.upstream.start(now, deadline)

    def _overflow(self) -> None:
        self.callbacks.send_local_reply(
            503, OVERFLOW, modify_headers=_overloaded, details="overflow",
            flag=flags.UPSTREAM_OVERFLOW,
        )  # fmt: skip

    def on_attempt_done(self, attempt: Attempt) -> None:
        """onUpstreamHeaders / onUpstreamReset / onPerTryTimeout: retry, or answer downstream."""
        self.upstream = None
        try:
            self._on_attempt_done(attempt)
        except Exception:
            # A bug in the router must not leave the client hanging: answer 500 and log it.
            log.exception("router failed")
            self.callbacks.send_local_reply(500, "", details="router_filter_error")

    def _on_attempt_done(self, attempt: Attempt) -> None:
        if attempt.reset == "overflow":
            self._overflow()
            return
        global_timeout = (
            attempt.reset == "timeout"
            and self.deadline is not None
            and self.callbacks.loop.time() >= self.deadline - 0.001
        )
        if attempt.reset == "timeout" and not global_timeout:
            self.cluster.stats.upstream_rq_per_try_timeout.inc()
        if self.retry is not None and not global_timeout:
            delay = self._retry_delay(attempt)
            if delay is not None:
                self.cluster.stats.upstream_rq_retry.inc()
                self.cluster.resources.retries.inc()
                self.backoff = self.callbacks.loop.call_later(delay, self._do_retry)
                return
        self._finish(attempt, global_timeout)

    def _retry_delay(self, attempt: Attempt) -> float | None:
        """shouldRetryHeaders / shouldRetryReset plus the max_retries breaker; the back-off."""
        cb, cluster, retry = self.callbacks, self.cluster, self.retry
        if attempt.response is not None:
            wants = retry.would_retry_status(int(attempt.response.headers.get(":status") or 0))
        else:
            wants = retry.would_retry_reset(attempt.reset)
        if not wants:
            return None
        if not retry.take_retry():
            cluster.stats.upstream_rq_retry_limit_exceeded.inc()
            cb.stream_info.set_response_flag(flags.UPSTREAM_RETRY_LIMIT_EXCEEDED)
            return None
        if not cluster.resources.retries.can_create():
            cluster.stats.upstream_rq_retry_overflow.inc()
            cb.stream_info.set_response_flag(flags.UPSTREAM_OVERFLOW)
            return None
        delay = retry.next_backoff_ms() / 1000.0
        if self.deadline is not None and cb.loop.time() + delay >= self.deadline:
            return None
        return delay

    def _do_retry(self) -> None:
        self.backoff = None
        self.cluster.resources.retries.dec()
        self.retried = True
        try:
            self._do_attempt()
        except Exception:
            log.exception("router failed")
            self.callbacks.send_local_reply(500, "", details="router_filter_error")

    def _finish(self, attempt: Attempt, global_timeout: bool) -> None:
        cb, st = self.callbacks, self.cluster.stats
        if attempt.response is not None:
            msg = attempt.response
            if self.retried and int(msg.headers.get(":status") or 0) < 500:
                st.upstream_rq_retry_success.inc()
            elapsed = int((cb.loop.time() - attempt.started) * 1000)
            st.upstream_rq_time.record(elapsed)
            msg.headers.set("x-envoy-upstream-service-time", str(elapsed))
            route = self.route
            if route.response_parsers or (self.weight and self.weight.response_headers):
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
        """The stream ended: reset the attempt in flight, drop a pending retry."""
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.reset()
        if self.backoff is not None:
            self.backoff.cancel()
            self.backoff = None
            self.cluster.resources.retries.dec()
