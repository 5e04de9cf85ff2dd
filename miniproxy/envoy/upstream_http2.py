"""HTTP/2 upstream connection: many router attempts multiplexed as streams on one connection.

Mirrors source/common/http/http2/codec_impl.cc (ClientConnectionImpl) and the HTTP/2 half of
source/common/http/codec_client.cc: each UpstreamRequest becomes a stream (HEADERS, then DATA
within the server's flow-control window); the response's HEADERS/DATA/END_STREAM are
reassembled into one message for the stream's decoder; RST_STREAM is that stream's reset, and
GOAWAY or a lost connection resets every stream. Capacity is the server's
SETTINGS_MAX_CONCURRENT_STREAMS (http2/conn_pool.cc attaches streams while it allows).
Framing and HPACK come from the `h2` library. Selected by the cluster's
`typed_extension_protocol_options` HttpProtocolOptions `explicit_http_config.http2_protocol_options`
(or the deprecated `http2_protocol_options`).
Omitted: PING keepalives, stream priorities, trailers, streaming request bodies.
"""

from __future__ import annotations

import asyncio

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.http1 import Message

_CONNECTION_SPECIFIC = frozenset(
    ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host")
)


class _Stream:
    __slots__ = ("decoder", "headers", "body", "timer", "unsent")

    def __init__(self, decoder) -> None:
        self.decoder = decoder
        self.headers: HeaderMap | None = None
        self.body = bytearray()
        self.timer: asyncio.TimerHandle | None = None
        self.unsent = b""


class Http2UpstreamConnection(asyncio.Protocol):
    """One HTTP/2 connection to a host; `send_request` opens a stream per attempt."""

    multiplexed = True

    def __init__(self, pool, host, scheme: str = "http") -> None:
        self.pool = pool
        self.host = host
        self.scheme = scheme
        self.loop = asyncio.get_running_loop()
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="latin-1")
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.streams: dict[int, _Stream] = {}
        self.transport = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.h2.initiate_connection()
        self._flush()

    def has_capacity(self) -> bool:
        limit = self.h2.remote_settings.max_concurrent_streams
        return not self.closed and len(self.streams) < limit

    def send_request(self, request, head: bool, decoder, deadline: float | None) -> None:
        """Open a stream for the request; the decoder is called back like an HTTP/1 one."""
        headers, body = request.headers, request.body
        sid = self.h2.get_next_available_stream_id()
        fields = [(":method", headers.get(":method") or "GET"), (":scheme", self.scheme),
                  (":authority", headers.get(":authority") or ""), (":path", headers.get(":path") or "/")]  # fmt: skip
        fields += [
            (k, v) for k, v in headers._items if k[0] != ":" and k not in _CONNECTION_SPECIFIC
        ]
        st = self.streams[sid] = _Stream(decoder)
        decoder.h2_stream_id = sid
        if deadline is not None:
            st.timer = self.loop.call_at(deadline, self._on_timeout, sid)
        self.h2.send_headers(sid, fields, end_stream=not body)
        if body:
            self._send_body(sid, st, bytes(body))
        self._flush()

    def _send_body(self, sid: int, st: _Stream, data: bytes) -> None:
        while data:
            window = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if window <= 0:
                st.unsent = data  # resumed on WINDOW_UPDATE
                return
            self.h2.send_data(sid, data[:window], end_stream=len(data) <= window)
            data = data[window:]
        st.unsent = b""

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._flush()
            self.transport.close()
            return
        for ev in events:
            self._on_event(ev)
        self._flush()

    def _on_event(self, ev) -> None:
        st = self.streams.get(getattr(ev, "stream_id", 0) or 0)
        if isinstance(ev, h2.events.ResponseReceived) and st is not None:
            st.headers = HeaderMap()
            st.headers._items = [[k, v] for k, v in ev.headers]
        elif isinstance(ev, h2.events.DataReceived):
            if st is not None:
                st.body += ev.data
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded) and st is not None:
            self._end(ev.stream_id)
            if st.decoder is not None and st.headers is not None:
                st.decoder.on_upstream_response(self, Message(st.headers, bytes(st.body), True, "HTTP/2"))  # fmt: skip
        elif isinstance(ev, h2.events.StreamReset) and st is not None:
            self._end(ev.stream_id)
            if st.decoder is not None:
                st.decoder.on_upstream_reset("remote reset")
        elif isinstance(ev, h2.events.WindowUpdated):
            for sid, s in list(self.streams.items()):
                if s.unsent and (ev.stream_id in (0, sid)):
                    self._send_body(sid, s, s.unsent)
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.transport.close()

    def _end(self, sid: int) -> _Stream | None:
        st = self.streams.pop(sid, None)
        if st is not None and st.timer is not None:
            st.timer.cancel()
        return st

    def _on_timeout(self, sid: int) -> None:
        st = self.streams.get(sid)
        if st is not None:
            st.timer = None
            decoder, st.decoder = st.decoder, None
            if decoder is not None:
                decoder.on_timeout()  # the request abandons its stream (abandon below)

    def abandon(self, decoder) -> None:
        """The attempt gave up (timeout, downstream reset): cancel only its stream."""
        sid = getattr(decoder, "h2_stream_id", None)
        st = self._end(sid) if sid is not None else None
        if st is None:
            return
        try:
            self.h2.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        except h2.exceptions.StreamClosedError:
            pass
        self._flush()
        self.pool.release(self, True)

    def _flush(self) -> None:
        out = self.h2.data_to_send()
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(out)

    def connection_lost(self, exc) -> None:
        self.closed = True
        streams, self.streams = self.streams, {}
        self.pool.on_close(self)
        for st in streams.values():
            if st.timer is not None:
                st.timer.cancel()
            if st.decoder is not None:
                st.decoder.on_upstream_reset("upstream connection closed")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
