"""The kubernetes plugin's backend: which records a name in the cluster zone stands for.

Mirrors coredns/coredns plugin/kubernetes/kubernetes.go (Services, Records,
findServices, findPods, endpointHostname, matchPortAndProtocol, the default TTL
of 5 s and schema version 1.1.0), reverse.go (Reverse, serviceRecordForIP), ns.go
(nsAddrs, isDefaultNS) and plugin/etcd/msg's Service, the neutral record the
lookups return before handler.py turns it into resource records. The answers
follow the Kubernetes DNS specification (kubernetes/dns docs/specification.md).
Pure: it reads a DNSControl, never a socket or a clock.
Omitted: pod mode "verified" (pods are answered "insecure", as kubeadm's Corefile
configures CoreDNS), autopath, multicluster and zonal names, the `namespaces`,
`labels` and `ignore empty_service` options, endpoint_pod_names.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from minicluster.dns.controller import DNSControl, EndpointAddress, service_key
from minicluster.dns.parse import POD, SVC, InvalidRequest, RecordRequest, parse_request
from minicluster.dns.rdata import TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_NS, TYPE_SRV, TYPE_TXT
from minicluster.dns.wire import is_subdomain, name_to_labels

__all__ = [
    "DEFAULT_TTL",
    "DNS_SCHEMA_VERSION",
    "POD_MODE_DISABLED",
    "POD_MODE_INSECURE",
    "Kubernetes",
    "MsgService",
    "NXDomain",
    "endpoint_hostname",
    "extract_address_from_reverse",
]

DEFAULT_TTL = 5
DNS_SCHEMA_VERSION = "1.1.0"
POD_MODE_DISABLED = "disabled"
POD_MODE_INSECURE = "insecure"
DEFAULT_NS_NAME = "ns.dns."
REVERSE_ZONES = ("in-addr.arpa.", "ip6.arpa.")


class NXDomain(LookupError):
    """errNoItems, errNsNotExposed or errInvalidRequest: a name error, answered NXDOMAIN."""


@dataclass(frozen=True)
class MsgService:
    """msg.Service: a host (an IP, or a name for CNAME/PTR) under an owner name (key)."""

    host: str
    key: str
    port: int = 0
    ttl: int = DEFAULT_TTL
    text: str = ""

    def host_type(self) -> int:
        """HostType: A or AAAA when host is an address, CNAME when it is a name."""
        try:
            ip = ipaddress.ip_address(self.host)
        except ValueError:
            return TYPE_TXT if self.text else TYPE_CNAME
        return TYPE_A if ip.version == 4 else TYPE_AAAA


def _is_name(host: str) -> bool:
    """Whether host can be written as a domain name (an API object's text may not)."""
    try:
        return bool(name_to_labels(host))
    except ValueError:
        return False


def endpoint_hostname(addr: EndpointAddress) -> str:
    """The endpoint's hostname, else its IP with dashes (a-b-c-d) as the spec allows."""
    if addr.hostname:
        return addr.hostname
    if "." in addr.ip:
        return addr.ip.replace(".", "-")
    return addr.ip.replace(":", "-")


def match_port_and_protocol(a_port: str, b_port: str, a_proto: str, b_proto: str) -> bool:
    """An empty query side is a wildcard; otherwise case-insensitive equality."""
    port_ok = a_port == "" or a_port.lower() == b_port.lower()
    return port_ok and (a_proto == "" or a_proto.lower() == b_proto.lower())


def extract_address_from_reverse(name: str) -> str:
    """dnsutil.ExtractAddressFromReverse: 4.3.2.1.in-addr.arpa. -> 1.2.3.4, else ''."""
    labels = [label.decode("latin-1") for label in name_to_labels(name.lower())]
    if labels[-2:] == ["in-addr", "arpa"] and len(labels) == 6:
        text = ".".join(reversed(labels[:4]))
    elif labels[-2:] == ["ip6", "arpa"] and len(labels) == 34:
        nibbles = "".join(reversed(labels[:32]))
        text = ":".join(nibbles[i : i + 4] for i in range(0, 32, 4))
    else:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""


class Kubernetes:
    """The backend of the kubernetes plugin for a set of zones."""

    def __init__(
        self,
        zones: list[str],
        api_conn: DNSControl,
        ttl: int = DEFAULT_TTL,
        pod_mode: str = POD_MODE_INSECURE,
        local_ips: tuple[str, ...] = (),
    ) -> None:
        self.zones = [z.lower().rstrip(".") + "." for z in zones]
        self.api_conn = api_conn
        self.ttl = ttl
        self.pod_mode = pod_mode
        self.local_ips = local_ips

    def primary_zone(self) -> str:
        return next(z for z in self.zones if z not in REVERSE_ZONES)

    def zone_of(self, name: str) -> str:
        """plugin.Zones.Matches: the longest zone name is inside, or ''."""
        inside = [z for z in self.zones if is_subdomain(name, z)]
        return max(inside, key=len, default="")

    def serial(self) -> int:
        return self.api_conn.modified & 0xFFFFFFFF

    def namespace_exposed(self, namespace: str) -> bool:
        return self.api_conn.get_namespace_by_name(namespace)

    def services(self, name: str, qtype: int, zone: str) -> list[MsgService]:
        """Services: TXT dns-version, NS and ns.dns.<zone>, else Records (no CNAMEs for SRV)."""
        if qtype == TYPE_TXT:
            if name == "dns-version." + zone:
                return [MsgService(host="", key=name, ttl=28800, text=DNS_SCHEMA_VERSION)]
            return []
        if qtype == TYPE_NS:
            return [MsgService(ip, key, ttl=self.ttl) for key, ip in self.ns_addrs(zone)]
        if name == DEFAULT_NS_NAME + zone:
            addrs = [MsgService(ip, name, ttl=self.ttl) for _, ip in self.ns_addrs(zone)]
            return [s for s in addrs if s.host_type() == qtype]
        found = self.records(name, zone)
        if qtype != TYPE_SRV:
            return found
        return [s for s in found if s.host_type() != TYPE_CNAME]

    def records(self, name: str, zone: str) -> list[MsgService]:
        """Records: parse the name, then look up a pod or a service."""
        try:
            r = parse_request(name, zone)
        except InvalidRequest as exc:
            raise NXDomain("invalid query name") from exc
        if not r.pod_or_svc:
            return []
        if not self.namespace_exposed(r.namespace):
            raise NXDomain("namespace is not exposed")
        if r.pod_or_svc == POD:
            return self.find_pods(r, zone)
        return self.find_services(r, zone)

    def find_pods(self, r: RecordRequest, zone: str) -> list[MsgService]:
        """findPods in insecure mode: any dashed IP in an existing namespace is answered."""
        if self.pod_mode == POD_MODE_DISABLED:
            raise NXDomain("no items found")
        if not r.service:
            return []  # <ns>.pod.<zone>: NODATA
        podname = r.service
        if podname.count("-") == 3 and "--" not in podname:
            ip = podname.replace("-", ".")
        else:
            ip = podname.replace("-", ":")
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError as exc:
            raise NXDomain("no items found") from exc
        return [MsgService(ip, f"{podname}.{r.namespace}.{POD}.{zone}", ttl=self.ttl)]

    def find_services(self, r: RecordRequest, zone: str) -> list[MsgService]:
        """findServices: ExternalName, headless/endpoint, or ClusterIP records of one service."""
        if not r.service:
            return []  # <ns>.svc.<zone>: NODATA
        idx = service_key(r.service, r.namespace)
        found: list[MsgService] = []
        matched = False
        for svc in self.api_conn.svc_index(idx):
            base = f"{svc.name}.{svc.namespace}.{SVC}.{zone}"
            if svc.external:
                # External services cannot have endpoints, so an endpoint query skips them.
                if r.endpoint:
                    continue
                s = MsgService(svc.external_name.rstrip(".") + ".", base, ttl=self.ttl)
                if s.host_type() == TYPE_CNAME and _is_name(s.host):
                    found.append(s)
                    matched = True
                continue
            if svc.headless() or r.endpoint:
                hits = self._endpoint_records(r, idx, base)
                found += hits
                matched = matched or bool(hits)
                continue
            for port_name, protocol, port in svc.ports:
                if not match_port_and_protocol(r.port, port_name, r.protocol, protocol):
                    continue
                matched = True
                found += [MsgService(ip, base, port, self.ttl) for ip in svc.cluster_ips]
        if not matched:
            raise NXDomain("no items found")
        return found

    def _endpoint_records(self, r: RecordRequest, idx: str, base: str) -> list[MsgService]:
        out = []
        for ep in self.api_conn.ep_index(idx):
            for addr in ep.addresses:
                host = endpoint_hostname(addr)
                if r.endpoint and r.endpoint != host.lower():
                    continue
                for p in ep.ports:
                    if match_port_and_protocol(r.port, p.name, r.protocol, p.protocol):
                        out.append(MsgService(addr.ip, f"{host}.{base}", p.port, self.ttl))
        return out

    def reverse(self, name: str, zone: str) -> list[MsgService]:
        """Reverse: the service (or endpoint) names of the IP a PTR query spells."""
        ip = extract_address_from_reverse(name)
        if not ip:
            self.records(name, zone)  # only ever raises: a reverse zone name is no pod or svc
            return []
        found = self.service_record_for_ip(ip)
        if not found:
            raise NXDomain("no items found")
        return found

    def service_record_for_ip(self, ip: str) -> list[MsgService]:
        """serviceRecordForIP: a ClusterIP's service name first, else every endpoint's name."""
        zone = self.primary_zone()
        for svc in self.api_conn.svc_index_reverse(ip):
            return [MsgService(f"{svc.name}.{svc.namespace}.{SVC}.{zone}", "", ttl=self.ttl)]
        out = []
        for ep in self.api_conn.ep_index_reverse(ip):
            service = ep.index.split(".")[0]
            for addr in ep.addresses:
                if addr.ip == ip:
                    host = f"{endpoint_hostname(addr)}.{service}.{ep.namespace}.{SVC}.{zone}"
                    out.append(MsgService(host, "", ttl=self.ttl))
        return out

    def ns_addrs(self, zone: str) -> list[tuple[str, str]]:
        """nsAddrs: (name, IP) of the services whose endpoints are this server's own IPs."""
        out: list[tuple[str, str]] = []
        for local_ip in self.local_ips:
            for ep in self.api_conn.ep_index_reverse(local_ip):
                for svc in self.api_conn.svc_index(ep.index):
                    name = f"{svc.name}.{svc.namespace}.{SVC}.{zone}"
                    if svc.headless():
                        out += [(f"{endpoint_hostname(a)}.{name}", a.ip) for a in ep.addresses]
                    else:
                        out += [(name, ip) for ip in svc.cluster_ips]
        if not out:
            out = [(DEFAULT_NS_NAME + zone, ip) for ip in self.local_ips]
        return out
