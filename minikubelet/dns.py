"""A pod's resolver configuration: nameservers, search path and options per dnsPolicy.

Mirrors pkg/kubelet/network/dns/dns.go (Configurer.GetPodDNS: getPodDNSType,
generateSearchesForDNSClusterFirst, the MissingClusterDNS fall-back to Default,
appendDNSConfig with mergeDNSOptions, formDNSConfigFitsLimits with the
ExpandedDNSConfig limits, parseResolvConf) and the file containerd's CRI plugin writes
from it (internal/cri/server/sandbox_run.go's parseDNSOptions: search, nameserver,
options lines). Pure: the host's resolv.conf text comes in, the file text goes out.
Omitted: the node-level MissingClusterDNS and CheckLimitsForResolvConf events (events
here are the pod's), IPv6 node IPs for the empty --resolv-conf case.
Merged options keep first-seen order (upstream iterates a Go map: random order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from miniapi.core import v1

MAX_DNS_NAMESERVERS = 3
MAX_DNS_SEARCH_PATHS = 32
MAX_DNS_SEARCH_LIST_CHARS = 2048
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
DEFAULT_DNS_OPTIONS = ("ndots:5",)
POD_DNS_CLUSTER, POD_DNS_HOST, POD_DNS_NONE = "cluster", "host", "none"

Event = tuple[str, str, str]  # type, reason, message


@dataclass
class DNSConfig:
    """runtimeapi.DNSConfig: what ends up in the pod's /etc/resolv.conf."""

    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def parse_resolv_conf(text: str) -> DNSConfig:
    """nameserver lines accumulate; the last search and the last options line win."""
    out = DNSConfig()
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            out.servers.append(fields[1])
        elif fields[0] == "search":
            out.searches = [s.removesuffix(".") for s in fields[1:]]
        elif fields[0] == "options":
            out.options = fields[1:]
    return out


def omit_duplicates(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def get_pod_dns_type(pod: v1.Pod) -> str:
    policy = pod.spec.dns_policy or v1.DNS_CLUSTER_FIRST
    if policy == v1.DNS_NONE:
        return POD_DNS_NONE
    if policy == v1.DNS_CLUSTER_FIRST_WITH_HOST_NET:
        return POD_DNS_CLUSTER
    if policy == v1.DNS_CLUSTER_FIRST and not pod.spec.host_network:
        return POD_DNS_CLUSTER
    if policy in (v1.DNS_CLUSTER_FIRST, v1.DNS_DEFAULT):
        return POD_DNS_HOST  # ClusterFirst on the host network falls back to Default
    return POD_DNS_CLUSTER  # the API server rejects other values; upstream logs and does this


def generate_searches_for_dns_cluster_first(
    host_search: list[str], namespace: str, cluster_domain: str
) -> list[str]:
    if not cluster_domain:
        return host_search
    cluster = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]
    return omit_duplicates(cluster + host_search)


def merge_dns_options(existing: list[str], options: list[v1.PodDNSConfigOption]) -> list[str]:
    """name[:value] pairs; an option from dnsConfig replaces one of the same name."""
    merged: dict[str, str] = {}
    for op in existing:
        name, _, value = op.partition(":")
        merged[name] = value
    for op in options:
        merged[op.name] = op.value or ""
    return [f"{k}:{v}" if v else k for k, v in merged.items()]


def append_dns_config(cfg: DNSConfig, extra: v1.PodDNSConfig) -> DNSConfig:
    return DNSConfig(
        servers=omit_duplicates(cfg.servers + list(extra.nameservers)),
        searches=omit_duplicates(cfg.searches + list(extra.searches)),
        options=merge_dns_options(cfg.options, list(extra.options)),
    )


def form_dns_search_fits_limits(searches: list[str], events: list[Event]) -> list[str]:
    exceeded = len(searches) > MAX_DNS_SEARCH_PATHS
    searches = searches[:MAX_DNS_SEARCH_PATHS]
    kept = [s for s in searches if len(s) <= DNS1123_SUBDOMAIN_MAX_LENGTH]
    exceeded |= len(kept) != len(searches)
    while kept and len(" ".join(kept)) > MAX_DNS_SEARCH_LIST_CHARS:
        kept.pop()  # drop from the end until the line fits
        exceeded = True
    if exceeded:
        events.append(("Warning", "DNSConfigForming", "Search Line limits were exceeded, some "
                       "search paths have been omitted, the applied search line is: "
                       + " ".join(kept)))  # fmt: skip
    return kept


def form_dns_nameservers_fits_limits(servers: list[str], events: list[Event]) -> list[str]:
    if len(servers) > MAX_DNS_NAMESERVERS:
        servers = servers[:MAX_DNS_NAMESERVERS]
        events.append(("Warning", "DNSConfigForming", "Nameserver limits were exceeded, some "
                       "nameservers have been omitted, the applied nameserver line is: "
                       + " ".join(servers)))  # fmt: skip
    return servers


@dataclass(frozen=True)
class Configurer:
    """The kubelet's DNS settings: --cluster-dns, --cluster-domain, --resolv-conf."""

    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = ""
    resolver_config: str = "/etc/resolv.conf"

    def get_pod_dns(self, pod: v1.Pod, host: DNSConfig, events: list[Event]) -> DNSConfig:
        """GetPodDNS; `host` is the parsed --resolv-conf (empty when the flag is '')."""
        cfg = DNSConfig(list(host.servers), list(host.searches), list(host.options))
        kind = get_pod_dns_type(pod)
        if kind == POD_DNS_NONE:
            cfg = DNSConfig()
        elif kind == POD_DNS_CLUSTER and self.cluster_dns:
            # The cluster DNS server is the only nameserver: it forwards what it cannot answer.
            cfg.servers = list(self.cluster_dns)
            cfg.searches = generate_searches_for_dns_cluster_first(
                cfg.searches, pod.metadata.namespace, self.cluster_domain)  # fmt: skip
            cfg.options = list(DEFAULT_DNS_OPTIONS)
        else:
            if kind == POD_DNS_CLUSTER:
                m = pod.metadata
                events.append(("Warning", "MissingClusterDNS",
                               f'pod: "{m.name}_{m.namespace}({m.uid})". kubelet does not have '
                               'ClusterDNS IP configured and cannot create Pod using '
                               '"ClusterFirst" policy. Falling back to "Default" policy.'))  # fmt: skip
            if not self.resolver_config:
                cfg.servers, cfg.searches = ["127.0.0.1"], ["."]
        if pod.spec.dns_config is not None:
            cfg = append_dns_config(cfg, pod.spec.dns_config)
        cfg.servers = form_dns_nameservers_fits_limits(cfg.servers, events)
        cfg.searches = form_dns_search_fits_limits(cfg.searches, events)
        return cfg


def resolv_conf_content(cfg: DNSConfig) -> str:
    """The sandbox's resolv.conf as containerd writes it."""
    out = ""
    if cfg.searches:
        out += f"search {' '.join(cfg.searches)}\n"
    out += "".join(f"nameserver {s}\n" for s in cfg.servers)
    if cfg.options:
        out += f"options {' '.join(cfg.options)}\n"
    return out
