"""DNS messages: header, question, resource records; pack, unpack, EDNS0 and truncation.

Mirrors github.com/miekg/dns msg.go (Msg, MsgHdr, Question, RR_Header, Pack with a
compression map, Unpack), defaults.go (SetReply, SetRcode), edns.go (the OPT
pseudo-record: UDP payload size in CLASS, DO bit in TTL) and msg_truncate.go
(Truncate to a size, setting TC only when answers had to go). Wire format from
RFC 1035 section 4.1, EDNS0 from RFC 6891.
Contract: unpack(pack(m)) == m for every message pack accepts; unpack raises only
FormatError, whatever the input.
Omitted: extended RCODEs (BADVERS), DNSSEC bits beyond carrying AD/CD/DO through.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from minicluster.dns.rdata import OPT, TYPE_OPT, RData, pack_rdata, unpack_rdata
from minicluster.dns.wire import FormatError, Reader, pack_name

__all__ = [
    "CLASS_INET",
    "MIN_UDP_SIZE",
    "OPCODE_QUERY",
    "RCODE_FORMERR",
    "RCODE_NOERROR",
    "RCODE_NOTIMP",
    "RCODE_NXDOMAIN",
    "RCODE_REFUSED",
    "RCODE_SERVFAIL",
    "RR",
    "Header",
    "Message",
    "Question",
    "edns_opt",
    "max_udp_size",
    "pack",
    "reply_to",
    "truncate",
    "unpack",
    "unpack_header",
]

CLASS_INET = 1
OPCODE_QUERY = 0
RCODE_NOERROR, RCODE_FORMERR, RCODE_SERVFAIL = 0, 1, 2
RCODE_NXDOMAIN, RCODE_NOTIMP, RCODE_REFUSED = 3, 4, 5
# Largest UDP reply to a client that did not send EDNS0 (RFC 1035 section 2.3.4).
MIN_UDP_SIZE = 512
_DO_BIT = 0x8000


@dataclass(frozen=True)
class Header:
    """The 12-octet header's fields, counts excepted (they follow from the sections)."""

    id: int = 0
    qr: bool = False
    opcode: int = OPCODE_QUERY
    aa: bool = False
    tc: bool = False
    rd: bool = False
    ra: bool = False
    z: bool = False
    ad: bool = False
    cd: bool = False
    rcode: int = RCODE_NOERROR

    def flags(self) -> int:
        bits = (self.qr << 15) | (self.opcode << 11) | (self.aa << 10) | (self.tc << 9)
        bits |= (self.rd << 8) | (self.ra << 7) | (self.z << 6) | (self.ad << 5) | (self.cd << 4)
        return bits | self.rcode

    @staticmethod
    def from_flags(id_: int, f: int) -> Header:
        return Header(
            id=id_,
            qr=bool(f >> 15 & 1),
            opcode=f >> 11 & 0xF,
            aa=bool(f >> 10 & 1),
            tc=bool(f >> 9 & 1),
            rd=bool(f >> 8 & 1),
            ra=bool(f >> 7 & 1),
            z=bool(f >> 6 & 1),
            ad=bool(f >> 5 & 1),
            cd=bool(f >> 4 & 1),
            rcode=f & 0xF,
        )


@dataclass(frozen=True)
class Question:
    """What is asked: a name, a type and a class (RFC 1035 section 4.1.2)."""

    name: str
    qtype: int
    qclass: int = CLASS_INET


@dataclass(frozen=True)
class RR:
    """A resource record: owner, type, class, TTL and typed data (RFC 1035 section 4.1.3)."""

    name: str
    rtype: int
    rclass: int
    ttl: int
    rdata: RData


@dataclass(frozen=True)
class Message:
    """A whole DNS message; sections are tuples so messages compare by value."""

    header: Header
    question: tuple[Question, ...] = ()
    answer: tuple[RR, ...] = ()
    authority: tuple[RR, ...] = ()
    additional: tuple[RR, ...] = ()


def _pack_rr(rr: RR, buf: bytearray, compress: dict[tuple[bytes, ...], int] | None) -> None:
    pack_name(rr.name, buf, compress)
    buf += struct.pack("!HHI", rr.rtype, rr.rclass, rr.ttl)
    at = len(buf)
    buf += b"\0\0"
    pack_rdata(rr.rdata, buf, compress)
    rdlength = len(buf) - at - 2
    if rdlength > 0xFFFF:
        raise ValueError("RDATA longer than 65535 octets")
    buf[at : at + 2] = struct.pack("!H", rdlength)


def pack(m: Message, compress: bool = True) -> bytes:
    """The wire form of m, names compressed where RFC 1035 allows it."""
    h = m.header
    buf = bytearray(
        struct.pack(
            "!HHHHHH",
            h.id,
            h.flags(),
            len(m.question),
            len(m.answer),
            len(m.authority),
            len(m.additional),
        )
    )
    table: dict[tuple[bytes, ...], int] | None = {} if compress else None
    for q in m.question:
        pack_name(q.name, buf, table)
        buf += struct.pack("!HH", q.qtype, q.qclass)
    for rr in (*m.answer, *m.authority, *m.additional):
        _pack_rr(rr, buf, table)
    return bytes(buf)


def unpack_header(data: bytes) -> tuple[Header, tuple[int, int, int, int]]:
    """The header and the four section counts; FormatError if fewer than 12 octets."""
    if len(data) < 12:
        raise FormatError("message shorter than a header")
    id_, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    return Header.from_flags(id_, flags), (qd, an, ns, ar)


def _unpack_rr(r: Reader) -> RR:
    name = r.name()
    rtype, rclass, ttl, rdlength = r.u16(), r.u16(), r.u32(), r.u16()
    return RR(name, rtype, rclass, ttl, unpack_rdata(r, rtype, rdlength))


def unpack(data: bytes) -> Message:
    """Parse a whole message; trailing octets or any malformation raise FormatError."""
    header, (qd, an, ns, ar) = unpack_header(data)
    r = Reader(data)
    r.pos = 12
    questions = []
    for _ in range(qd):
        name = r.name()
        questions.append(Question(name, r.u16(), r.u16()))
    sections = [tuple(_unpack_rr(r) for _ in range(count)) for count in (an, ns, ar)]
    if r.pos != len(data):
        raise FormatError("trailing octets after the last record")
    return Message(header, tuple(questions), *sections)


def edns_opt(m: Message) -> RR | None:
    """The OPT pseudo-record of the additional section, if the sender speaks EDNS0."""
    for rr in m.additional:
        if rr.rtype == TYPE_OPT:
            return rr
    return None


def reply_to(req: Message, rcode: int = RCODE_NOERROR) -> Message:
    """SetReply + SetRcode: same id, opcode, RD and CD, the question echoed, QR set.

    AA and RA stay clear: the caller sets them (ServeDNS sets both on answers,
    BackendError only AA). When the request carried EDNS0, the reply carries an OPT
    too: the client's payload size (at least 512) and its DO bit, no options
    (miekg's SizeAndDo).
    """
    h = req.header
    header = Header(id=h.id, qr=True, opcode=h.opcode, rd=h.rd, cd=h.cd, rcode=rcode)
    extra: tuple[RR, ...] = ()
    opt = edns_opt(req)
    if opt is not None:
        size = max(opt.rclass, MIN_UDP_SIZE)
        extra = (RR(".", TYPE_OPT, size, opt.ttl & _DO_BIT, OPT()),)
    return Message(header, req.question[:1], additional=extra)


def max_udp_size(req: Message) -> int:
    """How large a UDP reply the client accepts: its EDNS0 payload size, else 512."""
    opt = edns_opt(req)
    return max(opt.rclass, MIN_UDP_SIZE) if opt is not None else MIN_UDP_SIZE


def truncate(m: Message, size: int) -> bytes:
    """Pack m in at most size octets: drop additional, then authority, then answers (with TC).

    The OPT record is always kept (RFC 6891 section 7). TC is set only when answer
    records had to go, as RFC 2181 section 9 asks.
    """
    wire = pack(m)
    if len(wire) <= size:
        return wire
    opt = tuple(rr for rr in m.additional if rr.rtype == TYPE_OPT)
    for cut in (replace(m, additional=opt), replace(m, authority=(), additional=opt)):
        wire = pack(cut)
        if len(wire) <= size:
            return wire
    answers = list(m.answer)
    while answers:
        answers.pop()
        wire = pack(
            replace(
                m,
                header=replace(m.header, tc=True),
                answer=tuple(answers),
                authority=(),
                additional=opt,
            )
        )
        if len(wire) <= size:
            break
    return wire
