"""Record data (RDATA) of the types cluster DNS speaks, as immutable values.

Mirrors github.com/miekg/dns types.go (A, AAAA, NS, CNAME, PTR, SOA, SRV, TXT, OPT,
RFC3597 for unknown types) and their pack/unpack in zmsg.go / msg_helpers.go.
Names inside NS, CNAME, PTR and SOA may be compressed (RFC 1035 section 4.1.4);
SRV targets never are (RFC 2782, RFC 3597 section 4), though pointers are
accepted when reading any of them. Unknown types keep their raw octets.
Omitted: DNSSEC, MX and every type the kubernetes plugin never answers with (they
decode as Unknown).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from minicluster.dns.wire import FormatError, Reader, pack_name

__all__ = [
    "AAAA",
    "CNAME",
    "NS",
    "OPT",
    "PTR",
    "SOA",
    "SRV",
    "TXT",
    "A",
    "RData",
    "Unknown",
    "TYPE_A",
    "TYPE_AAAA",
    "TYPE_ANY",
    "TYPE_AXFR",
    "TYPE_CNAME",
    "TYPE_IXFR",
    "TYPE_NS",
    "TYPE_OPT",
    "TYPE_PTR",
    "TYPE_SOA",
    "TYPE_SRV",
    "TYPE_TXT",
    "pack_rdata",
    "unpack_rdata",
]

TYPE_A, TYPE_NS, TYPE_CNAME, TYPE_SOA, TYPE_PTR = 1, 2, 5, 6, 12
TYPE_TXT, TYPE_AAAA, TYPE_SRV, TYPE_OPT = 16, 28, 33, 41
TYPE_IXFR, TYPE_AXFR, TYPE_ANY = 251, 252, 255

Compress = dict[tuple[bytes, ...], int] | None


@dataclass(frozen=True)
class A:
    """An IPv4 address (RFC 1035 section 3.4.1)."""

    address: str


@dataclass(frozen=True)
class AAAA:
    """An IPv6 address (RFC 3596), in its compressed text form."""

    address: str


@dataclass(frozen=True)
class NS:
    """An authoritative name server for the owner (RFC 1035 section 3.3.11)."""

    ns: str


@dataclass(frozen=True)
class CNAME:
    """The canonical name of an alias (RFC 1035 section 3.3.1)."""

    target: str


@dataclass(frozen=True)
class PTR:
    """A pointer to another name, used by reverse lookups (RFC 1035 section 3.3.12)."""

    ptr: str


@dataclass(frozen=True)
class SOA:
    """Start of authority of a zone; minttl is the negative-caching TTL (RFC 2308)."""

    ns: str
    mbox: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minttl: int


@dataclass(frozen=True)
class SRV:
    """A service location: priority, weight, port and target host (RFC 2782)."""

    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True)
class TXT:
    """One or more character-strings of at most 255 octets each (RFC 1035 section 3.3.14)."""

    strings: tuple[bytes, ...]


@dataclass(frozen=True)
class OPT:
    """EDNS0 options as (code, data) pairs (RFC 6891 section 6.1.2)."""

    options: tuple[tuple[int, bytes], ...] = ()


@dataclass(frozen=True)
class Unknown:
    """Octets of a type this codec does not interpret (RFC 3597)."""

    data: bytes


RData = A | AAAA | NS | CNAME | PTR | SOA | SRV | TXT | OPT | Unknown


def pack_rdata(rdata: RData, buf: bytearray, compress: Compress) -> None:
    """Append the RDATA (without its length prefix) to buf."""
    match rdata:
        case A(address=a):
            buf += ipaddress.IPv4Address(a).packed
        case AAAA(address=a):
            buf += ipaddress.IPv6Address(a).packed
        case NS(ns=n) | CNAME(target=n) | PTR(ptr=n):
            pack_name(n, buf, compress)
        case SOA():
            pack_name(rdata.ns, buf, compress)
            pack_name(rdata.mbox, buf, compress)
            buf += struct.pack(
                "!IIIII", rdata.serial, rdata.refresh, rdata.retry, rdata.expire, rdata.minttl
            )
        case SRV():
            buf += struct.pack("!HHH", rdata.priority, rdata.weight, rdata.port)
            pack_name(rdata.target, buf, None)
        case TXT(strings=strings):
            for s in strings:
                if len(s) > 255:
                    raise ValueError("TXT character-string longer than 255 octets")
                buf.append(len(s))
                buf += s
        case OPT(options=options):
            for code, data in options:
                buf += struct.pack("!HH", code, len(data)) + data
        case Unknown(data=data):
            buf += data


def _unpack_txt(r: Reader, end: int) -> TXT:
    strings = []
    while r.pos < end:
        strings.append(r.take(r.u8()))
    return TXT(tuple(strings))


def _unpack_opt(r: Reader, end: int) -> OPT:
    options = []
    while r.pos < end:
        code, length = r.u16(), r.u16()
        options.append((code, r.take(length)))
    return OPT(tuple(options))


def unpack_rdata(r: Reader, rtype: int, rdlength: int) -> RData:
    """Read exactly rdlength octets of RDATA of rtype; anything else is a FormatError."""
    end = r.pos + rdlength
    if end > len(r.data):
        raise FormatError("RDATA runs past the end of the message")
    rdata: RData
    if rtype == TYPE_A and rdlength == 4:
        rdata = A(str(ipaddress.IPv4Address(r.take(4))))
    elif rtype == TYPE_AAAA and rdlength == 16:
        rdata = AAAA(str(ipaddress.IPv6Address(r.take(16))))
    elif rtype in (TYPE_A, TYPE_AAAA):
        raise FormatError("address record of the wrong length")
    elif rtype == TYPE_NS:
        rdata = NS(r.name())
    elif rtype == TYPE_CNAME:
        rdata = CNAME(r.name())
    elif rtype == TYPE_PTR:
        rdata = PTR(r.name())
    elif rtype == TYPE_SOA:
        ns, mbox = r.name(), r.name()
        rdata = SOA(ns, mbox, r.u32(), r.u32(), r.u32(), r.u32(), r.u32())
    elif rtype == TYPE_SRV:
        priority, weight, port = r.u16(), r.u16(), r.u16()
        rdata = SRV(priority, weight, port, r.name())
    elif rtype == TYPE_TXT:
        rdata = _unpack_txt(r, end)
    elif rtype == TYPE_OPT:
        rdata = _unpack_opt(r, end)
    else:
        rdata = Unknown(r.take(rdlength))
    if r.pos != end:
        raise FormatError("RDATA length does not match its contents")
    return rdata
