"""The DNS codec: round trips, compression, malformed input, EDNS0 and truncation.

References: RFC 1035 section 4.1 (format), 4.1.4 (compression), 2.3.4 (512-octet
UDP limit); RFC 6891 section 6 (OPT); RFC 2181 section 9 (TC only when answers go).
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicluster.dns import message as msg
from minicluster.dns import rdata as rd
from minicluster.dns.message import RR, Header, Message, Question, pack, truncate, unpack
from minicluster.dns.wire import FormatError, Reader, labels_to_name, name_to_labels

labels = st.binary(min_size=1, max_size=40)
suffixes = st.sampled_from(["cluster.local.", "svc.cluster.local.", "example.com.", "."])


@st.composite
def names(draw) -> str:
    prefix = draw(st.lists(labels, max_size=3))
    return labels_to_name([*prefix, *name_to_labels(draw(suffixes))])


u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
KNOWN = {1, 2, 5, 6, 12, 16, 28, 33, 41}

rdatas = st.one_of(
    st.ip_addresses(v=4).map(lambda ip: (rd.TYPE_A, rd.A(str(ip)))),
    st.ip_addresses(v=6).map(lambda ip: (rd.TYPE_AAAA, rd.AAAA(str(ip)))),
    names().map(lambda n: (rd.TYPE_NS, rd.NS(n))),
    names().map(lambda n: (rd.TYPE_CNAME, rd.CNAME(n))),
    names().map(lambda n: (rd.TYPE_PTR, rd.PTR(n))),
    st.builds(rd.SOA, names(), names(), u32, u32, u32, u32, u32).map(lambda s: (rd.TYPE_SOA, s)),
    st.builds(rd.SRV, u16, u16, u16, names()).map(lambda s: (rd.TYPE_SRV, s)),
    st.lists(st.binary(max_size=255), max_size=3).map(lambda t: (rd.TYPE_TXT, rd.TXT(tuple(t)))),
    st.lists(st.tuples(u16, st.binary(max_size=20)), max_size=3).map(
        lambda o: (rd.TYPE_OPT, rd.OPT(tuple(o)))
    ),
    st.tuples(u16.filter(lambda t: t not in KNOWN), st.binary(max_size=30)).map(
        lambda t: (t[0], rd.Unknown(t[1]))
    ),
)


@st.composite
def records(draw) -> RR:
    rtype, data = draw(rdatas)
    return RR(draw(names()), rtype, draw(u16), draw(u32), data)


headers = st.builds(
    Header,
    id=u16,
    qr=st.booleans(),
    opcode=st.integers(0, 15),
    aa=st.booleans(),
    tc=st.booleans(),
    rd=st.booleans(),
    ra=st.booleans(),
    z=st.booleans(),
    ad=st.booleans(),
    cd=st.booleans(),
    rcode=st.integers(0, 15),
)
messages = st.builds(
    Message,
    headers,
    st.lists(st.builds(Question, names(), u16, u16), max_size=2).map(tuple),
    st.lists(records(), max_size=3).map(tuple),
    st.lists(records(), max_size=2).map(tuple),
    st.lists(records(), max_size=2).map(tuple),
)


@given(messages)
@settings(max_examples=60, deadline=None)
def test_decode_of_encode_is_identity(m: Message) -> None:
    assert unpack(pack(m)) == m
    assert unpack(pack(m, compress=False)) == m


@given(messages)
@settings(max_examples=25, deadline=None)
def test_compression_never_grows_a_message(m: Message) -> None:
    assert len(pack(m)) <= len(pack(m, compress=False))


@given(st.lists(labels, max_size=5))
def test_presentation_names_round_trip(ls: list[bytes]) -> None:
    name = labels_to_name(ls)
    assert name.endswith(".")
    assert name_to_labels(name) == ls


def test_compression_reuses_an_earlier_suffix() -> None:
    """RFC 1035 4.1.4: the answer's owner is a 2-octet pointer to the question's name."""
    q = Question("web.default.svc.cluster.local.", rd.TYPE_A)
    rr = RR(q.name, rd.TYPE_A, 1, 5, rd.A("10.96.0.10"))
    wire = pack(Message(Header(id=1), (q,), (rr,)))
    assert wire[12 + len("web.default.svc.cluster.local.") + 1 + 4 :][:2] == b"\xc0\x0c"


def test_srv_targets_are_not_compressed() -> None:
    """RFC 2782: SRV targets are written whole even when a suffix could be shared."""
    q = Question("_http._tcp.web.default.svc.cluster.local.", rd.TYPE_SRV)
    srv = rd.SRV(0, 100, 80, "web.default.svc.cluster.local.")
    wire = pack(Message(Header(), (q,), (RR(q.name, rd.TYPE_SRV, 1, 5, srv),)))
    assert b"\x03web\x07default\x03svc\x07cluster\x05local\x00" in wire[40:]


def test_pointer_that_points_forward_or_at_itself_is_a_format_error() -> None:
    header = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0)
    for target in (12, 14, 0x3FFF):
        with pytest.raises(FormatError):
            unpack(header + struct.pack("!H", 0xC000 | target) + b"\x00\x01\x00\x01")


def test_a_pointer_chain_backwards_is_followed() -> None:
    data = b"\x03abc\x00" + b"\x03xyz\xc0\x00" + b"\xc0\x05"
    r = Reader(data)
    r.pos = 11
    assert r.name() == "xyz.abc."
    assert r.pos == 13


def test_oversized_names_and_labels_are_format_errors() -> None:
    header = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0)
    long_label = b"\x40" + b"a" * 64 + b"\x00"
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"
    for name in (long_label, long_name):
        with pytest.raises(FormatError):
            unpack(header + name + b"\x00\x01\x00\x01")


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_unpack_raises_only_format_error(data: bytes) -> None:
    try:
        unpack(data)
    except FormatError:
        pass


@given(messages, st.data())
@settings(max_examples=40, deadline=None)
def test_damaged_messages_raise_only_format_error(m: Message, data) -> None:
    wire = bytearray(pack(m))
    cut = data.draw(st.integers(0, len(wire)))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(wire) - 1), u16), max_size=4))
    for at, value in flips:
        wire[at] = value & 0xFF
    try:
        unpack(bytes(wire[:cut]) if data.draw(st.booleans()) else bytes(wire))
    except FormatError:
        pass


def _big_answer(n: int, opt: RR | None = None) -> tuple[Message, Message]:
    q = Question("db.default.svc.cluster.local.", rd.TYPE_A)
    req = Message(Header(id=9, rd=True), (q,), additional=(opt,) if opt else ())
    answers = tuple(RR(q.name, rd.TYPE_A, 1, 5, rd.A(f"10.244.0.{i}")) for i in range(n))
    reply = msg.reply_to(req)
    return req, Message(reply.header, reply.question, answers, (), reply.additional)


def test_udp_reply_over_512_without_edns_is_truncated_with_tc() -> None:
    req, reply = _big_answer(60)
    assert len(pack(reply)) > 512
    wire = truncate(reply, msg.max_udp_size(req))
    cut = unpack(wire)
    assert len(wire) <= 512 and cut.header.tc
    assert 0 < len(cut.answer) < 60
    assert cut.answer == reply.answer[: len(cut.answer)]


def test_edns_payload_size_lifts_the_limit_and_the_opt_is_echoed() -> None:
    opt = RR(".", rd.TYPE_OPT, 4096, 0x8000, rd.OPT(((10, b"cookie!!"),)))
    req, reply = _big_answer(60, opt)
    assert msg.max_udp_size(req) == 4096
    cut = unpack(truncate(reply, msg.max_udp_size(req)))
    assert not cut.header.tc and len(cut.answer) == 60
    echoed = msg.edns_opt(cut)
    assert echoed is not None and echoed.rclass == 4096 and echoed.ttl == 0x8000
    assert echoed.rdata == rd.OPT()  # options are not echoed


def test_dropping_additional_records_alone_does_not_set_tc() -> None:
    req, reply = _big_answer(2)
    extra = tuple(RR(f"h{i}.example.com.", rd.TYPE_A, 1, 5, rd.A("192.0.2.1")) for i in range(40))
    full = Message(reply.header, reply.question, reply.answer, (), extra)
    cut = unpack(truncate(full, 512))
    assert not cut.header.tc and cut.answer == reply.answer and cut.additional == ()
