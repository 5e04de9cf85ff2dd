"""TLS: the TLS inspector on real ClientHellos, SNI/ALPN filter chain match, downstream
termination (certificates from a file and inline) checked by Python's ssl and by curl, and
upstream TLS with `sni` and `trusted_ca`.

Reference: Envoy docs api-v3 extensions/transport_sockets/tls/v3 (DownstreamTlsContext,
UpstreamTlsContext, CommonTlsContext), listener FilterChainMatch (server_names,
transport_protocol, application_protocols), listener_filters/tls_inspector; RFC 8446 4.1.2,
RFC 6066 section 3, RFC 7301 section 3.1; operations/admin (config_dump redacts secrets).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ssl
import subprocess

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from miniproxy.envoy.tls_inspector import NEED_MORE, NOT_TLS, inspect
from tests.miniproxy.envoy.envoy_testlib import (
    HCM,
    ROUTER,
    bootstrap,
    cluster,
    http_listener,
    running_proxy,
)

TLS_DOWN = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
TLS_UP = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
INSPECTOR = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_ca(cn: str = "minicloud test CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(ca, *names: str) -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM) for names, signed by ca."""
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def ca_pem(ca) -> bytes:
    return ca[1].public_bytes(serialization.Encoding.PEM)


def client_hello(server_name: str | None, alpn: list[str] | None) -> bytes:
    """The bytes Python's TLS client sends first."""
    ctx = ssl.create_default_context()
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    if server_name is None:
        ctx.check_hostname = False
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def test_inspector_reads_sni_and_alpn_from_a_real_client_hello_at_any_length():
    hello = client_hello("api.example.com", ["h2", "http/1.1"])
    for cut in range(0, len(hello), 7):
        assert inspect(hello[:cut]) == NEED_MORE
    got = inspect(hello)
    assert got.tls and got.server_name == "api.example.com" and got.alpn == ("h2", "http/1.1")
    bare = inspect(client_hello(None, None))
    assert bare.tls and bare.server_name == "" and bare.alpn == ()
    assert inspect(b"GET / HTTP/1.1\r\n") == NOT_TLS
    assert inspect(b"PRI * HTTP/2.0\r\n") == NOT_TLS


def _tls_chain(names: list[str] | None, body: str, chain: bytes, key: bytes, path=None) -> dict:
    cert = (
        {"certificate_chain": {"filename": str(path / "chain.pem")},
         "private_key": {"filename": str(path / "key.pem")}}
        if path is not None
        else {"certificate_chain": {"inline_string": chain.decode()},
              "private_key": {"inline_string": key.decode()}}
    )  # fmt: skip
    if path is not None:
        (path / "chain.pem").write_bytes(chain)
        (path / "key.pem").write_bytes(key)
    routes = [{"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": body}}}]  # fmt: skip
    hcm = {"@type": HCM, "stat_prefix": body, "http_filters": [ROUTER],
           "route_config": {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": routes}]}}  # fmt: skip
    fc = {
        "filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}],
        "transport_socket": {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {"@type": TLS_DOWN, "common_tls_context": {
                "tls_certificates": [cert], "alpn_protocols": ["http/1.1"]}},
        },
    }  # fmt: skip
    if names:
        fc["filter_chain_match"] = {"server_names": names}
    return fc


async def _https_get(port: int, ca: bytes, server_name: str) -> tuple[bytes, str | None]:
    ctx = ssl.create_default_context(cadata=ca.decode())
    ctx.set_alpn_protocols(["http/1.1"])
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=ctx, server_hostname=server_name
    )
    alpn = writer.get_extra_info("ssl_object").selected_alpn_protocol()
    writer.write(f"GET / HTTP/1.1\r\nhost: {server_name}\r\nconnection: close\r\n\r\n".encode())
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data, alpn


@pytest.mark.tool("curl")
def test_sni_picks_the_filter_chain_and_its_certificate_python_and_curl(tmp_path):
    ca = make_ca()
    api = make_leaf(ca, "api.example.com")
    wild = make_leaf(ca, "*.example.com")
    listener = {
        "name": "ingress",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "listener_filters": [{"name": "envoy.filters.listener.tls_inspector",
                              "typed_config": {"@type": INSPECTOR}}],
        "filter_chains": [_tls_chain(["api.example.com"], "api", *api, path=tmp_path),
                          _tls_chain(["*.example.com"], "wildcard", *wild)],
    }  # fmt: skip

    async def main():
        async with running_proxy(bootstrap([listener], [])) as px:
            port = px.port()
            data, alpn = await _https_get(port, ca_pem(ca), "api.example.com")
            assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"api")
            assert alpn == "http/1.1"
            data, _ = await _https_get(port, ca_pem(ca), "www.example.com")
            assert data.endswith(b"wildcard")
            # No chain for this name: the connection is closed without a handshake.
            with pytest.raises((ConnectionError, ssl.SSLError, OSError)):
                await _https_get(port, ca_pem(ca), "other.test")
            assert px.stat("listener.127.0.0.1_0.no_filter_chain_match") == 1
            async with aiohttp.ClientSession() as http, http.get(px.admin_url("/config_dump")) as r:
                dump = await r.text()
            assert "[redacted]" in dump and "BEGIN PRIVATE KEY" not in dump
            assert str(tmp_path / "key.pem") not in dump and "BEGIN CERTIFICATE" in dump
            stat = [k for k in px.server.store.counters if k.endswith(".ssl.handshake")]
            assert sum(px.stat(k) for k in stat) == 2
            (tmp_path / "ca.pem").write_bytes(ca_pem(ca))
            out = await asyncio.to_thread(
                subprocess.run,
                ["curl", "-sS", "--http1.1", "--cacert", str(tmp_path / "ca.pem"),
                 "--resolve", f"api.example.com:{port}:127.0.0.1",
                 f"https://api.example.com:{port}/"],
                capture_output=True, text=True, timeout=20,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr
            assert out.stdout == "api"

    asyncio.run(main())


def test_upstream_tls_with_sni_and_trusted_ca_and_a_wrong_ca_fails_as_uf(tmp_path):
    ca, other = make_ca(), make_ca("another CA")
    chain, key = make_leaf(ca, "backend.internal")
    seen_sni: list[str | None] = []

    async def main(tmp):
        (tmp / "c.pem").write_bytes(chain)
        (tmp / "k.pem").write_bytes(key)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
        sctx.sni_callback = lambda obj, name, ctx: seen_sni.append(name)

        async def hello(request):
            return web.Response(text=f"tls backend {request.headers.get('x-forwarded-proto')}")

        app = web.Application()
        app.router.add_get("/{t:.*}", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=sctx)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]

        def tls(ca_bytes):
            return {"name": "envoy.transport_sockets.tls", "typed_config": {
                "@type": TLS_UP, "sni": "backend.internal",
                "common_tls_context": {"validation_context": {
                    "trusted_ca": {"inline_bytes": base64.b64encode(ca_bytes).decode()}}}}}  # fmt: skip

        routes = [
            {"match": {"prefix": "/good"}, "route": {"cluster": "good"}},
            {"match": {"prefix": "/bad"}, "route": {"cluster": "bad"}},
        ]
        boot = bootstrap(
            [http_listener(routes)],
            [cluster("good", port, transport_socket=tls(ca_pem(ca))),
             cluster("bad", port, transport_socket=tls(ca_pem(other)))],
        )  # fmt: skip
        try:
            async with running_proxy(boot) as px:
                reader, writer = await asyncio.open_connection("127.0.0.1", px.port())
                writer.write(b"GET /good HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                data = await asyncio.wait_for(reader.read(), 5)
                assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"tls backend http")
                reader, writer = await asyncio.open_connection("127.0.0.1", px.port())
                writer.write(b"GET /bad HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                data = await asyncio.wait_for(reader.read(), 5)
                assert data.startswith(b"HTTP/1.1 503 ")
                assert b"connection failure" in data
                assert px.stat("cluster.bad.upstream_cx_connect_fail") == 1
                assert "backend.internal" in seen_sni
        finally:
            await runner.cleanup()

    asyncio.run(main(tmp_path))
