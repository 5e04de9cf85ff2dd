"""envoy.filters.listener.tls_inspector: read SNI and ALPN from a ClientHello, before any TLS.

Mirrors source/extensions/filters/listener/tls_inspector/tls_inspector.cc (the listener filter
that peeks the first bytes of a connection so that filter chains can match on
`server_names`, `transport_protocol: tls` and `application_protocols`). Pure: `inspect(data)`
takes the bytes received so far and says "need more", "not TLS", or what the hello asked
for; the listener keeps the bytes and replays them into the chosen chain. The wire format is
RFC 8446 section 4.1.2 (ClientHello), RFC 6066 section 3 (server_name) and RFC 7301 section
3.1 (application_layer_protocol_negotiation).
Omitted: JA3 fingerprints, the `tls_inspector.*` stats other than the outcome counters.
"""

from __future__ import annotations

from dataclasses import dataclass

# Envoy's default max_client_hello_size: a hello larger than this is not inspected.
MAX_CLIENT_HELLO_SIZE = 16 * 1024
_HANDSHAKE = 0x16
_CLIENT_HELLO = 1
_EXT_SERVER_NAME = 0
_EXT_ALPN = 16


@dataclass(frozen=True)
class Inspection:
    """The outcome: `done` False means feed more bytes; `tls` False means plaintext."""

    done: bool
    tls: bool = False
    server_name: str = ""
    alpn: tuple[str, ...] = ()


NEED_MORE = Inspection(done=False)
NOT_TLS = Inspection(done=True, tls=False)


def _handshake_bytes(data: bytes) -> bytes | None:
    """The handshake messages carried by the leading records; None if data is not TLS."""
    if data and (data[0] != _HANDSHAKE or (len(data) > 1 and data[1] != 3)):
        return None
    out = bytearray()
    pos = 0
    while pos + 5 <= len(data) and data[pos] == _HANDSHAKE:
        end = pos + 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
        out += data[pos + 5 : end]  # a record still arriving contributes what is here
        pos = end
    return bytes(out)


def inspect(data: bytes) -> Inspection:
    """Look at the first bytes of a connection (all of them so far)."""
    hs = _handshake_bytes(data)
    if hs is None:
        return NOT_TLS
    if len(hs) < 4:
        return NEED_MORE if len(data) < MAX_CLIENT_HELLO_SIZE else NOT_TLS
    if hs[0] != _CLIENT_HELLO:
        return NOT_TLS
    length = int.from_bytes(hs[1:4], "big")
    if length > MAX_CLIENT_HELLO_SIZE:
        return Inspection(done=True, tls=True)  # too big to inspect: TLS, no SNI or ALPN
    if len(hs) < 4 + length:
        return NEED_MORE
    try:
        return parse_client_hello(hs[4 : 4 + length])
    except ValueError:
        return Inspection(done=True, tls=True)  # malformed hello: TLS will fail the handshake


def _vec(body: bytes, pos: int, size: int) -> tuple[bytes, int]:
    """A length-prefixed vector (RFC 8446 section 3.4) at pos; returns it and the next pos."""
    n = int.from_bytes(body[pos : pos + size], "big")
    start = pos + size
    if start + n > len(body):
        raise ValueError("vector runs past the message")
    return body[start : start + n], start + n


def parse_client_hello(body: bytes) -> Inspection:
    """ClientHello: legacy_version, random, session id, suites, compression, extensions."""
    pos = 2 + 32
    _, pos = _vec(body, pos, 1)  # legacy_session_id
    _, pos = _vec(body, pos, 2)  # cipher_suites
    _, pos = _vec(body, pos, 1)  # legacy_compression_methods
    server_name, alpn = "", ()
    if pos < len(body):
        exts, _ = _vec(body, pos, 2)
        p = 0
        while p + 4 <= len(exts):
            ext_type = int.from_bytes(exts[p : p + 2], "big")
            data, p = _vec(exts, p + 2, 2)
            if ext_type == _EXT_SERVER_NAME:
                server_name = _server_name(data)
            elif ext_type == _EXT_ALPN:
                alpn = _alpn(data)
    return Inspection(done=True, tls=True, server_name=server_name, alpn=alpn)


def _server_name(data: bytes) -> str:
    names, _ = _vec(data, 0, 2)
    p = 0
    while p + 3 <= len(names):
        kind = names[p]
        name, p = _vec(names, p + 1, 2)
        if kind == 0:  # host_name
            return name.decode("ascii", "replace").lower()
    return ""


def _alpn(data: bytes) -> tuple[str, ...]:
    protos, _ = _vec(data, 0, 2)
    out = []
    p = 0
    while p < len(protos):
        name, p = _vec(protos, p, 1)
        out.append(name.decode("ascii", "replace"))
    return tuple(out)
