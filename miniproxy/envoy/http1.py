"""HTTP/1.1 codec: bytes in, whole messages out, and back to bytes.

Mirrors source/common/http/http1/codec_impl.cc (ServerConnectionImpl, ClientConnectionImpl)
and the limits of source/common/http/conn_manager_config.h (max_request_headers_kb, 60 KiB,
and max_headers_count, 100, answered with 431). Sans-I/O like h11: `feed()` bytes, take
complete messages. Header names are lower-cased and HTTP/1 pseudo-headers (`:method`,
`:path`, `:authority`, `:status`) are carried in the HeaderMap as Envoy does.
Speed: a head is decoded once, its field lines are split in C and their names checked by
one regular expression; anything unusual sends the head through the line-by-line checker,
which names the error. Encoding builds each head as one string and encodes it once.
Omitted: streaming bodies (a message is delivered once complete), trailers, upgrades/CONNECT,
HTTP/1.0 keep-alive negotiation beyond `Connection: keep-alive`.
"""

from __future__ import annotations

import operator
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


@dataclass(slots=True)
class Message:
    """One complete request or response."""

    headers: HeaderMap
    body: bytes
    keep_alive: bool
    version: str = "HTTP/1.1"


# field-line = field-name ":" OWS field-value OWS CRLF (RFC 9112 section 5); a name is a token.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TOKEN_PUNCT = b"!#$%&'*+.^_`|~-"
_split_colon = operator.methodcaller("split", ":", 1)
_first = operator.itemgetter(0)


def _check_fields(lines: list[str]) -> list[list[str]]:
    """The slow path: line by line, to name the error the fast match could not."""
    if len(lines) > MAX_HEADERS_COUNT:
        raise CodecError(431, "too many headers")
    items = []
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
        if "\r" in value or "\n" in value:  # a bare CR or LF: no line folding or smuggling
            raise CodecError(400, "http1.invalid_characters")
        items.append([name.lower(), value.strip(" \t")])
    return items


def parse_fields(text: str, start: int) -> list[list[str]]:
    """Field lines of text[start:], each ending in CRLF, as [lower-case name, value] pairs.

    The fast path works in C as much as it can: split the lines, split each at its first
    colon, then check all names at once (bytes.translate drops the token punctuation, and
    what is left must be ASCII letters and digits). Anything unusual (a line
    without a colon, a bare CR or LF, a bad name) goes to the line-by-line checker."""
    if start >= len(text):
        return []
    block = text[start:-2]
    lines = block.split("\r\n")
    n = len(lines)
    if n > MAX_HEADERS_COUNT:
        raise CodecError(431, "too many headers")
    if block.count("\n") != n - 1 or block.count("\r") != n - 1:
        return _check_fields(lines)
    try:
        items = [[k.lower(), v.strip(" \t")] for k, v in map(_split_colon, lines)]
    except ValueError:  # a line without a colon
        return _check_fields(lines)
    # Every name a token: non-empty, and only letters, digits and the token punctuation.
    names = "".join(map(_first, items)).encode("latin-1")
    if not names.translate(None, _TOKEN_PUNCT).isalnum() or "" in map(_first, items):
        return _check_fields(lines)
    return items


class _BodyReader:
    """Reads a body framed by Content-Length, chunked encoding, or connection close."""

    def __init__(self, cl: str | None, te: str | None, until_close: bool) -> None:
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

    def feed(self, buf: bytes, pos: int) -> tuple[int, bool]:
        """Consume body bytes from buf[pos:]; the new position and whether the body is done."""
        if self.chunked:
            return self._feed_chunked(buf, pos)
        if self.until_close:
            self.body += buf[pos:]
            return len(buf), False
        take = min(self.remaining, len(buf) - pos)
        if take:
            self.body += buf[pos : pos + take]
            self.remaining -= take
        return pos + take, self.remaining == 0

    def _feed_chunked(self, buf: bytes, pos: int) -> tuple[int, bool]:
        # States: "size" line, "data" of self.remaining bytes, "crlf" after data, "trailer".
        while True:
            if self.state != "data":
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return pos, False
                line = buf[pos:eol]
                pos = eol + 2
                if self.state == "crlf":
                    if line:
                        raise CodecError(400, "http1.invalid_chunk_size")
                    self.state = "size"
                elif self.state == "trailer":
                    if not line:
                        return pos, True
                else:
                    try:
                        n = int(line.split(b";")[0].strip(), 16)
                    except ValueError:
                        raise CodecError(400, "http1.invalid_chunk_size") from None
                    self.state, self.remaining = ("trailer", 0) if n == 0 else ("data", n)
                    if len(self.body) + n > MAX_BODY:
                        raise CodecError(413, "body too large")
                continue
            take = min(self.remaining, len(buf) - pos)
            if take == 0:
                return pos, False
            self.body += buf[pos : pos + take]
            pos += take
            self.remaining -= take
            if self.remaining == 0:
                self.state = "crlf"


def _keep_alive(version: str, conn: str | None) -> bool:
    conn = (conn or "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn


def _find_head(buf: bytes, pos: int, limit: int) -> int:
    """Index of the blank line ending the head that starts at pos, or -1 if not yet here."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        if len(buf) - pos > limit:
            raise CodecError(431, "headers size exceeds limit")
        return -1
    if end - pos > limit:
        raise CodecError(431, "headers size exceeds limit")
    return end


class RequestParser:
    """ServerConnectionImpl's parsing half: feed bytes, pop complete requests."""

    def __init__(self, max_headers_kb: int = MAX_HEADERS_KB) -> None:
        self.buf = b""
        self.limit = max_headers_kb * 1024
        # Set when a request asked `Expect: 100-continue` and its body has not arrived: the
        # connection answers "100 Continue" itself, as Envoy does (proxy_100_continue off).
        self.continue_needed = False
        self._head: tuple[HeaderMap, str, bool] | None = None
        self._body: _BodyReader | None = None

    def feed(self, data: bytes) -> list[Message]:
        buf = self.buf + data if self.buf else data
        out: list[Message] = []
        pos = 0
        while True:
            if self._head is None:
                while buf.startswith(b"\r\n", pos):  # empty lines before a request-line
                    pos += 2
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0 or end - pos > self.limit:
                    end = _find_head(buf, pos, self.limit)  # raises 431 if over the limit
                    if end < 0:
                        break
                self._head, cl, te, expect = self._parse_head(buf[pos : end + 2])
                pos = end + 4
                if cl is None and te is None:
                    headers, version, keep = self._head
                    self._head = None
                    out.append(Message(headers, b"", keep, version))
                    if pos >= len(buf):
                        break
                    continue
                self._body = _BodyReader(cl, te, until_close=False)
                pos, done = self._body.feed(buf, pos)
                if expect and expect.lower() == "100-continue" and self._head[1] == "HTTP/1.1":
                    self.continue_needed = not done
            else:
                pos, done = self._body.feed(buf, pos)
            if not done:
                break
            headers, version, keep = self._head
            out.append(Message(headers, bytes(self._body.body), keep, version))
            self._head = None
            self._body = None
        self.buf = buf[pos:] if pos < len(buf) else b""
        return out

    @staticmethod
    def _parse_head(head: bytes):
        text = head.decode("latin-1")
        eol = text.find("\r\n")
        parts = text[:eol].split(" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise CodecError(400, "http1.codec_error")
        method, target, version = parts
        if version != "HTTP/1.1" and version != "HTTP/1.0":
            raise CodecError(400, "http1.codec_error")
        items = parse_fields(text, eol + 2)
        index = dict(items)
        host = index.get("host")
        if host is not None:
            for item in items:
                if item[0] == "host":
                    item[0] = ":authority"  # HTTP/1 Host becomes the :authority pseudo-header
                    break
        elif version == "HTTP/1.1":
            raise CodecError(400, "http1.codec_error")
        headers = HeaderMap()
        headers._items = [[":method", method], [":path", target], *items]
        conn = index.get("connection")
        keep = conn is None and version == "HTTP/1.1" or _keep_alive(version, conn)
        return (
            (headers, version, keep),
            index.get("content-length"),
            index.get("transfer-encoding"),
            index.get("expect"),
        )


class ResponseParser:
    """ClientConnectionImpl's parsing half, for the request it was told about."""

    def __init__(self) -> None:
        self.buf = b""
        self._head: tuple[HeaderMap, str, str | None] | None = None
        self._body: _BodyReader | None = None
        self.head_request = False

    def reset(self, head_request: bool) -> None:
        """Expect the response to a new request (HEAD responses carry no body)."""
        self.buf = b""
        self._head = self._body = None
        self.head_request = head_request

    def feed(self, data: bytes) -> Message | None:
        buf = self.buf + data if self.buf else data
        pos = 0
        msg = None
        while msg is None:
            if self._head is None:
                while buf.startswith(b"\r\n", pos):  # as llhttp, skip CRLFs before a status-line
                    pos += 2
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0 or end - pos > MAX_HEADERS_KB * 1024:
                    end = _find_head(buf, pos, MAX_HEADERS_KB * 1024)  # raises if over the limit
                    if end < 0:
                        break
                headers, version, status, cl, te, conn = self._parse_head(buf[pos : end + 2])
                pos = end + 4
                if 100 <= status < 200:
                    continue  # 100-continue and friends are swallowed like Envoy does
                bodyless = self.head_request or status == 204 or status == 304
                if te is None and cl is not None and cl.isdigit() and not bodyless:
                    n = int(cl)
                    if len(buf) - pos >= n:  # the common case: the whole body is here
                        keep = conn is None and version == "HTTP/1.1" or _keep_alive(version, conn)
                        msg = Message(headers, buf[pos : pos + n], keep, version)
                        pos += n
                        break
                self._head = (headers, version, conn)
                self._body = _BodyReader(
                    None if bodyless else cl, None if bodyless else te, until_close=not bodyless
                )
            pos, done = self._body.feed(buf, pos)
            if not done:
                break
            msg = self._finish()
        self.buf = buf[pos:] if pos < len(buf) else b""
        return msg

    def feed_eof(self) -> Message | None:
        """The upstream closed: a read-until-close body is complete, anything else is reset."""
        if self._body is not None and self._body.until_close:
            return self._finish()
        return None

    def _finish(self) -> Message:
        headers, version, conn = self._head
        keep = _keep_alive(version, conn) and not self._body.until_close
        msg = Message(headers, bytes(self._body.body), keep, version)
        self._head = None
        self._body = None
        return msg

    @staticmethod
    def _parse_head(head: bytes):
        text = head.decode("latin-1")
        eol = text.find("\r\n")
        parts = text[:eol].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise CodecError(502, "upstream http1.codec_error")
        items = parse_fields(text, eol + 2)
        index = dict(items)
        headers = HeaderMap()
        headers._items = [[":status", parts[1]], *items]
        return (
            headers,
            parts[0],
            int(parts[1]),
            index.get("content-length"),
            index.get("transfer-encoding"),
            index.get("connection"),
        )


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


# What the encoders leave out: hop-by-hop headers (written by the codec itself) and the
# pseudo-headers, which become the request-line or status-line.
_PSEUDO = frozenset((":method", ":path", ":authority", ":scheme", ":status", ":protocol"))
_NOT_FORWARDED = _HOP_BY_HOP | _PSEUDO


def encode_request(headers: HeaderMap, body: bytes) -> bytes:
    """Serialize a request for an upstream HTTP/1.1 connection."""
    items = headers._items
    if len(items) > 1 and items[0][0] == ":method" and items[1][0] == ":path":
        method, path = items[0][1], items[1][1]  # where the HTTP/1 codec puts them
    else:
        method, path = headers.get(":method") or "", headers.get(":path") or ""
    authority = headers.get(":authority") or ""
    lines = [f"{k}: {v}\r\n" for k, v in items if k not in _NOT_FORWARDED]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}\r\n")
    head = f"{method} {path} HTTP/1.1\r\nhost: {authority}\r\n" + "".join(lines) + "\r\n"
    return head.encode("latin-1") + body


def encode_response(headers: HeaderMap, body: bytes, close: bool, head_only: bool = False) -> bytes:
    """Serialize a response to a downstream HTTP/1.1 connection."""
    items = headers._items
    if items and items[0][0] == ":status":  # where every response this proxy builds has it
        status = items[0][1]
    else:
        status = headers.get(":status") or "200"
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {_REASONS.get(int(status), 'Unknown')}\r\n"
    lines = [f"{k}: {v}\r\n" for k, v in items if k not in _NOT_FORWARDED]
    if status != "204" and status != "304":
        lines.append(f"content-length: {len(body)}\r\n")
    if close:
        lines.append("connection: close\r\n")
    data = (line + "".join(lines) + "\r\n").encode("latin-1")
    return data if head_only else data + body


_REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
    303: "See Other", 304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 413: "Payload Too Large", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}  # fmt: skip


_STATUS_LINES = {str(c): f"HTTP/1.1 {c} {r}\r\n" for c, r in _REASONS.items()}


def reason(status: int) -> str:
    return _REASONS.get(status, "Unknown")
