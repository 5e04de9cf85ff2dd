"""The HTTP/1.1 codec: requests survive any split into reads, framing rules, limits.

Reference: RFC 9112 sections 6 (message body length) and 7.1 (chunked transfer coding);
Envoy's max_request_headers_kb (60 KiB default) answered with 431.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniproxy.envoy import http1
from miniproxy.envoy.headers import HeaderMap

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
    lambda s: s[0] != "-"
)
value = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ./=", max_size=20).map(str.strip)


@st.composite
def requests(draw):
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
    path = "/" + draw(st.text(alphabet="abc/123?=&", max_size=15))
    headers = draw(st.lists(st.tuples(token, value), max_size=6))
    headers = [
        (k, v)
        for k, v in headers
        if k not in ("host", "content-length", "transfer-encoding", "connection")
    ]
    body = draw(st.binary(max_size=200)) if method in ("POST", "PUT") else b""
    return method, path, headers, body


def _wire(method, path, headers, body, chunked=False) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: example.com"] + [f"{k}: {v}" for k, v in headers]
    if chunked:
        lines.append("transfer-encoding: chunked")
        enc = (
            b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7])
                for i in range(0, len(body), 7)
            )
            + b"0\r\n\r\n"
        )
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + enc
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@settings(max_examples=60, deadline=None)
@given(requests(), st.booleans(), st.lists(st.integers(min_value=1, max_value=40), max_size=30))
def test_a_request_parses_the_same_whatever_the_read_boundaries(req, chunked, cuts):
    method, path, headers, body = req
    data = _wire(method, path, headers, body, chunked)
    parser = http1.RequestParser()
    msgs = []
    pos = 0
    for c in cuts:
        msgs += parser.feed(data[pos : pos + c])
        pos += c
    msgs += parser.feed(data[pos:])
    assert len(msgs) == 1
    m = msgs[0]
    assert m.headers.get(":method") == method and m.headers.get(":path") == path
    assert m.headers.get(":authority") == "example.com"
    assert m.body == body and m.keep_alive
    for k, v in headers:
        assert v in m.headers.get_all(k)


@settings(max_examples=30, deadline=None)
@given(st.lists(requests(), min_size=1, max_size=4))
def test_pipelined_requests_come_out_in_order(reqs):
    data = b"".join(_wire(*r) for r in reqs)
    msgs = http1.RequestParser().feed(data)
    assert [m.headers.get(":path") for m in msgs] == [r[1] for r in reqs]


@settings(deadline=None)
@given(st.integers(min_value=100, max_value=599), st.binary(max_size=100))
def test_response_encode_then_parse_round_trips(status, body):
    h = HeaderMap([(":status", str(status)), ("x-a", "1")])
    if status < 200:
        body = b""  # RFC 9110 section 15.2: a 1xx response ends with its header section
    wire = http1.encode_response(h, body, close=False)
    p = http1.ResponseParser()
    msg = p.feed(wire)
    if 100 <= status < 200:
        assert msg is None
        return
    assert msg.headers.get(":status") == str(status)
    assert msg.body == (b"" if status in (204, 304) else body)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nhost: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without host
        (b"GET / HTTP/1.1\r\nhost: x\r\nbad header: y\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n", 400),
        (
            b"GET / HTTP/1.1\r\nhost: x\r\n"
            + b"".join(b"h%d: v\r\n" % i for i in range(101))
            + b"\r\n",
            431,
        ),
        (b"GET / HTTP/1.1\r\nhost: x\r\nbig: " + b"a" * 61440 + b"\r\n\r\n", 431),
        # A bare LF or CR inside the head is no line break: no smuggled header behind it.
        (b"GET / HTTP/1.1\r\nhost: x\r\nx-a: 1\nx-b: 2\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nhost: x\r\njunk\nx-b: 2\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nhost: x\r\nx-a: 1\rx-b: 2\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nhost: x\r\n: empty-name\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nhost: x\r\nna\xefve: y\r\n\r\n", 400),
    ],
)
def test_codec_errors_carry_envoys_status(data, status):
    with pytest.raises(http1.CodecError) as e:
        http1.RequestParser().feed(data)
    assert e.value.status == status


_TCHAR = "!#$%&'*+.^_`|~-0123456789abcXYZ"


def _fields_by_the_rfc(lines: list[str]) -> list[list[str]] | None:
    """RFC 9112 section 5 read literally, one line at a time: the model for parse_fields."""
    out = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name or any(c not in _TCHAR for c in name):
            return None
        if "\r" in value or "\n" in value:
            return None
        out.append([name.lower(), value.strip(" \t")])
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=_TCHAR + ": \t\r\nAé", max_size=12), min_size=1, max_size=6))
def test_field_lines_parse_as_the_rfc_reads_them(lines):
    text = "GET / HTTP/1.1\r\n" + "".join(line + "\r\n" for line in lines)
    expected = _fields_by_the_rfc(text[16:-2].split("\r\n"))
    try:
        got = http1.parse_fields(text, 16)
    except http1.CodecError as e:
        assert expected is None and e.status == 400
    else:
        assert got == expected


@settings(deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c", ":status"]), st.text(max_size=3))),
    st.sampled_from(["a", "b", "z"]),
)
def test_header_map_set_keeps_one_value_in_the_first_place(items, key):
    h = HeaderMap(items)
    h.set(key, "new")
    names = [k for k, _ in items]
    if key in names:
        first = names.index(key)
        want = [(k, v) for k, v in items[:first]] + [(key, "new")]
        want += [(k, v) for k, v in items[first + 1 :] if k != key]
    else:
        want = [*items, (key, "new")]
    assert list(h.items()) == want
    assert key in h and h.get(key) == "new"


def test_http10_closes_and_read_until_close_response_body():
    (m,) = http1.RequestParser().feed(b"GET / HTTP/1.0\r\n\r\n")
    assert not m.keep_alive
    p = http1.ResponseParser()
    assert p.feed(b"HTTP/1.1 200 OK\r\n\r\nhello") is None
    msg = p.feed_eof()
    assert msg.body == b"hello" and not msg.keep_alive
