"""envoy.filters.network.http_connection_manager: HTTP/1.1 streams through the filter chain.

Mirrors source/common/http/conn_manager_impl.cc (ConnectionManagerImpl::onData, newStream,
ActiveStream::decodeHeaders: request id, x-forwarded-proto, route resolution; the
`http.<stat_prefix>.` stats; idle and request timeouts; codec errors → 400/431 and close),
source/extensions/filters/network/http_connection_manager/config.cc (HttpConnectionManagerConfig)
and source/common/router/rds_impl.cc (static route_config or an RDS-fed provider).
Pipelined requests are answered in order, one stream at a time; reading pauses when too many
are queued. `codec_type` AUTO hands a connection that opens with the HTTP/2 preface to
http2.Http2Connection (ALPN "h2" goes there directly, see listener_manager.new_http_connection);
an ActiveStream does not care which codec it came from.
Omitted: HTTP/3, upgrades, draining with GOAWAY, scoped routes, tracing.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

from miniproxy.envoy import http1
from miniproxy.envoy import stream_info as flags
from miniproxy.envoy.access_log import from_proto as access_log_from_proto
from miniproxy.envoy.config import unpack
from miniproxy.envoy.filter_manager import FilterManager
from miniproxy.envoy.filters import create_filter_factory
from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.http2 import PREFACE
from miniproxy.envoy.route_matcher import RouteTable
from miniproxy.envoy.stream_info import StreamInfo

log = logging.getLogger("miniproxy.envoy.conn_manager")
MAX_PIPELINED = 32


def _s(d, default: float) -> float:
    return d.seconds + d.nanos / 1e9 if d is not None else default


def request_id(r: int) -> str:
    """A version-4 UUID string from the stream's 64 random bits (UUIDUtils, uuid_utils.cc)."""
    h = f"{r:016x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[r & 3]}{h[1:4]}-{h[4:16]}"


class RouteConfigProvider:
    """A static route table, or an RDS one that the xDS client replaces as updates arrive."""

    def __init__(self, table: RouteTable | None, rds_name: str = "") -> None:
        self.table = table
        self.rds_name = rds_name


class HcmConfig:
    """HttpConnectionManagerConfig: everything a connection needs, built once per listener."""

    def __init__(self, pb, server) -> None:
        self.pb = pb
        self.server = server
        self.stat_prefix = pb.stat_prefix
        self.stats = server.store.scope(f"http.{pb.stat_prefix}.")
        self.server_name = pb.server_name or "envoy"
        self.generate_request_id = (
            not pb.HasField("generate_request_id") or pb.generate_request_id.value
        )
        self.use_remote_address = pb.use_remote_address.value
        self.max_headers_kb = pb.max_request_headers_kb.value or 60
        self.codec_type = pb.codec_type  # AUTO (0), HTTP1 (1), HTTP2 (2)
        self.http2_options = pb.http2_protocol_options
        self.stream_class = ActiveStream  # what either codec builds per request
        cho = pb.common_http_protocol_options
        self.idle_timeout = _s(cho.idle_timeout, 3600.0) if cho.HasField("idle_timeout") else 3600.0
        self.request_timeout = (
            _s(pb.request_timeout, 0.0) if pb.HasField("request_timeout") else 0.0
        )
        if pb.HasField("route_config"):
            self.routes = RouteConfigProvider(RouteTable(pb.route_config, server.unpack_per_filter))
        else:
            self.routes = server.rds_provider(pb.rds.route_config_name)
        self.filter_factories = [create_filter_factory(f, self) for f in pb.http_filters]
        self.access_logs = [access_log_from_proto(a, unpack) for a in pb.access_log]
        names = ("downstream_rq_total", "downstream_rq_completed", "downstream_cx_total",
                 "downstream_cx_protocol_error", "downstream_cx_idle_timeout", "downstream_rq_timeout",
                 "downstream_rq_1xx", "downstream_rq_2xx", "downstream_rq_3xx", "downstream_rq_4xx",
                 "downstream_rq_5xx", "downstream_rq_http1_total", "downstream_cx_http1_total",
                 "downstream_rq_http2_total", "downstream_cx_http2_total")  # fmt: skip
        self.c = {n: self.stats.counter(n) for n in names}
        # The per-request counters as attributes: the request path bumps `.value` directly.
        self.rq_total = self.c["downstream_rq_total"]
        self.rq_completed = self.c["downstream_rq_completed"]
        self.rq_class = [self.c[f"downstream_rq_{max(i, 1)}xx"] for i in range(6)]
        self.cluster_manager = server.cluster_manager
        self.random_bits = server.rng.getrandbits
        self.rq_active = self.stats.gauge("downstream_rq_active")
        self.cx_active = self.stats.gauge("downstream_cx_active")
        self.rq_time = self.stats.histogram("downstream_rq_time")


class ActiveStream:
    """One request/response exchange on a downstream connection."""

    def __init__(self, conn: HttpConnection, msg: http1.Message) -> None:
        cfg = self.config = conn.config
        self.conn = self.connection = conn
        self.loop = conn.loop
        self.cluster_manager = cfg.cluster_manager
        self.route_table = cfg.routes.table
        self.random_value = cfg.random_bits(64)
        self.msg = msg
        h = self.request_headers = msg.headers
        first = h._items[0] if h._items else ("", None)  # where the HTTP/1 codec puts it
        self.method = first[1] if first[0] == ":method" else h.get(":method")
        info = self.info = StreamInfo(time.time(), time.monotonic(), conn.remote, conn.local)
        if msg.body:
            info.bytes_received = len(msg.body)
        if msg.version != "HTTP/1.1":
            info.protocol = msg.version
        factories = cfg.filter_factories
        filters = [factories[0]()] if len(factories) == 1 else [f() for f in factories]
        self.fm = FilterManager(filters, self, info)

    def start(self) -> None:
        cfg, h = self.config, self.msg.headers
        cfg.rq_total.value += 1
        cfg.c[self.conn.rq_codec_stat].value += 1
        cfg.rq_active.value += 1
        if cfg.generate_request_id and "x-request-id" not in h:
            h.add("x-request-id", request_id(self.random_value))
        if "x-forwarded-proto" not in h:
            h.add("x-forwarded-proto", self.conn.scheme)
        if cfg.use_remote_address:
            ip = self.conn.remote.rsplit(":", 1)[0]
            xff = h.get("x-forwarded-for")
            h.set("x-forwarded-for", f"{xff}, {ip}" if xff else ip)
        self.fm.decode(h, self.msg.body)

    def on_response(self, headers: HeaderMap, body: bytes) -> None:
        cfg, info = self.config, self.info
        headers.set("server", cfg.server_name)
        info.bytes_sent = len(body)
        code = info.response_code or 0
        cfg.rq_class[code // 100 if code < 600 else 5].value += 1
        cfg.rq_completed.value += 1
        cfg.rq_active.value -= 1
        elapsed = time.monotonic() - info.start_monotonic
        info.duration_ms = int(elapsed * 1000)
        cfg.rq_time.record(elapsed * 1000)
        if cfg.access_logs:
            for al in cfg.access_logs:
                al.log(self.msg.headers, headers, info)
        self.conn.send_response(self, headers, body)

    def destroy(self) -> None:
        # The filter manager points back at this stream: break the cycle (see on_destroy).
        fm, self.fm = self.fm, None
        if fm is not None:
            fm.on_destroy()


class HttpConnection(asyncio.Protocol):
    """One downstream connection: parse requests, run streams one at a time, write responses."""

    rq_codec_stat = "downstream_rq_http1_total"

    def __init__(self, config: HcmConfig, on_close=None, http2_factory=None) -> None:
        self.config = config
        self.on_close = on_close
        # codec_type AUTO: builds the HTTP/2 connection if the first bytes are its preface.
        self.http2_factory = http2_factory
        self.sniffed = b""
        self.loop = asyncio.get_running_loop()
        self.parser = http1.RequestParser(config.max_headers_kb)
        self.queue: collections.deque[http1.Message] = collections.deque()
        self.active: ActiveStream | None = None
        self.closing = False
        self.paused = False
        self.transport = None
        self.idle_timer = None
        self.request_timer = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        # ConnectionManagerUtility::mutateRequestHeaders: https when the connection has TLS.
        self.scheme = "https" if transport.get_extra_info("ssl_object") is not None else "http"
        peer = transport.get_extra_info("peername") or ("", 0)
        sock = transport.get_extra_info("sockname") or ("", 0)
        self.remote = f"{peer[0]}:{peer[1]}"
        self.local = f"{sock[0]}:{sock[1]}"
        self.config.c["downstream_cx_total"].inc()
        if self.http2_factory is None:
            self.config.c["downstream_cx_http1_total"].inc()
        self.config.cx_active.inc()
        self._arm_idle()

    def _sniff(self, data: bytes) -> bytes | None:
        """codec_type AUTO: the HTTP/2 preface hands the connection over (None), else HTTP/1."""
        data = self.sniffed + data
        n = min(len(data), len(PREFACE))
        if data[:n] != PREFACE[:n]:
            self.http2_factory = None
            self.config.c["downstream_cx_http1_total"].inc()
            return data
        if n < 3:  # "P" could still be POST, PUT or PATCH
            self.sniffed = data
            return None
        h2conn = self.http2_factory()
        h2conn.adopted = True  # counted as a connection already
        for t in (self.idle_timer, self.request_timer):
            if t:
                t.cancel()
        self.transport.set_protocol(h2conn)
        h2conn.connection_made(self.transport)
        h2conn.data_received(data)
        return None

    def _arm_idle(self) -> None:
        """Note activity; one timer per connection re-arms itself lazily (no timer per request)."""
        self.last_activity = self.loop.time()
        if self.idle_timer is None and self.config.idle_timeout:
            self.idle_timer = self.loop.call_later(self.config.idle_timeout, self._on_idle_timeout)

    def _on_idle_timeout(self) -> None:
        self.idle_timer = None
        if self.closing:
            return
        remaining = self.last_activity + self.config.idle_timeout - self.loop.time()
        if self.active is not None or self.queue:
            # Envoy disarms the idle timer while streams are open; check again later.
            remaining = self.config.idle_timeout
        if remaining > 0:
            self.idle_timer = self.loop.call_later(remaining, self._on_idle_timeout)
            return
        self.config.c["downstream_cx_idle_timeout"].inc()
        self.transport.close()

    def _on_request_timeout(self) -> None:
        self.config.c["downstream_rq_timeout"].inc()
        self._protocol_error(408, "request timeout", count=False)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.http2_factory is not None:
            data = self._sniff(data)
            if data is None:
                return
        if self.request_timer is None and self.config.request_timeout:
            self.request_timer = self.loop.call_later(
                self.config.request_timeout, self._on_request_timeout
            )
        parser = self.parser
        try:
            msgs = parser.feed(data)
        except http1.CodecError as e:
            self._protocol_error(e.status, "Bad Request" if e.status == 400 else e.details)
            return
        if parser.continue_needed:
            parser.continue_needed = False
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if not msgs:
            return
        if self.request_timer is not None:
            self.request_timer.cancel()
            self.request_timer = None
        if self.active is None and not self.queue and len(msgs) == 1:
            # The keep-alive fast path: one request, nothing queued ahead of it.
            stream = self.active = ActiveStream(self, msgs[0])
            stream.start()
            return
        self.queue.extend(msgs)
        if len(self.queue) > MAX_PIPELINED and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        if self.active is None:
            self._next()

    def _protocol_error(self, status: int, body: str, count: bool = True) -> None:
        """Answer a codec error like Envoy: a local reply with `connection: close`, then close."""
        if count:
            self.config.c["downstream_cx_protocol_error"].inc()
        self.closing = True
        if self.active is not None:
            self.transport.close()
            return
        info = StreamInfo(
            time.time(), time.monotonic(), self.remote, self.local, response_code=status
        )
        info.set_response_flag(flags.DOWNSTREAM_PROTOCOL_ERROR)
        headers = HeaderMap(
            [
                (":status", str(status)),
                ("content-type", "text/plain"),
                ("server", self.config.server_name),
            ]
        )
        for al in self.config.access_logs:
            al.log(None, headers, info)
        self.transport.write(http1.encode_response(headers, body.encode(), close=True))
        self.transport.close()

    def _next(self) -> None:
        while self.active is None and self.queue and not self.closing:
            msg = self.queue.popleft()
            if self.paused and len(self.queue) < MAX_PIPELINED // 2:
                self.paused = False
                self.transport.resume_reading()
            self.active = ActiveStream(self, msg)
            self.active.start()

    def send_response(self, stream: ActiveStream, headers: HeaderMap, body: bytes) -> None:
        close = not stream.msg.keep_alive or self.closing
        head = stream.method == "HEAD"
        self.write_response(http1.encode_response(headers, body, close, head), close)

    def write_response(self, data: bytes, close: bool) -> None:
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(data)
        stream, self.active = self.active, None
        if stream is not None:
            stream.destroy()
        if close:
            self.closing = True
            transport.close()
            return
        self.last_activity = self.loop.time()  # _arm_idle: the idle timer is already armed
        if self.idle_timer is None:
            self._arm_idle()
        if self.queue:
            # Run the next pipelined request on a fresh loop turn, like a new dispatch.
            self.loop.call_soon(self._next)

    def connection_lost(self, exc) -> None:
        self.closing = True
        for t in (self.idle_timer, self.request_timer):
            if t:
                t.cancel()
        if self.active is not None:
            self.active.info.set_response_flag(flags.DOWNSTREAM_CONNECTION_TERMINATION)
            self.config.rq_active.dec()
            self.active.destroy()
            self.active = None
        self.config.cx_active.dec()
        if self.on_close:
            self.on_close(self)
