"""HTTP/2 downstream: codec_type AUTO with the prior-knowledge preface (curl) and ALPN "h2" over
TLS (curl), concurrent streams, request and response bodies beyond the 64 KiB flow-control
window, and a client RST_STREAM, with the python-hyper h2 library as the client. HTTP/2
upstream: attempts multiplexed on one connection to nginx (h2c).

Reference: RFC 9113 sections 3.4 (preface), 5.1 (stream states), 5.2 (flow control), 6.4
(RST_STREAM); Envoy docs HttpConnectionManager.codec_type, config.core.v3.Http2ProtocolOptions.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess

import h2.config
import h2.connection
import h2.events
import pytest
from aiohttp import web

from tests.miniproxy.envoy.envoy_testlib import (
    HCM,
    ROUTER,
    bootstrap,
    cluster,
    http_listener,
    running_proxy,
)
from tests.miniproxy.envoy.test_envoy_tls import TLS_DOWN, ca_pem, make_ca, make_leaf

BIG = 300 * 1024  # larger than the default 65,535-byte stream window


class H2Backend:
    """An aiohttp upstream that records how many requests it serves at once."""

    def __init__(self) -> None:
        self.inflight = self.max_inflight = 0
        self.protos: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.protos.append(request.headers.get("x-forwarded-proto", ""))
        body = await request.read()
        if request.path == "/big":
            return web.Response(body=b"x" * BIG)
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            if request.path.startswith("/slow"):
                await asyncio.sleep(0.5)
        finally:
            self.inflight -= 1
        return web.Response(text=f"{request.method} {request.path} {len(body)}")

    async def start(self) -> int:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{t:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]


class H2Client:
    """A minimal asyncio HTTP/2 client on top of h2 (prior knowledge, no TLS)."""

    def __init__(self, reader, writer) -> None:
        self.reader, self.writer = reader, writer
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.responses: dict[int, dict] = {}
        self.pending: dict[int, bytes] = {}

    def request(self, method: str, path: str, body: bytes = b"") -> int:
        sid = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "x")]
        self.conn.send_headers(sid, fields, end_stream=not body)
        self.responses[sid] = {"headers": {}, "body": bytearray(), "ended": False, "reset": False}
        if body:
            self.pending[sid] = body
            self._send_pending()
        self.writer.write(self.conn.data_to_send())
        return sid

    def _send_pending(self) -> None:
        for sid, data in list(self.pending.items()):
            while data:
                n = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
                if n <= 0:
                    break
                self.conn.send_data(sid, data[:n], end_stream=len(data) <= n)
                data = data[n:]
            self.pending[sid] = data
            if not data:
                del self.pending[sid]

    async def wait(self, *sids: int) -> None:
        while not all(self.responses[s]["ended"] or self.responses[s]["reset"] for s in sids):
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            assert data, "proxy closed the connection"
            for ev in self.conn.receive_data(data):
                r = self.responses.get(getattr(ev, "stream_id", 0))
                if isinstance(ev, h2.events.ResponseReceived):
                    r["headers"] = {k.decode(): v.decode() for k, v in ev.headers}
                elif isinstance(ev, h2.events.DataReceived):
                    r["body"] += ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    r["ended"] = True
                elif isinstance(ev, h2.events.WindowUpdated):
                    self._send_pending()
            self.writer.write(self.conn.data_to_send())


def test_concurrent_streams_big_bodies_and_a_client_reset_on_one_connection():
    async def main():
        be = H2Backend()
        port = await be.start()
        boot = bootstrap([http_listener([{"match": {"prefix": "/"}, "route": {"cluster": "be"}}])], [cluster("be", port)])  # fmt: skip
        try:
            async with running_proxy(boot) as px:
                reader, writer = await asyncio.open_connection("127.0.0.1", px.port())
                c = H2Client(reader, writer)
                slow = [c.request("GET", f"/slow/{i}") for i in range(3)]
                post = c.request("POST", "/upload", b"y" * BIG)
                big = c.request("GET", "/big")
                await c.wait(*slow, post, big)
                for i, sid in enumerate(slow):
                    r = c.responses[sid]
                    assert r["headers"][":status"] == "200" and r["headers"]["server"] == "envoy"
                    assert bytes(r["body"]) == f"GET /slow/{i} 0".encode()
                assert bytes(c.responses[post]["body"]) == f"POST /upload {BIG}".encode()
                assert len(c.responses[big]["body"]) == BIG
                assert be.max_inflight >= 2  # the streams really were concurrent
                gone = c.request("GET", "/slow/reset")
                c.conn.reset_stream(gone)
                writer.write(c.conn.data_to_send())
                after = c.request("GET", "/after")
                await c.wait(after)
                assert bytes(c.responses[after]["body"]) == b"GET /after 0"
                for _ in range(100):
                    if px.stat("http.ingress_http.downstream_rq_active") == 0:
                        break
                    await asyncio.sleep(0.02)
                assert px.stat("http.ingress_http.downstream_rq_active") == 0
                assert px.stat("http.ingress_http.downstream_cx_http2_total") == 1
                assert px.stat("http.ingress_http.downstream_cx_http1_total") == 0
                assert px.stat("http.ingress_http.downstream_rq_http2_total") == 7
                writer.close()
        finally:
            await be.runner.cleanup()

    asyncio.run(main())


@pytest.mark.tool("curl")
def test_curl_prior_knowledge_and_alpn_h2_over_tls(tmp_path):
    ca = make_ca()
    chain, key = make_leaf(ca, "h2.example.com")
    (tmp_path / "ca.pem").write_bytes(ca_pem(ca))
    routes = [{"match": {"prefix": "/"}, "route": {"cluster": "be"}}]
    hcm = {"@type": HCM, "stat_prefix": "tls_http", "http_filters": [ROUTER],
           "route_config": {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": routes}]}}  # fmt: skip
    tls_listener = {
        "name": "tls",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [{
            "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}],
            "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                "@type": TLS_DOWN, "common_tls_context": {
                    "alpn_protocols": ["h2", "http/1.1"],
                    "tls_certificates": [{"certificate_chain": {"inline_string": chain.decode()},
                                          "private_key": {"inline_string": key.decode()}}]}}},
        }],
    }  # fmt: skip

    def curl(*args: str) -> str:
        out = subprocess.run(
            ["curl", "-sS", "-w", " %{http_version}", *args],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    async def main():
        be = H2Backend()
        port = await be.start()
        boot = bootstrap([http_listener(routes), tls_listener], [cluster("be", port)])
        try:
            async with running_proxy(boot) as px:
                plain = await asyncio.to_thread(curl, "--http2-prior-knowledge", px.url("/pk"))
                assert plain == "GET /pk 0 2"
                tport = px.port("tls")
                secure = await asyncio.to_thread(
                    curl, "--http2", "--cacert", str(tmp_path / "ca.pem"),
                    "--resolve", f"h2.example.com:{tport}:127.0.0.1",
                    f"https://h2.example.com:{tport}/alpn",
                )  # fmt: skip
                assert secure == "GET /alpn 0 2"
                http1 = await asyncio.to_thread(curl, "--http1.1", px.url("/one"))
                assert http1 == "GET /one 0 1.1"
                assert be.protos == ["http", "https", "http"]
                assert px.stat("http.tls_http.downstream_rq_http2_total") == 1
                assert px.stat("http.ingress_http.downstream_cx_http2_total") == 1
                assert px.stat("http.ingress_http.downstream_cx_http1_total") == 1
        finally:
            await be.runner.cleanup()

    asyncio.run(main())


def _nginx_h2c(tmp, port: int) -> str:
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off; client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p;
  fastcgi_temp_path {tmp}/f; uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
  server {{ listen 127.0.0.1:{port} http2;
    location / {{ return 200 "$server_protocol $request_method $uri"; }} }}
}}
""")
    return str(conf)


@pytest.mark.tool("nginx")
def test_upstream_http2_multiplexes_attempts_on_one_connection_to_nginx(tmp_path):
    """nginx in h2c (prior knowledge) mode is the real HTTP/2 server on the other side."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nginx = subprocess.Popen(["nginx", "-c", _nginx_h2c(tmp_path, port)], stderr=subprocess.PIPE)
    opts = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}}}}  # fmt: skip
    boot = bootstrap(
        [http_listener([{"match": {"prefix": "/"}, "route": {"cluster": "h2"}}])],
        [cluster("h2", port, typed_extension_protocol_options=opts)],
    )

    async def get(px, path: str) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", px.port())
        writer.write(f"GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return data

    async def main():
        for _ in range(100):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        async with running_proxy(boot) as px:
            first = await get(px, "/warm")
            assert first.startswith(b"HTTP/1.1 200 OK") and first.endswith(b"HTTP/2.0 GET /warm")
            outs = await asyncio.gather(*(get(px, f"/{i}") for i in range(6)))
            for i, out in enumerate(outs):
                assert out.endswith(f"HTTP/2.0 GET /{i}".encode()), out
            assert px.stat("cluster.h2.upstream_rq_total") == 7
            assert px.stat("cluster.h2.upstream_rq_200") == 7
            assert px.stat("cluster.h2.upstream_cx_total") == 1  # every stream on one connection

    try:
        asyncio.run(main())
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


def test_a_frame_on_the_wrong_stream_is_a_protocol_error_answered_with_goaway():
    """RFC 9113 section 6.1: DATA on stream 0 is a connection error of type PROTOCOL_ERROR."""

    async def main():
        routes = [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}]
        async with running_proxy(bootstrap([http_listener(routes)], [])) as px:
            reader, writer = await asyncio.open_connection("127.0.0.1", px.port())
            settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
            data_on_stream_0 = b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x"
            writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings + data_on_stream_0)
            got = await asyncio.wait_for(reader.read(), 5)  # until the proxy closes
            frames, pos = [], 0
            while pos + 9 <= len(got):
                length = int.from_bytes(got[pos : pos + 3], "big")
                frames.append(got[pos + 3])
                pos += 9 + length
            assert frames[-1] == 0x7  # GOAWAY
            assert got[-4:] == (1).to_bytes(4, "big")  # error code PROTOCOL_ERROR
            assert px.stat("http.ingress_http.downstream_cx_protocol_error") == 1
            writer.close()

    asyncio.run(main())
