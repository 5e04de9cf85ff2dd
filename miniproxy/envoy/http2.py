"""HTTP/2 downstream codec: many concurrent streams on one connection, each an ActiveStream.

Mirrors source/common/http/http2/codec_impl.cc (ServerConnectionImpl: the connection preface,
SETTINGS from `http2_protocol_options`, HEADERS/DATA into a stream decoder, RST_STREAM as a
downstream reset, responses as HEADERS + DATA within the peer's flow-control windows, GOAWAY
on a protocol error) and the HTTP/2 half of conn_manager_impl.cc (`downstream_cx_http2_total`,
`downstream_rq_http2_total`). Framing, HPACK, stream states and flow-control bookkeeping come
from the sans-I/O `h2` library (python-hyper); this module is the adapter that feeds it bytes
and turns its events into streams of the HTTP connection manager.
Omitted: HTTP/2 upstreams, server push, trailers, priorities, CONNECT, streaming bodies
(a request is handed to the filter chain when its stream ends).
"""

from __future__ import annotations

import asyncio
import logging

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from miniproxy.envoy import http1
from miniproxy.envoy import stream_info as flags
from miniproxy.envoy.headers import HeaderMap

log = logging.getLogger("miniproxy.envoy.http2")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# RFC 9113 section 8.2.2: connection-specific fields must not appear in HTTP/2.
_CONNECTION_SPECIFIC = frozenset(
    ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te")
)


class Http2Connection(asyncio.Protocol):
    """One downstream HTTP/2 connection; streams run concurrently through the filter chain."""

    version = "HTTP/2"
    rq_codec_stat = "downstream_rq_http2_total"

    def __init__(self, config, on_close=None) -> None:
        self.config = config
        self.on_close = on_close
        self.loop = asyncio.get_running_loop()
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="latin-1")
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.partial: dict[int, tuple[HeaderMap, bytearray]] = {}
        self.streams: dict[int, object] = {}
        self.unsent: dict[int, bytes] = {}  # response bytes waiting for flow-control window
        self.transport = None
        self.closing = False
        self.scheme = "http"
        self.idle_timer = None
        self.adopted = False  # handed over by an HTTP/1 connection that sniffed the preface

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.scheme = "https" if transport.get_extra_info("ssl_object") is not None else "http"
        peer = transport.get_extra_info("peername") or ("", 0)
        sock = transport.get_extra_info("sockname") or ("", 0)
        self.remote, self.local = f"{peer[0]}:{peer[1]}", f"{sock[0]}:{sock[1]}"
        c = self.config.c
        if not self.adopted:
            c["downstream_cx_total"].inc()
            self.config.cx_active.inc()
        c["downstream_cx_http2_total"].inc()
        opts = self.config.http2_options
        # Envoy's defaults (http2_protocol_options): effectively unlimited streams, 256 MiB windows.
        streams = (
            opts.max_concurrent_streams.value
            if opts.HasField("max_concurrent_streams")
            else 2**31 - 1
        )
        window = (
            opts.initial_stream_window_size.value
            if opts.HasField("initial_stream_window_size")
            else 256 * 1024 * 1024
        )
        conn_window = opts.initial_connection_window_size.value if opts.HasField("initial_connection_window_size") else 256 * 1024 * 1024  # fmt: skip
        initial = {
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: streams,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window,
        }
        self.h2.local_settings = h2.settings.Settings(client=False, initial_values=initial)
        self.h2.initiate_connection()
        if conn_window > 65535:
            self.h2.increment_flow_control_window(conn_window - 65535)
        self._flush()
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            log.debug("HTTP/2 protocol error: %s", e)
            self.config.c["downstream_cx_protocol_error"].inc()
            self._flush()  # h2 queued a GOAWAY
            self._close()
            return
        for ev in events:
            self._on_event(ev)
        self._flush()
        self._arm_idle()

    def _on_event(self, ev) -> None:
        if isinstance(ev, h2.events.RequestReceived):
            headers = HeaderMap()
            headers._items = [[k, v] for k, v in ev.headers]
            if ":authority" not in headers and "host" in headers:
                headers.set(":authority", headers.get("host"))
            self.partial[ev.stream_id] = (headers, bytearray())
        elif isinstance(ev, h2.events.DataReceived):
            part = self.partial.get(ev.stream_id)
            if part is not None:
                part[1].extend(ev.data)
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            part = self.partial.pop(ev.stream_id, None)
            if part is not None:
                self._start_stream(ev.stream_id, part[0], bytes(part[1]))
        elif isinstance(ev, h2.events.StreamReset):
            self.partial.pop(ev.stream_id, None)
            self.unsent.pop(ev.stream_id, None)
            self._reset_stream(ev.stream_id)
        elif isinstance(ev, h2.events.WindowUpdated):
            for sid in [ev.stream_id] if ev.stream_id else list(self.unsent):
                if sid in self.unsent:
                    self._send_body(sid, self.unsent.pop(sid))
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self._close()

    def _start_stream(self, stream_id: int, headers: HeaderMap, body: bytes) -> None:
        stream = self.config.stream_class(self, http1.Message(headers, body, True, self.version))
        stream.h2_stream_id = stream_id
        self.streams[stream_id] = stream
        stream.start()

    def _reset_stream(self, stream_id: int) -> None:
        """The client reset the stream (RST_STREAM): like a downstream disconnect, for one stream."""
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            stream.info.set_response_flag(flags.DOWNSTREAM_CONNECTION_TERMINATION)
            self.config.rq_active.dec()
            stream.destroy()

    # -- responses ---------------------------------------------------------------------
    def send_response(self, stream, headers: HeaderMap, body: bytes) -> None:
        """The stream's encoded response: HEADERS, then DATA within the window."""
        sid = stream.h2_stream_id
        if self.streams.pop(sid, None) is None or self.closing:
            stream.destroy()
            return
        status = headers.get(":status") or "200"
        fields = [(":status", status)]
        fields += [(k, v) for k, v in headers._items if k[0] != ":" and k not in _CONNECTION_SPECIFIC and k != "content-length"]  # fmt: skip
        if status not in ("204", "304"):
            fields.append(("content-length", str(len(body))))
        send_body = bool(body) and stream.method != "HEAD"
        try:
            self.h2.send_headers(sid, fields, end_stream=not send_body)
            if send_body:
                self._send_body(sid, body)
        except h2.exceptions.StreamClosedError:
            pass  # reset by the client meanwhile
        self._flush()
        stream.destroy()

    def _send_body(self, sid: int, data: bytes) -> None:
        while data:
            window = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if window <= 0:
                self.unsent[sid] = data  # resumed on WINDOW_UPDATE
                return
            chunk, data = data[:window], data[window:]
            self.h2.send_data(sid, chunk, end_stream=not data)

    def _flush(self) -> None:
        out = self.h2.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(out)

    # -- lifetime -------------------------------------------------------------------------
    def _arm_idle(self) -> None:
        self.last_activity = self.loop.time()
        if self.idle_timer is None and self.config.idle_timeout:
            self.idle_timer = self.loop.call_later(self.config.idle_timeout, self._on_idle)

    def _on_idle(self) -> None:
        self.idle_timer = None
        if self.closing:
            return
        remaining = self.last_activity + self.config.idle_timeout - self.loop.time()
        if self.streams or self.partial:
            remaining = self.config.idle_timeout
        if remaining > 0:
            self.idle_timer = self.loop.call_later(remaining, self._on_idle)
            return
        self.config.c["downstream_cx_idle_timeout"].inc()
        self.h2.close_connection()
        self._flush()
        self._close()

    def _close(self) -> None:
        self.closing = True
        self.transport.close()

    def connection_lost(self, exc) -> None:
        self.closing = True
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        for sid in list(self.streams):
            self._reset_stream(sid)
        self.config.cx_active.dec()
        if self.on_close:
            self.on_close(self)
