"""HTTP/1.1 codec: bytes in, whole messages out, and back to bytes.

Mirrors source/common/http/http1/codec_impl.cc (ServerConnectionImpl, ClientConnectionImpl)
and the limits of source/common/http/conn_manager_config.h (max_request_headers_kb, 60 KiB,
and max_headers_count, 100, answered with 431). Sans-I/O like h11: `feed()` bytes, take
complete messages. Header names are lower-cased and HTTP/1 pseudo-headers (`:method`,
`:path`, `:authority`, `:status`) are carried in the HeaderMap as Envoy does.
Omitted: streaming bodies (a message is delivered once complete), trailers, upgrades/CONNECT,
HTTP/1.0 keep-alive negotiation beyond `Connection: keep-alive`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from miniproxy.envoy.headers import HeaderMap

MAX_HEADERS_KB = 60
MAX_HEADERS_COUNT = 100
MAX_BODY = 64 * 1024 * 1024


class CodecError(Exception):
    """A protocol error; `status` is what the server answers (400, 413, 431)."""

    def __init__(self, status: int, details: str) -> None:
        super().__init__(details)
        self.status = status
        self.details = details


@dataclass
class Message:
    """One complete request or response."""

    headers: HeaderMap
    body: bytes
    keep_alive: bool
    version: str = "HTTP/1.1"


def _split_head(buf: bytearray, limit: int) -> tuple[bytes, int] | None:
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > limit:
            raise CodecError(431, "headers size exceeds limit")
        return None
    if end > limit:
        raise CodecError(431, "headers size exceeds limit")
    return bytes(buf[:end]), end + 4


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _parse_fields(lines: list[str], items: list) -> None:
    """field-line = field-name ":" OWS field-value OWS (RFC 9112 section 5); names lower-cased."""
    if len(lines) > MAX_HEADERS_COUNT:
        raise CodecError(431, "too many headers")
    token = _TOKEN.fullmatch
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or token(name) is None:
            raise CodecError(
                400,
                "http1.codec_error"
                if not sep or not name or name[-1] in " \t"
                else "http1.invalid_characters",
            )
        items.append([name.lower(), value.strip(" \t")])


class _BodyReader:
    """Reads a body framed by Content-Length, chunked encoding, or connection close."""

    def __init__(self, headers: HeaderMap, until_close: bool) -> None:
        te = cl = None
        for k, v in headers._items:
            if k == "content-length":
                cl = v
            elif k == "transfer-encoding":
                te = v
        self.chunked = te is not None and te.lower().endswith("chunked")
        self.remaining = -1
        if self.chunked:
            if cl is not None:
                raise CodecError(400, "http1.content_length_and_chunked_not_allowed")
        elif cl is not None:
            if not cl.isdigit():
                raise CodecError(400, "http1.content_length_invalid")
            self.remaining = int(cl)
            if self.remaining > MAX_BODY:
                raise CodecError(413, "body too large")
        elif not until_close:
            self.remaining = 0
        self.until_close = self.remaining < 0 and not self.chunked
        self.body = bytearray()
        self.state = "size"

    def feed(self, buf: bytearray) -> bool:
        """Consume body bytes from buf; True when the body is complete."""
        if self.chunked:
            return self._feed_chunked(buf)
        if self.until_close:
            self.body += buf
            del buf[:]
            return False
        take = min(self.remaining, len(buf))
        self.body += buf[:take]
        del buf[:take]
        self.remaining -= take
        return self.remaining == 0

    def _feed_chunked(self, buf: bytearray) -> bool:
        # States: "size" line, "data" of self.remaining bytes, "crlf" after data, "trailer".
        while True:
            if self.state in ("size", "trailer", "crlf"):
                eol = buf.find(b"\r\n")
                if eol < 0:
                    return False
                line = bytes(buf[:eol])
                del buf[: eol + 2]
                if self.state == "crlf":
                    if line:
                        raise CodecError(400, "http1.invalid_chunk_size")
                    self.state = "size"
                elif self.state == "trailer":
                    if not line:
                        return True
                else:
                    try:
                        n = int(line.split(b";")[0].strip(), 16)
                    except ValueError:
                        raise CodecError(400, "http1.invalid_chunk_size") from None
                    self.state, self.remaining = ("trailer", 0) if n == 0 else ("data", n)
                    if len(self.body) + n > MAX_BODY:
                        raise CodecError(413, "body too large")
                continue
            take = min(self.remaining, len(buf))
            if take == 0:
                return False
            self.body += buf[:take]
            del buf[:take]
            self.remaining -= take
            if self.remaining == 0:
                self.state = "crlf"


def _keep_alive(version: str, headers: HeaderMap) -> bool:
    conn = (headers.get("connection") or "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn


class RequestParser:
    """ServerConnectionImpl's parsing half: feed bytes, pop complete requests."""

    def __init__(self, max_headers_kb: int = MAX_HEADERS_KB) -> None:
        self.buf = bytearray()
        self.limit = max_headers_kb * 1024
        # Set when a request asked `Expect: 100-continue` and its body has not arrived: the
        # connection answers "100 Continue" itself, as Envoy does (proxy_100_continue off).
        self.continue_needed = False
        self._head: tuple[HeaderMap, str] | None = None
        self._body: _BodyReader | None = None

    def feed(self, data: bytes) -> list[Message]:
        self.buf += data
        out: list[Message] = []
        while True:
            if self._head is None:
                split = _split_head(self.buf, self.limit)
                if split is None:
                    return out
                head, consumed = split
                del self.buf[:consumed]
                self._head = self._parse_head(head)
                self._body = _BodyReader(self._head[0], until_close=False)
                expect = self._head[0].get("expect")
                if expect and expect.lower() == "100-continue" and self._head[1] == "HTTP/1.1":
                    self.continue_needed = not self._body.feed(self.buf)
            if not self._body.feed(self.buf):
                return out
            headers, version = self._head
            out.append(
                Message(headers, bytes(self._body.body), _keep_alive(version, headers), version)
            )
            self._head = None
            self._body = None

    @staticmethod
    def _parse_head(head: bytes) -> tuple[HeaderMap, str]:
        lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise CodecError(400, "http1.codec_error")
        method, target, version = parts
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise CodecError(400, "http1.codec_error")
        headers = HeaderMap()
        items = headers._items
        items.append([":method", method])
        items.append([":path", target])
        _parse_fields(lines[1:], items)
        for item in items:
            if item[0] == "host":
                item[0] = ":authority"  # HTTP/1 Host becomes the :authority pseudo-header
                break
        else:
            if version == "HTTP/1.1":
                raise CodecError(400, "http1.codec_error")
        return headers, version


class ResponseParser:
    """ClientConnectionImpl's parsing half, for the request it was told about."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self._head: tuple[HeaderMap, str] | None = None
        self._body: _BodyReader | None = None
        self.head_request = False

    def feed(self, data: bytes) -> Message | None:
        self.buf += data
        while True:
            if self._head is None:
                split = _split_head(self.buf, MAX_HEADERS_KB * 1024)
                if split is None:
                    return None
                head, consumed = split
                del self.buf[:consumed]
                headers, version = self._parse_head(head)
                status = int(headers.get(":status") or 0)
                if 100 <= status < 200:
                    continue  # 100-continue and friends are swallowed like Envoy does
                self._head = (headers, version)
                bodyless = self.head_request or status in (204, 304)
                self._body = _BodyReader(headers, until_close=not bodyless)
                if bodyless:
                    self._body.remaining = 0
                    self._body.chunked = self._body.until_close = False
            if not self._body.feed(self.buf):
                return None
            return self._finish()

    def feed_eof(self) -> Message | None:
        """The upstream closed: a read-until-close body is complete, anything else is reset."""
        if self._body is not None and self._body.until_close:
            return self._finish()
        return None

    def _finish(self) -> Message:
        headers, version = self._head
        keep = _keep_alive(version, headers) and not self._body.until_close
        msg = Message(headers, bytes(self._body.body), keep, version)
        self._head = None
        self._body = None
        return msg

    @staticmethod
    def _parse_head(head: bytes) -> tuple[HeaderMap, str]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise CodecError(502, "upstream http1.codec_error")
        headers = HeaderMap()
        headers._items.append([":status", parts[1]])
        _parse_fields(lines[1:], headers._items)
        return headers, parts[0]


_HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
        "te",
        "content-length",
    )
)


def encode_request(headers: HeaderMap, body: bytes) -> bytes:
    """Serialize a request for an upstream HTTP/1.1 connection."""
    head = [
        f"{headers.get(':method')} {headers.get(':path')} HTTP/1.1\r\nhost: {headers.get(':authority') or ''}\r\n"
    ]
    head += [f"{k}: {v}\r\n" for k, v in headers._items if k[0] != ":" and k not in _HOP_BY_HOP]
    if body or headers.get(":method") in ("POST", "PUT", "PATCH"):
        head.append(f"content-length: {len(body)}\r\n")
    head.append("\r\n")
    return "".join(head).encode("latin-1") + body


def encode_response(headers: HeaderMap, body: bytes, close: bool, head_only: bool = False) -> bytes:
    """Serialize a response to a downstream HTTP/1.1 connection."""
    status = headers.get(":status") or "200"
    head = [f"HTTP/1.1 {status} {reason(int(status))}\r\n"]
    head += [f"{k}: {v}\r\n" for k, v in headers._items if k[0] != ":" and k not in _HOP_BY_HOP]
    if status not in ("204", "304"):
        head.append(f"content-length: {len(body)}\r\n")
    if close:
        head.append("connection: close\r\n")
    head.append("\r\n")
    data = "".join(head).encode("latin-1")
    return data if head_only else data + body


_REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
    303: "See Other", 304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 413: "Payload Too Large", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}  # fmt: skip


def reason(status: int) -> str:
    return _REASONS.get(status, "Unknown")
