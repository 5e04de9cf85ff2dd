"""Listeners: bind sockets, pick a filter chain per connection, hand it to the network filter.

Mirrors source/common/listener_manager/listener_manager_impl.cc (addOrUpdateListener,
removeListener, the `listener_manager.` stats; an updated listener keeps its socket when the
address is unchanged, and connections accepted earlier keep the filter chain they started
with), listener_impl.cc and filter_chain_manager_impl.cc (FilterChainManagerImpl::
findFilterChain: destination port, destination IP, server name, source IP, source port — the
most specific match wins, else `default_filter_chain`), and the `listener.<address>.` stats.
Omitted: listener filters (TLS inspector, so `server_names` never match plaintext),
UDP listeners, api_listener, draining timers, transport sockets.
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
from miniproxy.envoy.tcp_proxy import TcpProxyConfig, handle_connection
from miniproxy.envoy.worker import post_to

log = logging.getLogger("miniproxy.envoy.listener_manager")


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
        self.server_names = list(m.server_names)
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

    def score(self, dst_ip, dst_port: int, src_ip, src_port: int) -> tuple | None:
        """None when the chain does not match; else a tuple where larger is more specific."""
        if self.dest_port is not None and self.dest_port != dst_port:
            return None
        dl = max((n.prefixlen for n in self.dest_nets if dst_ip in n), default=-1)
        if self.dest_nets and dl < 0:
            return None
        if self.server_names:
            return None  # no SNI without a TLS inspector
        sl = max((n.prefixlen for n in self.src_nets if src_ip in n), default=-1)
        if self.src_nets and sl < 0:
            return None
        if self.src_ports and src_port not in self.src_ports:
            return None
        return (self.dest_port is not None, dl, sl, bool(self.src_ports))


class _Slot:
    """The socket's current Listener: an in-place update swaps what new connections see."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener


class _Dispatch(asyncio.Protocol):
    """The accepted connection's first protocol: choose a chain, then become its filter."""

    def __init__(self, slot: _Slot, worker_cx_total) -> None:
        self.slot = slot
        self.worker_cx_total = worker_cx_total

    def connection_made(self, transport) -> None:
        lis = self.slot.listener
        lis.cx_total.inc()
        self.worker_cx_total.inc()
        lis.cx_active.inc()
        chain = lis.find_filter_chain(transport)
        if chain is None:
            lis.no_filter_chain_match.inc()
            lis.cx_active.dec()
            transport.close()
            return
        if chain.kind == "http":
            proto = HttpConnection(chain.config, on_close=lambda _c: lis.on_close())
            transport.set_protocol(proto)
            proto.connection_made(transport)
        else:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader()
            proto = asyncio.StreamReaderProtocol(reader)
            transport.set_protocol(proto)
            proto.connection_made(transport)
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
        # One listen socket per worker loop: (loop, asyncio server).
        self.servers: list[tuple[asyncio.AbstractEventLoop, asyncio.AbstractServer]] = []
        self.slot = _Slot(self)

    def find_filter_chain(self, transport) -> FilterChain | None:
        peer = transport.get_extra_info("peername") or ("0.0.0.0", 0)
        local = transport.get_extra_info("sockname") or ("0.0.0.0", 0)
        src, dst = ipaddress.ip_address(peer[0]), ipaddress.ip_address(local[0])
        best, best_score = None, None
        for c in self.chains:
            s = c.score(dst, local[1], src, peer[1])
            if s is not None and (best_score is None or s > best_score):
                best, best_score = c, s
        return best or self.default_chain

    def on_close(self) -> None:
        self.cx_active.dec()
        self.cx_destroy.inc()

    async def _bind(self, index: int, reuse_port: bool) -> asyncio.AbstractServer:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        counter = self.scope.counter(f"worker_{index}.downstream_cx_total")
        try:
            return await loop.create_server(
                lambda: _Dispatch(self.slot, counter),
                self.host,
                self.port,
                family=family,
                reuse_address=True,
                reuse_port=reuse_port or None,
                backlog=1024,
            )
        except OSError as e:
            raise EnvoyException(
                f"cannot bind '{self.host}:{self.port}': {os.strerror(e.errno or 0)}"
            ) from None

    async def start(self, workers: list) -> None:
        """Bind on the current loop, or one SO_REUSEPORT socket on each worker's loop."""
        if not workers:
            srv = await self._bind(0, reuse_port=False)
            self.servers.append((asyncio.get_running_loop(), srv))
        for w in workers:
            # The first worker's bind picks the port when port_value is 0; the rest share it.
            srv = await asyncio.wrap_future(w.run(self._bind(w.index, reuse_port=True)))
            self.servers.append((w.loop, srv))
            self.port = srv.sockets[0].getsockname()[1]
        if self.servers:
            self.port = self.servers[0][1].sockets[0].getsockname()[1]

    def adopt(self, old: Listener) -> None:
        """Take over the sockets already bound to the same address (in-place update)."""
        self.servers, old.servers = old.servers, []
        self.port = old.port
        self.slot = old.slot
        self.slot.listener = self

    def stop(self) -> None:
        """Stop accepting; connections already accepted finish on their own (drain)."""
        for loop, srv in self.servers:
            post_to(loop, srv.close)
        self.servers = []


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
            if old is not None and old.pb.address == pb.address and old.servers:
                new.adopt(old)
            else:
                if old is not None:
                    old.stop()
                await new.start(self.server.workers)
        self.listeners[pb.name] = new
        (self.modified if old is not None else self.added).inc()
        self.total_active.set(len(self.listeners))
        return True

    def remove_listener(self, name: str) -> bool:
        lis = self.listeners.pop(name, None)
        if lis is None:
            return False
        lis.stop()
        self.removed.inc()
        self.total_active.set(len(self.listeners))
        return True

    async def start(self) -> None:
        self.started = True
        for lis in self.listeners.values():
            await lis.start(self.server.workers)

    def stop(self) -> None:
        for lis in self.listeners.values():
            lis.stop()
