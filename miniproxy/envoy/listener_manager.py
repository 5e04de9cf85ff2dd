"""Listeners: bind sockets, pick a filter chain per connection, hand it to the network filter.

Mirrors source/common/listener_manager/listener_manager_impl.cc (addOrUpdateListener,
removeListener, the `listener_manager.` stats; an updated listener keeps its socket when the
address is unchanged, and connections accepted earlier keep the filter chain they started
with), listener_impl.cc and filter_chain_manager_impl.cc (FilterChainManagerImpl::
findFilterChain: destination port, destination IP, server name, transport protocol,
application protocols, source IP, source port — the most specific match wins, else
`default_filter_chain`), and the `listener.<address>.` stats. With the
`envoy.filters.listener.tls_inspector` listener filter, the first bytes are held until the
ClientHello is read (tls_inspector.py), so chains can match on SNI and ALPN; a chain with a
`transport_socket` of `envoy.transport_sockets.tls` terminates TLS (ssl_socket.py) before its
network filter sees the replayed bytes.
With worker processes the main process opens one SO_REUSEPORT socket per worker for each
listener (ListenSocketFactoryImpl with reuse_port, Envoy's default on Linux: the kernel spreads
connections across the sockets) and hands each worker its own; a worker serves it with the
Listener it rebuilt from the snapshot (`serve`).
Omitted: other listener filters, UDP listeners, api_listener, draining timers, TLS under
tcp_proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket

from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2

from miniproxy.envoy.config import EnvoyException, unpack
from miniproxy.envoy.conn_manager import HcmConfig, HttpConnection
from miniproxy.envoy.http2 import Http2Connection
from miniproxy.envoy.ssl_socket import SslSocket
from miniproxy.envoy.tcp_proxy import TcpProxyConfig, handle_connection
from miniproxy.envoy.tls_context import transport_socket
from miniproxy.envoy.tls_inspector import Inspection, inspect

log = logging.getLogger("miniproxy.envoy.listener_manager")
TLS_INSPECTOR = "envoy.filters.listener.tls_inspector"
NO_INSPECTION = Inspection(done=True)


def _nets(ranges) -> list:
    return [
        ipaddress.ip_network(
            f"{r.address_prefix}/{r.prefix_len.value if r.HasField('prefix_len') else (32 if '.' in r.address_prefix else 128)}",
            strict=False,
        )
        for r in ranges
    ]


class FilterChain:
    """One filter_chain: its match criteria and the terminal network filter's config."""

    def __init__(self, pb, server) -> None:
        self.pb = pb
        m = pb.filter_chain_match
        self.dest_port = m.destination_port.value if m.HasField("destination_port") else None
        self.dest_nets = _nets(m.prefix_ranges)
        self.src_nets = _nets(m.source_prefix_ranges)
        self.src_ports = set(m.source_ports)
        self.server_names = [n.lower() for n in m.server_names]
        self.transport_protocol = m.transport_protocol
        self.application_protocols = set(m.application_protocols)
        self.tls = (
            transport_socket(pb.transport_socket, downstream=True)
            if pb.HasField("transport_socket")
            else None
        )
        self.kind = ""
        self.config = None
        for f in pb.filters:
            cfg = unpack(f.typed_config, f.name)
            if isinstance(cfg, hcm_pb2.HttpConnectionManager):
                self.kind, self.config = "http", HcmConfig(cfg, server)
            elif isinstance(cfg, tcp_proxy_pb2.TcpProxy):
                self.kind, self.config = "tcp", TcpProxyConfig(cfg, server)
        if not self.kind:
            raise EnvoyException(
                "listener filter chain has no terminal network filter (http_connection_manager or tcp_proxy)"
            )
        if self.tls is not None and self.kind == "tcp":
            raise EnvoyException("tcp_proxy over a TLS transport socket is not supported here")

    def _server_name_rank(self, name: str) -> tuple | None:
        """Exact names beat the longest matching `*.suffix`, which beats no server_names."""
        if not self.server_names:
            return (0, 0)
        if name in self.server_names:
            return (2, 0)
        best = -1
        for n in self.server_names:
            if n.startswith("*.") and name.endswith(n[1:]) and len(name) > len(n) - 1:
                best = max(best, len(n))
        return (1, best) if best >= 0 else None

    def score(
        self, dst_ip, dst_port: int, src_ip, src_port: int, hello: Inspection
    ) -> tuple | None:
        """None when the chain does not match; else a tuple where larger is more specific."""
        if self.dest_port is not None and self.dest_port != dst_port:
            return None
        dl = max((n.prefixlen for n in self.dest_nets if dst_ip in n), default=-1)
        if self.dest_nets and dl < 0:
            return None
        sni = self._server_name_rank(hello.server_name)
        if sni is None:
            return None
        detected = ("tls" if hello.tls else "raw_buffer") if hello is not NO_INSPECTION else ""
        if self.transport_protocol and self.transport_protocol != detected:
            return None
        if self.application_protocols and not self.application_protocols & set(hello.alpn):
            return None
        sl = max((n.prefixlen for n in self.src_nets if src_ip in n), default=-1)
        if self.src_nets and sl < 0:
            return None
        if self.src_ports and src_port not in self.src_ports:
            return None
        return (self.dest_port is not None, dl, sni, bool(self.transport_protocol),
                bool(self.application_protocols), sl, bool(self.src_ports))  # fmt: skip


def new_http_connection(config: HcmConfig, transport, on_close):
    """The HCM's codec choice (codec_type): HTTP/2 if configured or ALPN chose "h2"; for AUTO
    on plaintext, an HTTP/1 connection that switches if the HTTP/2 preface arrives."""
    auto = config.codec_type == hcm_pb2.HttpConnectionManager.AUTO
    if config.codec_type == hcm_pb2.HttpConnectionManager.HTTP2 or (
        auto and transport.get_extra_info("alpn_protocol") == "h2"
    ):
        return Http2Connection(config, on_close)
    if auto:
        return HttpConnection(config, on_close, lambda: Http2Connection(config, on_close))
    return HttpConnection(config, on_close)


class _Slot:
    """The socket's current Listener: an in-place update swaps what new connections see."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener


class _Dispatch(asyncio.Protocol):
    """The accepted connection's first protocol: inspect, choose a chain, become its filter."""

    def __init__(self, slot: _Slot, worker_cx_total) -> None:
        self.slot = slot
        self.worker_cx_total = worker_cx_total
        self.buf = b""
        self.transport = None
        self.listener = None

    def connection_made(self, transport) -> None:
        lis = self.listener = self.slot.listener
        lis.cx_total.inc()
        self.worker_cx_total.inc()
        lis.cx_active.inc()
        self.transport = transport
        if not lis.inspect_tls:
            self._dispatch(NO_INSPECTION)

    def data_received(self, data: bytes) -> None:
        """Only while the TLS inspector waits for the whole ClientHello."""
        self.buf += data
        hello = inspect(self.buf)
        if hello.done:
            self._dispatch(hello)

    def connection_lost(self, exc) -> None:
        self.listener.on_close()  # closed before a filter chain took the connection

    def _dispatch(self, hello: Inspection) -> None:
        lis, transport, buffered = self.listener, self.transport, self.buf
        chain = lis.find_filter_chain(transport, hello)
        if chain is None:
            lis.no_filter_chain_match.inc()
            transport.close()
            return
        if chain.kind == "http":

            def app(t):
                return new_http_connection(chain.config, t, lambda _c: lis.on_close())

            proto = (
                SslSocket(chain.tls, app, lis.ssl_stats, hello.server_name)
                if chain.tls
                else app(transport)
            )
            transport.set_protocol(proto)
            proto.connection_made(transport)
            if buffered:
                proto.data_received(buffered)
        else:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader()
            proto = asyncio.StreamReaderProtocol(reader)
            transport.set_protocol(proto)
            proto.connection_made(transport)
            if buffered:
                reader.feed_data(buffered)
            writer = asyncio.StreamWriter(transport, proto, reader, loop)
            task = loop.create_task(handle_connection(chain.config, reader, writer))
            task.add_done_callback(lambda _t: lis.on_close())


class Listener:
    """ListenerImpl + its active TCP listener on the server's event loop."""

    def __init__(self, pb: listener_pb2.Listener, server) -> None:
        self.pb = pb
        self.name = pb.name
        sa = pb.address.socket_address
        self.host, self.port = sa.address, sa.port_value
        self.chains = [FilterChain(c, server) for c in pb.filter_chains]
        self.default_chain = (
            FilterChain(pb.default_filter_chain, server)
            if pb.HasField("default_filter_chain")
            else None
        )
        prefix = pb.stat_prefix or f"{self.host}_{self.port}"
        s = self.scope = server.store.scope(f"listener.{prefix}.")
        self.cx_total = s.counter("downstream_cx_total")
        self.cx_destroy = s.counter("downstream_cx_destroy")
        self.no_filter_chain_match = s.counter("no_filter_chain_match")
        self.cx_active = s.gauge("downstream_cx_active")
        self.ssl_stats = {n: s.counter(f"ssl.{n}") for n in ("handshake", "connection_error")}
        self.inspect_tls = any(
            lf.name == TLS_INSPECTOR or lf.typed_config.type_url.endswith(".TlsInspector")
            for lf in pb.listener_filters
        )
        self.server: asyncio.AbstractServer | None = None  # accepting on this process's loop
        self.sockets: list[socket.socket] = []  # main, worker processes: one per worker
        self.socket_key = ""  # names those sockets to workers; kept by an in-place update
        self.slot = _Slot(self)

    def find_filter_chain(self, transport, hello: Inspection = NO_INSPECTION) -> FilterChain | None:
        peer = transport.get_extra_info("peername") or ("0.0.0.0", 0)
        local = transport.get_extra_info("sockname") or ("0.0.0.0", 0)
        src, dst = ipaddress.ip_address(peer[0]), ipaddress.ip_address(local[0])
        best, best_score = None, None
        for c in self.chains:
            s = c.score(dst, local[1], src, peer[1], hello)
            if s is not None and (best_score is None or s > best_score):
                best, best_score = c, s
        return best or self.default_chain

    def on_close(self) -> None:
        self.cx_active.dec()
        self.cx_destroy.inc()

    def _listen_socket(self, reuse_port: bool) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.host, self.port))
            sock.listen(1024)
        except OSError as e:
            sock.close()
            raise EnvoyException(
                f"cannot bind '{self.host}:{self.port}': {os.strerror(e.errno or 0)}"
            ) from None
        # With port_value 0 the first bind picks the port; the other workers' sockets share it.
        self.port = sock.getsockname()[1]
        return sock

    async def serve(self, sock: socket.socket, index: int) -> None:
        """Accept on `sock` from this process's event loop, as worker `index`."""
        counter = self.scope.counter(f"worker_{index}.downstream_cx_total")
        self.port = sock.getsockname()[1]
        self.server = await asyncio.get_running_loop().create_server(
            lambda: _Dispatch(self.slot, counter), sock=sock, backlog=1024
        )

    async def start(self, workers: list) -> None:
        """Serve on this loop, or open one SO_REUSEPORT socket per worker process (sent to
        the workers with the next snapshot)."""
        if not workers:
            await self.serve(self._listen_socket(reuse_port=False), 0)
            return
        self.sockets = [self._listen_socket(reuse_port=True) for _ in workers]
        self.socket_key = f"{self.name}@{self.host}:{self.port}/{id(self)}"

    def release_sockets(self) -> None:
        """Main: every worker holds its socket now; drop our copies of the descriptors."""
        for s in self.sockets:
            s.close()
        self.sockets = []

    def adopt(self, old: Listener) -> None:
        """Take over the sockets already bound to the same address (in-place update)."""
        self.server, old.server = old.server, None
        self.sockets, old.sockets = old.sockets, []
        self.socket_key = old.socket_key
        self.port = old.port
        self.slot = old.slot
        self.slot.listener = self

    def bound(self) -> bool:
        return self.server is not None or bool(self.socket_key)

    def stop(self) -> None:
        """Stop accepting; connections already accepted finish on their own (drain)."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.release_sockets()


class ListenerManager:
    def __init__(self, server) -> None:
        self.server = server
        self.listeners: dict[str, Listener] = {}
        s = server.store.scope("listener_manager.")
        self.added = s.counter("listener_added")
        self.modified = s.counter("listener_modified")
        self.removed = s.counter("listener_removed")
        self.create_failure = s.counter("listener_create_failure")
        self.total_active = s.gauge("total_listeners_active")
        self.started = False

    async def add_or_update_listener(self, pb: listener_pb2.Listener) -> bool:
        old = self.listeners.get(pb.name)
        if old is not None and old.pb == pb:
            return False
        new = Listener(pb, self.server)
        if self.started:
            if old is not None and old.pb.address == pb.address and old.bound():
                new.adopt(old)
            else:
                if old is not None:
                    old.stop()
                await new.start(self.server.workers)
        self.listeners[pb.name] = new
        (self.modified if old is not None else self.added).inc()
        self.total_active.set(len(self.listeners))
        self.server.config_changed()
        return True

    def remove_listener(self, name: str) -> bool:
        lis = self.listeners.pop(name, None)
        if lis is None:
            return False
        lis.stop()
        self.removed.inc()
        self.total_active.set(len(self.listeners))
        self.server.config_changed()
        return True

    async def start(self) -> None:
        self.started = True
        for lis in self.listeners.values():
            await lis.start(self.server.workers)

    def stop(self) -> None:
        for lis in self.listeners.values():
            lis.stop()
