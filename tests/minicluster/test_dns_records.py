"""The kubernetes plugin core over in-memory caches: a table of queries and their answers.

Each row cites the section of the Kubernetes DNS specification (kubernetes/dns
docs/specification.md) or the CoreDNS behaviour (plugin/kubernetes) it checks.
The caches are real miniclient Stores, filled by hand instead of by informers.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi.core.v1 import Namespace, ObjectReference, Service, ServicePort, ServiceSpec
from miniapi.discovery.v1 import Endpoint, EndpointConditions, EndpointPort, EndpointSlice
from miniapi.meta.v1 import ObjectMeta
from miniclient.cache.index import NAMESPACE_INDEX, meta_namespace_index_func
from miniclient.cache.store import Store, deletion_handling_meta_namespace_key_func
from minicluster.dns import rdata as rd
from minicluster.dns.controller import DNSControl
from minicluster.dns.handler import Answer, Forward, handle_packet
from minicluster.dns.kubernetes import Kubernetes
from minicluster.dns.message import RR, Header, Message, Question, pack, unpack

ZONES = ["cluster.local", "in-addr.arpa", "ip6.arpa"]
NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA"}
NAMES |= {33: "SRV", 252: "AXFR"}
TYPES = {v: k for k, v in NAMES.items()}
RCODES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 1: "FORMERR"}


def _store() -> Store:
    return Store(
        deletion_handling_meta_namespace_key_func, {NAMESPACE_INDEX: meta_namespace_index_func}
    )


def service(ns: str, name: str, ips: list[str], ports=(), **spec) -> Service:
    ports = [ServicePort(name=n, protocol=p, port=port) for n, p, port in ports]
    ip = ips[0] if ips else ""
    return Service(
        metadata=ObjectMeta(name=name, namespace=ns),
        spec=ServiceSpec(cluster_ip=ip, cluster_ips=ips, ports=ports, **spec),
    )


def endpoint(ip: str, ready: bool | None = True, hostname: str | None = None) -> Endpoint:
    ref = ObjectReference(kind="Pod", name=f"pod-{ip.replace('.', '-')}")
    return Endpoint(
        addresses=[ip],
        hostname=hostname,
        conditions=EndpointConditions(ready=ready),
        target_ref=ref,
    )


def endpoint_slice(ns: str, svc: str, endpoints: list[Endpoint], ports=()) -> EndpointSlice:
    return EndpointSlice(
        metadata=ObjectMeta(
            name=f"{svc}-abcde", namespace=ns, labels={"kubernetes.io/service-name": svc}
        ),
        address_type="IPv4",
        endpoints=endpoints,
        ports=[EndpointPort(name=n, protocol=p, port=port) for n, p, port in ports],
    )


def make_cluster() -> tuple[Kubernetes, DNSControl]:
    services, slices, namespaces = _store(), _store(), _store()
    for ns in ("default", "kube-system", "prod"):
        namespaces.add(Namespace(metadata=ObjectMeta(name=ns)))
    for svc in (
        service("default", "web", ["10.96.0.10"], [("http", "TCP", 80), ("dns-udp", "UDP", 53)]),
        service("default", "db", ["None"], [("pg", "TCP", 5432)]),
        service("default", "empty", ["None"], [("x", "TCP", 1)]),
        service("default", "bare", ["None"]),
        service("default", "ext", [], type="ExternalName", external_name="www.example.com"),
        service(
            "default",
            "alias",
            [],
            type="ExternalName",
            external_name="web.default.svc.cluster.local",
        ),
        service("kube-system", "kube-dns", ["10.96.0.53"], [("dns", "UDP", 53)]),
        service("prod", "v6", ["fd00::10"], [("http", "TCP", 80)]),
    ):
        services.add(svc)
    db = [endpoint("10.244.1.5", hostname="db-0"), endpoint("10.244.2.6", ready=None)]
    db.append(endpoint("10.244.2.7", ready=False))
    slices.add(endpoint_slice("default", "db", db, [("pg", "TCP", 5432)]))
    slices.add(endpoint_slice("default", "bare", [endpoint("10.244.3.3")]))
    slices.add(
        endpoint_slice("kube-system", "kube-dns", [endpoint("10.244.0.2")], [("dns", "UDP", 53)])
    )
    ctl = DNSControl(services, slices, namespaces)
    ctl.modified = 1700000000
    return Kubernetes(ZONES, ctl, local_ips=("10.244.0.2",)), ctl


def rdata_text(r: rd.RData) -> str:
    match r:
        case rd.A(address=a) | rd.AAAA(address=a):
            return a
        case rd.CNAME(target=n) | rd.PTR(ptr=n) | rd.NS(ns=n):
            return n
        case rd.SRV():
            return f"{r.priority} {r.weight} {r.port} {r.target}"
        case rd.SOA():
            return f"{r.ns} {r.mbox} {r.serial} {r.refresh} {r.retry} {r.expire} {r.minttl}"
        case rd.TXT(strings=s):
            return " ".join(f'"{x.decode()}"' for x in s)
    return repr(r)


def text(rr: RR) -> str:
    return f"{rr.name} {rr.ttl} {NAMES.get(rr.rtype, rr.rtype)} {rdata_text(rr.rdata)}"


def ask(k: Kubernetes, name: str, qtype: str) -> Answer | Forward | None:
    req = Message(Header(id=4242, rd=True), (Question(name, TYPES[qtype]),))
    return handle_packet(k, pack(req))


SOA = "cluster.local. 5 SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 5"
SVC = "default.svc.cluster.local."

# (query name, type) -> (rcode, answer section, additional section); authority is checked
# separately: the SOA accompanies every NXDOMAIN and NODATA.
TABLE = [
    # 2.3.1: a ClusterIP service's A record
    ("web." + SVC, "A", "NOERROR", [f"web.{SVC} 5 A 10.96.0.10"], []),
    # 2.1: comparisons are case-insensitive; the owner keeps the asker's case
    ("WEB.Default.SVC.cluster.local.", "A", "NOERROR", ["WEB.Default.SVC.cluster.local. 5 A 10.96.0.10"], []),
    # 2.3.2: SRV per named port, target the service name, its A in the additional section
    ("_http._tcp.web." + SVC, "SRV", "NOERROR", [f"_http._tcp.web.{SVC} 5 SRV 0 100 80 web.{SVC}"], [f"web.{SVC} 5 A 10.96.0.10"]),
    ("_dns-udp._udp.web." + SVC, "SRV", "NOERROR", [f"_dns-udp._udp.web.{SVC} 5 SRV 0 100 53 web.{SVC}"], [f"web.{SVC} 5 A 10.96.0.10"]),
    # CoreDNS: a port/protocol pair the service lacks is a name error
    ("_http._udp.web." + SVC, "SRV", "NXDOMAIN", [], []),
    # CoreDNS: the name exists, the type does not: NODATA
    ("web." + SVC, "AAAA", "NOERROR", [], []),
    ("web." + SVC, "TXT", "NOERROR", [], []),
    ("web." + SVC, "MX", "NOERROR", [], []),
    # 2.4.1: a headless service's A records are its ready endpoints (unset ready counts)
    ("db." + SVC, "A", "NOERROR", [f"db.{SVC} 5 A 10.244.1.5", f"db.{SVC} 5 A 10.244.2.6"], []),
    ("db-0.db." + SVC, "A", "NOERROR", [f"db-0.db.{SVC} 5 A 10.244.1.5"], []),
    # endpoints without a hostname are named by their dashed IP (CoreDNS endpointHostname)
    ("10-244-2-6.db." + SVC, "A", "NOERROR", [f"10-244-2-6.db.{SVC} 5 A 10.244.2.6"], []),
    ("10-244-2-7.db." + SVC, "A", "NXDOMAIN", [], []),  # not ready
    # 2.4.2: N ready endpoints x M named ports SRV records, weights sharing 100
    (
        "_pg._tcp.db." + SVC,
        "SRV",
        "NOERROR",
        [f"_pg._tcp.db.{SVC} 5 SRV 0 50 5432 db-0.db.{SVC}", f"_pg._tcp.db.{SVC} 5 SRV 0 50 5432 10-244-2-6.db.{SVC}"],
        [f"db-0.db.{SVC} 5 A 10.244.1.5", f"10-244-2-6.db.{SVC} 5 A 10.244.2.6"],
    ),
    # 2.4.1: no ready endpoints -> NXDOMAIN
    ("empty." + SVC, "A", "NXDOMAIN", [], []),
    # a slice without ports answers A, but has no SRV (port -1)
    ("bare." + SVC, "A", "NOERROR", [f"bare.{SVC} 5 A 10.244.3.3"], []),
    ("bare." + SVC, "SRV", "NOERROR", [], []),
    # 2.5: ExternalName is a CNAME (its target resolved upstream by the server)
    ("ext." + SVC, "A", "NOERROR", [f"ext.{SVC} 5 CNAME www.example.com."], []),
    ("ext." + SVC, "CNAME", "NOERROR", [f"ext.{SVC} 5 CNAME www.example.com."], []),
    ("_http._tcp.ext." + SVC, "SRV", "NOERROR", [], []),
    # a CNAME into the zone is followed (backend_lookup.go A)
    ("alias." + SVC, "A", "NOERROR", [f"alias.{SVC} 5 CNAME web.{SVC}", f"web.{SVC} 5 A 10.96.0.10"], []),
    # 2.6: pod A records, "pods insecure": any dashed IP in an existing namespace
    ("10-1-2-3.default.pod.cluster.local.", "A", "NOERROR", ["10-1-2-3.default.pod.cluster.local. 5 A 10.1.2.3"], []),
    ("fd00--1.default.pod.cluster.local.", "AAAA", "NOERROR", ["fd00--1.default.pod.cluster.local. 5 AAAA fd00::1"], []),
    ("10-1-2-3.nosuch.pod.cluster.local.", "A", "NXDOMAIN", [], []),
    ("not-an-ip.default.pod.cluster.local.", "A", "NXDOMAIN", [], []),
    ("nope." + SVC, "A", "NXDOMAIN", [], []),
    ("nope." + SVC, "MX", "NXDOMAIN", [], []),
    ("a.b.c.web." + SVC, "A", "NXDOMAIN", [], []),  # too many labels
    ("web.default.foo.cluster.local.", "A", "NXDOMAIN", [], []),  # neither svc nor pod
    # the namespace and zone levels exist but hold no records
    (SVC, "A", "NOERROR", [], []),
    ("nosuch.svc.cluster.local.", "A", "NXDOMAIN", [], []),
    ("svc.cluster.local.", "A", "NOERROR", [], []),
    ("cluster.local.", "A", "NOERROR", [], []),
    ("cluster.local.", "SOA", "NOERROR", [SOA], []),
    # CoreDNS nsAddrs: the service whose endpoint is this server's own IP
    ("cluster.local.", "NS", "NOERROR", ["cluster.local. 5 NS kube-dns.kube-system.svc.cluster.local."], ["kube-dns.kube-system.svc.cluster.local. 5 A 10.96.0.53"]),
    # 2.2: the schema version
    ("dns-version.cluster.local.", "TXT", "NOERROR", ['dns-version.cluster.local. 28800 TXT "1.1.0"'], []),
    ("prod.svc.cluster.local.", "AAAA", "NOERROR", [], []),
    ("v6.prod.svc.cluster.local.", "AAAA", "NOERROR", ["v6.prod.svc.cluster.local. 5 AAAA fd00::10"], []),
    # 2.3.3 and 2.4.3: PTR for a ClusterIP and for a ready endpoint
    ("10.0.96.10.in-addr.arpa.", "PTR", "NOERROR", [f"10.0.96.10.in-addr.arpa. 5 PTR web.{SVC}"], []),
    ("5.1.244.10.in-addr.arpa.", "PTR", "NOERROR", [f"5.1.244.10.in-addr.arpa. 5 PTR db-0.db.{SVC}"], []),
    ("cluster.local.", "AXFR", "REFUSED", [], []),
]  # fmt: skip


@pytest.mark.parametrize(
    "name,qtype,rcode,answer,additional", TABLE, ids=[f"{r[0]}/{r[1]}" for r in TABLE]
)
def test_query_table(name, qtype, rcode, answer, additional) -> None:  # fmt: skip
    k, _ = make_cluster()
    out = ask(k, name, qtype)
    assert isinstance(out, Answer)
    m = unpack(pack(out.message))  # what goes on the wire, read back
    assert m.header.id == 4242 and m.header.qr and m.header.rd
    assert RCODES[m.header.rcode] == rcode
    assert m.question == (Question(name, TYPES[qtype]),)
    assert [text(rr) for rr in m.answer] == answer
    assert [text(rr) for rr in m.additional] == additional
    negative = not answer and rcode in ("NOERROR", "NXDOMAIN")
    assert [text(rr) for rr in m.authority] == ([SOA] if negative else [])
    # ServeDNS sets AA and RA on answers; BackendError sets only AA; REFUSED neither.
    assert m.header.aa == (rcode != "REFUSED")
    assert m.header.ra == bool(answer)


@pytest.mark.parametrize(
    "name,qtype",
    [
        ("example.com.", "A"),  # outside every zone
        ("9.9.9.9.in-addr.arpa.", "PTR"),  # fallthrough in-addr.arpa
        ("168.192.in-addr.arpa.", "PTR"),
        ("9.9.9.9.in-addr.arpa.", "A"),
    ],
)
def test_names_outside_the_zone_go_upstream(name: str, qtype: str) -> None:
    k, _ = make_cluster()
    out = ask(k, name, qtype)
    assert isinstance(out, Forward)
    assert out.request.question[0].name == name


def test_external_name_records_what_to_resolve_upstream() -> None:
    k, _ = make_cluster()
    out = ask(k, "ext." + SVC, "A")
    assert isinstance(out, Answer) and out.chase == (("www.example.com.", rd.TYPE_A),)


def test_answers_follow_the_caches() -> None:
    """Informer events change the Stores; the next query sees the change."""
    k, ctl = make_cluster()
    ctl.services.add(service("default", "new", ["10.96.0.99"], [("http", "TCP", 80)]))
    assert [text(r) for r in ask(k, "new." + SVC, "A").message.answer] == [
        f"new.{SVC} 5 A 10.96.0.99"
    ]
    ctl.endpoint_slices.delete(endpoint_slice("default", "db", []))
    assert ask(k, "db." + SVC, "A").message.header.rcode == 3
    ctl.namespaces.delete(Namespace(metadata=ObjectMeta(name="default")))
    assert ask(k, "web." + SVC, "A").message.header.rcode == 3


def _raw(header: Header, counts: tuple[int, int, int, int], body: bytes = b"") -> bytes:
    import struct

    return struct.pack("!HHHHHH", header.id, header.flags(), *counts) + body


QUESTION = b"\x03web\x07default\x03svc\x07cluster\x05local\x00\x00\x01\x00\x01"


@pytest.mark.parametrize(
    "packet,rcode",
    [
        (_raw(Header(id=1, opcode=2), (1, 0, 0, 0), QUESTION), "NOTIMP"),  # STATUS
        (_raw(Header(id=1), (0, 0, 0, 0)), "FORMERR"),  # no question
        (_raw(Header(id=1), (2, 0, 0, 0), QUESTION * 2), "FORMERR"),
        (_raw(Header(id=1), (1, 0, 0, 3), QUESTION), "FORMERR"),
        (_raw(Header(id=1), (1, 0, 0, 0), QUESTION[:-3]), "FORMERR"),  # truncated
        (_raw(Header(id=1), (1, 0, 0, 0), QUESTION + b"junk"), "FORMERR"),
    ],
)
def test_requests_rejected_before_lookup(packet: bytes, rcode: str) -> None:
    k, _ = make_cluster()
    out = handle_packet(k, packet)
    assert isinstance(out, Answer)
    m = unpack(pack(out.message))
    assert RCODES[m.header.rcode] == rcode and m.header.id == 1 and m.header.qr


def test_short_packets_and_responses_are_dropped() -> None:
    k, _ = make_cluster()
    assert handle_packet(k, b"\x00\x01\x00") is None
    assert handle_packet(k, _raw(Header(id=1, qr=True), (1, 0, 0, 0), QUESTION)) is None


@given(st.binary(max_size=300), st.sampled_from(["", "web", "db", "x"]))
@settings(max_examples=150, deadline=None)
def test_any_packet_gets_a_packable_reply_or_none(tail: bytes, label: str) -> None:
    """Malformed input gives FORMERR (or silence), never an exception."""
    k, _ = make_cluster()
    head = _raw(Header(id=7), (1, 0, 0, 0), bytes([len(label)]) + label.encode())
    for packet in (tail, head + tail):
        out = handle_packet(k, packet)
        if isinstance(out, Answer):
            unpack(pack(out.message))


def test_an_external_name_that_is_no_domain_name_has_no_record() -> None:
    k, ctl = make_cluster()
    for i, bad in enumerate(["a..b", "x" * 64 + ".com", ""]):
        ctl.services.add(service("default", f"bad{i}", [], type="ExternalName", external_name=bad))
        out = ask(k, f"bad{i}." + SVC, "A")
        assert out.message.header.rcode == 3 and out.message.answer == ()


svc_names = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True), min_size=1, max_size=5)


@given(svc_names, st.data())
@settings(max_examples=30, deadline=None)
def test_random_clusters_answer_what_their_objects_say(names: list[str], data) -> None:
    """ClusterIP: A is the IP and PTR leads back; headless: A is the ready set, else NXDOMAIN."""
    services, slices, namespaces = _store(), _store(), _store()
    namespaces.add(Namespace(metadata=ObjectMeta(name="ns")))
    k = Kubernetes(ZONES, DNSControl(services, slices, namespaces))
    for i, name in enumerate(dict.fromkeys(names)):
        fqdn = f"{name}.ns.svc.cluster.local."
        if data.draw(st.booleans()):
            ip = f"10.96.{i}.{data.draw(st.integers(1, 254))}"
            services.add(service("ns", name, [ip], [("http", "TCP", 80)]))
            assert [text(r) for r in ask(k, fqdn, "A").message.answer] == [f"{fqdn} 5 A {ip}"]
            ptr = ask(k, ".".join(reversed(ip.split("."))) + ".in-addr.arpa.", "PTR")
            assert [rdata_text(r.rdata) for r in ptr.message.answer] == [fqdn]
            continue
        ready = data.draw(st.lists(st.booleans() | st.none(), max_size=4))
        eps = [endpoint(f"10.244.{i}.{j + 1}", ready=r) for j, r in enumerate(ready)]
        services.add(service("ns", name, ["None"], [("http", "TCP", 80)]))
        slices.add(endpoint_slice("ns", name, eps, [("http", "TCP", 80)]))
        want = sorted(e.addresses[0] for e in eps if e.conditions.ready is not False)
        m = ask(k, fqdn, "A").message
        assert sorted(rdata_text(r.rdata) for r in m.answer) == want
        assert m.header.rcode == (0 if want else 3)
    assert ask(k, "zzzzzzzzz.ns.svc.cluster.local.", "A").message.header.rcode == 3
