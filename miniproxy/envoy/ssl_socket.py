"""envoy.transport_sockets.tls, downstream: TLS between the TCP socket and the network filter.

Mirrors source/common/tls/ssl_socket.cc (SslSocket: doHandshake, doRead, doWrite over a
memory BIO pair, `ssl.handshake` / `ssl.connection_error` stats) with the stdlib ssl module's
sans-I/O `SSLObject`. It is an asyncio protocol towards the TCP transport and a transport
towards the HTTP connection manager, which sees only plaintext; bytes the TLS inspector
already read are replayed through `data_received`. After the handshake the negotiated ALPN
protocol is `get_extra_info("alpn_protocol")` and the SNI is `get_extra_info("server_name")`.
Omitted: session resumption stats, renegotiation, client certificate details in access logs.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

log = logging.getLogger("miniproxy.envoy.ssl_socket")


class SslSocket(asyncio.Protocol):
    """Server-side TLS over a memory BIO; `app` gets connection_made after the handshake."""

    def __init__(
        self, context: ssl.SSLContext, app_factory, stats=None, server_name: str = ""
    ) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.ssl = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.app_factory = app_factory  # called once the handshake is done (ALPN is known)
        self.app = None
        self.stats = stats
        self.server_name = server_name  # what the TLS inspector read from the ClientHello
        self.transport = None
        self.handshaken = False
        self.closing = False

    # -- towards the TCP transport -----------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.incoming.write(data)
        if not self.handshaken and not self._handshake():
            return
        chunks = []
        while True:
            try:
                chunk = self.ssl.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:  # close_notify from the peer
                chunk = b""
            except ssl.SSLError as e:
                self._error(e)
                return
            if not chunk:
                self._flush()
                if chunks:
                    self.app.data_received(b"".join(chunks))
                self._eof()
                return
            chunks.append(chunk)
        self._flush()
        if chunks and self.app is not None:
            self.app.data_received(b"".join(chunks))

    def eof_received(self):
        self._eof()
        return False

    def connection_lost(self, exc) -> None:
        self.closing = True
        if self.app is not None:
            self.app.connection_lost(exc)

    def _handshake(self) -> bool:
        try:
            self.ssl.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return False
        except (ssl.SSLError, OSError) as e:
            self._error(e)
            return False
        self._flush()
        self.handshaken = True
        if self.stats is not None:
            self.stats["handshake"].inc()
        self.app = self.app_factory(self)
        self.app.connection_made(self)
        return True

    def _error(self, e: Exception) -> None:
        log.debug("TLS error: %s", e)
        if self.stats is not None:
            self.stats["connection_error"].inc()
        self._flush()
        self.closing = True
        self.transport.close()

    def _eof(self) -> None:
        if self.app is not None and not self.closing:
            self.closing = True
            self.transport.close()

    def _flush(self) -> None:
        out = self.outgoing.read()
        if out:
            self.transport.write(out)

    # -- towards the connection manager (a transport) --------------------------------
    def write(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.ssl.write(data)
        except ssl.SSLError as e:
            self._error(e)
            return
        self._flush()

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        try:
            self.ssl.unwrap()  # queue close_notify
        except (ssl.SSLError, ValueError):
            pass
        self._flush()
        self.transport.close()

    def set_protocol(self, protocol) -> None:
        """The HCM switched codecs (HTTP/2 preface seen): plaintext now goes to protocol."""
        self.app = protocol

    def is_closing(self) -> bool:
        return self.closing or self.transport.is_closing()

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def get_extra_info(self, name: str, default=None):
        if name == "alpn_protocol":
            return self.ssl.selected_alpn_protocol() if self.handshaken else default
        if name == "server_name":
            return self.server_name or default
        if name == "ssl_object":
            return self.ssl
        if name == "peercert":
            return self.ssl.getpeercert() if self.handshaken else default
        return self.transport.get_extra_info(name, default)
