"""Answer one DNS query for the cluster zone, or say it must go upstream.

Mirrors coredns/coredns plugin/kubernetes/handler.go (ServeDNS: dispatch on the
query type, a fake A lookup to tell NODATA from NXDOMAIN, fallthrough for the
reverse zones), plugin/backend_lookup.go (A, AAAA, SRV with its weights, TXT,
CNAME, PTR, NS, SOA, BackendError: NXDOMAIN/NODATA with the zone's SOA in the
authority section) and miekg/dns acceptfunc.go (which requests are rejected
before any lookup). The result is a value: Answer(message) or Forward().
Omitted: MX; AXFR/IXFR (REFUSED, as CoreDNS does without the transfer plugin);
extended RCODEs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from minicluster.dns.kubernetes import REVERSE_ZONES, Kubernetes, MsgService, NXDomain
from minicluster.dns.message import (
    CLASS_INET,
    OPCODE_QUERY,
    RCODE_FORMERR,
    RCODE_NOERROR,
    RCODE_NOTIMP,
    RCODE_NXDOMAIN,
    RCODE_REFUSED,
    RR,
    Header,
    Message,
    max_udp_size,
    reply_to,
    unpack,
    unpack_header,
)
from minicluster.dns.rdata import (
    AAAA,
    CNAME,
    NS,
    PTR,
    SOA,
    SRV,
    TXT,
    TYPE_A,
    TYPE_AAAA,
    TYPE_AXFR,
    TYPE_CNAME,
    TYPE_IXFR,
    TYPE_NS,
    TYPE_PTR,
    TYPE_SOA,
    TYPE_SRV,
    TYPE_TXT,
    A,
)
from minicluster.dns.wire import FormatError, is_subdomain

__all__ = ["Answer", "Forward", "handle_packet", "serve_dns"]

# A CNAME chain inside the zone is followed at most this deep (backend_lookup.go's 7).
MAX_CNAME_CHAIN = 7


@dataclass(frozen=True)
class Answer:
    """A reply to send; chase lists out-of-zone CNAME targets whose addresses to append."""

    message: Message
    udp_size: int = 512
    chase: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Forward:
    """The name is outside every zone served (or fell through): ask the upstream resolver."""

    request: Message


def _address(name: str, s: MsgService, qtype: int) -> RR:
    rdata = A(s.host) if qtype == TYPE_A else AAAA(s.host)
    return RR(name, qtype, CLASS_INET, s.ttl, rdata)


def address_records(
    k: Kubernetes, zone: str, qname: str, qtype: int, previous: tuple[RR, ...] = ()
) -> tuple[list[RR], list[tuple[str, int]]]:
    """plugin.A / plugin.AAAA: addresses of qname, CNAMEs followed inside the zone."""
    records: list[RR] = []
    chase: list[tuple[str, int]] = []
    seen: set[str] = set()
    for serv in k.services(qname.lower(), qtype, zone):
        what = serv.host_type()
        if what == TYPE_CNAME:
            if serv.host.lower() == qname.lower() or len(previous) > MAX_CNAME_CHAIN:
                continue  # x CNAME x is a loop; long chains are cut
            cname = RR(qname, TYPE_CNAME, CLASS_INET, serv.ttl, CNAME(serv.host))
            if cname in previous:
                continue
            if is_subdomain(serv.host, zone):
                try:
                    more, deeper = address_records(k, zone, serv.host, qtype, (*previous, cname))
                except NXDomain:
                    continue
                if more:
                    records += [cname, *more]
                    chase += deeper
                continue
            records.append(cname)
            chase.append((serv.host, qtype))
        elif what == qtype and serv.host not in seen:
            seen.add(serv.host)
            records.append(_address(qname, serv, qtype))
    return records, chase


def srv_records(k: Kubernetes, zone: str, qname: str) -> tuple[list[RR], list[RR]]:
    """plugin.SRV: one SRV per (target, port), weights sharing 100 per priority."""
    found = k.services(qname.lower(), TYPE_SRV, zone)
    # Every record weighs 100 by default and the weights of one priority share 100,
    # counting the port-less (-1) records that are then left out, as upstream does.
    total = 100 * len(found)
    services = [s for s in found if s.port != -1]
    records: list[RR] = []
    extra: list[RR] = []
    dup: set[tuple[str, str, int]] = set()
    for serv in services:
        weight = max(1, int(100.0 / total * 100)) if total else 100
        what = serv.host_type()
        srv = SRV(priority=0, weight=weight, port=serv.port, target=serv.key)
        if (serv.key, "", serv.port) not in dup:
            dup.add((serv.key, "", serv.port))
            records.append(RR(qname, TYPE_SRV, CLASS_INET, serv.ttl, srv))
        if (serv.key, serv.host, 0) not in dup:
            dup.add((serv.key, serv.host, 0))
            extra.append(_address(serv.key, serv, what))
    return records, extra


def soa_record(k: Kubernetes, zone: str) -> RR:
    """plugin.SOA: ns.dns.<zone>, hostmaster.<zone>, the change time as serial, TTL 5."""
    ttl = min(k.ttl, 300)
    soa = SOA(
        ns="ns.dns." + zone,
        mbox="hostmaster." + zone,
        serial=k.serial(),
        refresh=7200,
        retry=1800,
        expire=86400,
        minttl=k.ttl,
    )
    return RR(zone, TYPE_SOA, CLASS_INET, ttl, soa)


def _lookup(
    k: Kubernetes, zone: str, q_name: str, qtype: int
) -> tuple[list[RR], list[RR], list[tuple[str, int]]]:
    """The records (answer, additional, chase) of one query type; NXDomain for NXDOMAIN."""
    name = q_name.lower()
    if qtype in (TYPE_A, TYPE_AAAA):
        records, chase = address_records(k, zone, q_name, qtype)
        return records, [], chase
    if qtype == TYPE_SRV:
        records, extra = srv_records(k, zone, q_name)
        return records, extra, []
    if qtype == TYPE_TXT:
        found = k.services(name, TYPE_TXT, zone)
        txt = [RR(q_name, TYPE_TXT, CLASS_INET, s.ttl, TXT((s.text.encode(),))) for s in found]
        return txt, [], []
    if qtype == TYPE_CNAME:
        found = [s for s in k.services(name, TYPE_CNAME, zone) if s.host_type() == TYPE_CNAME]
        return [RR(q_name, TYPE_CNAME, CLASS_INET, s.ttl, CNAME(s.host)) for s in found[:1]], [], []
    if qtype == TYPE_PTR:
        found = k.reverse(name, zone)
        return [RR(q_name, TYPE_PTR, CLASS_INET, s.ttl, PTR(s.host)) for s in found], [], []
    if qtype == TYPE_SOA and name == zone:
        return [soa_record(k, zone)], [], []
    if qtype == TYPE_NS and name == zone:
        addrs = k.services(name, TYPE_NS, zone)
        ns = list(dict.fromkeys(RR(q_name, TYPE_NS, CLASS_INET, s.ttl, NS(s.key)) for s in addrs))
        return ns, [_address(s.key, s, s.host_type()) for s in addrs], []
    # Any other type: a fake A lookup tells NODATA from NXDOMAIN.
    address_records(k, zone, q_name, TYPE_A)
    return [], [], []


def serve_dns(k: Kubernetes, req: Message) -> Answer | Forward:
    """ServeDNS for one well-formed query."""
    q = req.question[0]
    zone = k.zone_of(q.name)
    if not zone:
        return Forward(req)
    size = max_udp_size(req)
    if q.qtype in (TYPE_AXFR, TYPE_IXFR) or q.qclass != CLASS_INET:
        return Answer(reply_to(req, RCODE_REFUSED), size)
    try:
        records, extra, chase = _lookup(k, zone, q.name, q.qtype)
    except NXDomain:
        if zone in REVERSE_ZONES:
            return Forward(req)  # `fallthrough in-addr.arpa ip6.arpa`
        return Answer(_backend_error(k, zone, req, RCODE_NXDOMAIN), size)
    if not records:
        return Answer(_backend_error(k, zone, req, RCODE_NOERROR), size)
    m = reply_to(req)
    m = replace(m, header=replace(m.header, aa=True, ra=True))
    answer = tuple(dict.fromkeys(records))  # dnsutil.Dedup
    additional = (*dict.fromkeys(extra), *m.additional)
    return Answer(replace(m, answer=answer, additional=additional), size, tuple(chase))


def _backend_error(k: Kubernetes, zone: str, req: Message, rcode: int) -> Message:
    """BackendError: the rcode, AA set, and the zone's SOA for negative caching (RFC 2308)."""
    m = reply_to(req, rcode)
    m = replace(m, header=replace(m.header, aa=True))
    return replace(m, authority=(soa_record(k, zone),))


def _reject(header: Header, rcode: int) -> Answer:
    h = Header(id=header.id, qr=True, opcode=header.opcode, rd=header.rd, cd=header.cd, rcode=rcode)
    return Answer(Message(h))


def handle_packet(k: Kubernetes, data: bytes) -> Answer | Forward | None:
    """One received packet to its outcome; never raises. None means: drop it silently."""
    try:
        header, (qd, an, ns, ar) = unpack_header(data)
    except FormatError:
        return None  # not even a header: nobody to answer
    if header.qr:
        return None  # a response sent to a server is ignored (MsgIgnore)
    if header.opcode != OPCODE_QUERY:
        return _reject(header, RCODE_NOTIMP)
    if qd != 1 or an > 1 or ns > 1 or ar > 2:
        return _reject(header, RCODE_FORMERR)  # acceptfunc.go's MsgReject
    try:
        req = unpack(data)
    except FormatError:
        return _reject(header, RCODE_FORMERR)
    return serve_dns(k, req)
