"""The per-service part of the iptables sync: captures, policy chains, endpoint chains.

Mirrors the service loop of k8s.io/kubernetes pkg/proxy/iptables/proxier.go
syncProxyRules and writeServiceToEndpointRules: the KUBE-SERVICES / KUBE-NODEPORTS
captures, the filter-table REJECT/DROP rules, and the KUBE-SVC/SVL/EXT/FW/SEP chains with
the statistic ladder (computeProbability) and ClientIP affinity via the recent match.
"""

from __future__ import annotations

import ipaddress

from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.iptables_chains import (
    KUBE_EXTERNAL_SERVICES,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_PROXY_FIREWALL,
    KUBE_SERVICES,
)
from miniproxy.kubeproxy.topology import categorize_endpoints
from miniproxy.kubeproxy.types import AFFINITY_CLIENT_IP, EndpointInfo, ProxyConfig, ServicePortInfo


def compute_probability(n: int) -> str:
    """computeProbability: 1/n with ten decimals, as the statistic match takes it."""
    return f"{1.0 / n:0.10f}"


def line(buf: list[str], *words: str) -> None:
    buf.append(" ".join(words))


def _write_service_to_endpoint_rules(
    rules: list[str], name: str, svc: ServicePortInfo, chain: str,
    endpoints: list[EndpointInfo], sep: dict[str, str], comments: bool,
) -> None:  # fmt: skip
    """writeServiceToEndpointRules: affinity checks, then the probability ladder."""
    if svc.session_affinity_type == AFFINITY_CLIENT_IP:
        for ep in endpoints:
            args = ["-A", chain]
            if comments:
                args += ["-m", "comment", "--comment", f'"{name} -> {ep}"']
            args += ["-m", "recent", "--name", sep[str(ep)], "--rcheck", "--seconds"]
            args += [str(svc.sticky_max_age_seconds), "--reap", "-j", sep[str(ep)]]
            line(rules, *args)
    n = len(endpoints)
    for i, ep in enumerate(endpoints):
        args = ["-A", chain]
        if comments:
            args += ["-m", "comment", "--comment", f'"{name} -> {ep}"']
        if i < n - 1:
            # Rule i catches 1/(n-i) of what the earlier rules left: uniform overall.
            args += [
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                compute_probability(n - i),
            ]
        line(rules, *args, "-j", sep[str(ep)])


def _sep_names(spn, endpoints: list[EndpointInfo]) -> dict[str, str]:
    return {str(ep): names.sep_chain(spn, ep) for ep in endpoints}


class ServiceRules:
    """The per-service decisions of syncProxyRules (policy chains, filter verdicts)."""

    def __init__(self, svc: ServicePortInfo, endpoints: list[EndpointInfo], cfg: ProxyConfig):
        spn = svc.name
        self.svc, self.proto, self.name = svc, svc.lower_protocol, str(spn)
        cat = categorize_endpoints(endpoints, svc, cfg.zone)
        self.cluster_eps, self.local_eps, self.all_eps = cat.cluster, cat.local, cat.all_reachable
        self.has_endpoints = cat.has_any
        self.svc_chain, self.svl_chain = names.svc_chain(spn), names.svl_chain(spn)
        self.ext_chain, self.fw_chain = names.ext_chain(spn), names.fw_chain(spn)
        self.uses_cluster = bool(self.cluster_eps) and svc.uses_cluster_endpoints()
        self.uses_local = bool(self.local_eps) and svc.uses_local_endpoints()
        self.internal_chain = self.svl_chain if svc.internal_policy_local else self.svc_chain
        self.has_internal = self.has_endpoints and not (
            svc.internal_policy_local and not self.local_eps
        )
        self.external_policy_chain = self.svl_chain if svc.external_policy_local else self.svc_chain
        self.has_external = self.has_endpoints and not (
            svc.external_policy_local and not self.local_eps
        )
        self.uses_ext = self.has_endpoints and svc.externally_accessible()
        self.uses_fw = (
            self.has_endpoints
            and bool(svc.load_balancer_vips)
            and bool(svc.load_balancer_source_ranges)
        )
        self.lb_chain = self.fw_chain if self.uses_fw else self.ext_chain
        no_eps = f'"{self.name} has no endpoints"'
        no_local = f'"{self.name} has no local endpoints"'
        self.internal_filter = ("REJECT", no_eps) if not self.has_endpoints else ("DROP", no_local)
        self.external_filter = (
            self.internal_filter if not self.has_endpoints else ("DROP", no_local)
        )
        self.sep = _sep_names(spn, self.all_eps)

    def match(self, ip: str, port: int) -> list[str]:
        return ["-m", self.proto, "-p", self.proto, "-d", ip, "--dport", str(port)]


def write_captures(b, s: ServiceRules, cfg: ProxyConfig) -> None:  # b: iptables_proxier._Buffers
    """KUBE-SERVICES / KUBE-NODEPORTS captures and the filter-table REJECT/DROP rules."""
    svc, nat, flt = s.svc, b.nat_rules, b.filter_rules
    if s.has_internal:
        line(nat, "-A", KUBE_SERVICES, "-m", "comment", "--comment", f'"{s.name} cluster IP"',
              *s.match(svc.cluster_ip, svc.port), "-j", s.internal_chain)  # fmt: skip
    else:
        target, comment = s.internal_filter
        line(flt, "-A", KUBE_SERVICES, "-m", "comment", "--comment", comment,
              *s.match(svc.cluster_ip, svc.port), "-j", target)  # fmt: skip
    ext_target, ext_comment = s.external_filter
    for ip in svc.external_ips:
        if s.has_endpoints:
            line(nat, "-A", KUBE_SERVICES, "-m", "comment", "--comment", f'"{s.name} external IP"',
                  *s.match(ip, svc.port), "-j", s.ext_chain)  # fmt: skip
        if not s.has_external:
            line(flt, "-A", KUBE_EXTERNAL_SERVICES, "-m", "comment", "--comment", ext_comment,
                  *s.match(ip, svc.port), "-j", ext_target)  # fmt: skip
    for ip in svc.load_balancer_vips:
        if s.has_endpoints:
            line(nat, "-A", KUBE_SERVICES, "-m", "comment", "--comment", f'"{s.name} loadbalancer IP"',
                  *s.match(ip, svc.port), "-j", s.lb_chain)  # fmt: skip
        if s.uses_fw:
            comment = f'"{s.name} traffic not accepted by {s.fw_chain}"'
            line(flt, "-A", KUBE_PROXY_FIREWALL, "-m", "comment", "--comment", comment,
                  *s.match(ip, svc.port), "-j", "DROP")  # fmt: skip
    if not s.has_external:
        for ip in svc.load_balancer_vips:
            line(flt, "-A", KUBE_EXTERNAL_SERVICES, "-m", "comment", "--comment", ext_comment,
                  *s.match(ip, svc.port), "-j", ext_target)  # fmt: skip
    if svc.node_port:
        proto = ["-m", s.proto, "-p", s.proto, "--dport", str(svc.node_port)]
        if s.has_endpoints:
            line(
                nat,
                "-A",
                KUBE_NODEPORTS,
                "-m",
                "comment",
                "--comment",
                s.name,
                *proto,
                "-j",
                s.ext_chain,
            )
        if not s.has_external:
            line(flt, "-A", KUBE_EXTERNAL_SERVICES, "-m", "comment", "--comment", ext_comment,
                  "-m", "addrtype", "--dst-type", "LOCAL", *proto, "-j", ext_target)  # fmt: skip
    if svc.health_check_node_port:
        line(flt, "-A", KUBE_NODEPORTS, "-m", "comment", "--comment",
              f'"{s.name} health check node port"', "-m", "tcp", "-p", "tcp",
              "--dport", str(svc.health_check_node_port), "-j", "ACCEPT")  # fmt: skip


def _write_internal_and_external(
    chains: list[str], rules: list[str], s: ServiceRules, cfg: ProxyConfig
) -> set[str]:
    """Masquerade rules of the internal chain, and the KUBE-EXT chain."""
    active: set[str] = set()
    svc = s.svc
    if s.has_internal:
        args = [
            "-m",
            "comment",
            "--comment",
            f'"{s.name} cluster IP"',
            *s.match(svc.cluster_ip, svc.port),
        ]
        if cfg.masquerade_all:
            line(rules, "-A", s.internal_chain, *args, "-j", KUBE_MARK_MASQ)
        elif cfg.cluster_cidr:
            # Off-cluster sources reaching a ClusterIP may bounce off-node: masquerade them.
            line(
                rules,
                "-A",
                s.internal_chain,
                *args,
                "!",
                "-s",
                cfg.cluster_cidr,
                "-j",
                KUBE_MARK_MASQ,
            )
    if not s.uses_ext:
        return active
    chains.append(f":{s.ext_chain} - [0:0]")
    active.add(s.ext_chain)
    if not svc.external_policy_local:
        line(rules, "-A", s.ext_chain, "-m", "comment", "--comment",
              f'"masquerade traffic for {s.name} external destinations"', "-j", KUBE_MARK_MASQ)  # fmt: skip
    else:
        if cfg.cluster_cidr:
            line(rules, "-A", s.ext_chain, "-m", "comment", "--comment",
                  f'"pod traffic for {s.name} external destinations"', "-s", cfg.cluster_cidr,
                  "-j", s.svc_chain)  # fmt: skip
        line(rules, "-A", s.ext_chain, "-m", "comment", "--comment",
              f'"masquerade LOCAL traffic for {s.name} external destinations"',
              "-m", "addrtype", "--src-type", "LOCAL", "-j", KUBE_MARK_MASQ)  # fmt: skip
        line(rules, "-A", s.ext_chain, "-m", "comment", "--comment",
              f'"route LOCAL traffic for {s.name} external destinations"',
              "-m", "addrtype", "--src-type", "LOCAL", "-j", s.svc_chain)  # fmt: skip
    if s.has_external:
        line(rules, "-A", s.ext_chain, "-j", s.external_policy_chain)
    return active


def _write_firewall(
    chains: list[str], rules: list[str], s: ServiceRules, cfg: ProxyConfig
) -> set[str]:
    """KUBE-FW: loadBalancerSourceRanges; what falls through is dropped in filter."""
    if not s.uses_fw:
        return set()
    chains.append(f":{s.fw_chain} - [0:0]")
    head = ["-A", s.fw_chain, "-m", "comment", "--comment", f'"{s.name} loadbalancer IP"']
    allow_from_node = False
    for cidr in s.svc.load_balancer_source_ranges:
        line(rules, *head, "-s", cidr, "-j", s.ext_chain)
        allow_from_node = allow_from_node or any(_contains(cidr, ip) for ip in cfg.node_ips[:1])
    if allow_from_node:
        for ip in s.svc.load_balancer_vips:
            line(rules, *head, "-s", ip, "-j", s.ext_chain)
    line(rules, "-A", s.fw_chain, "-m", "comment", "--comment",
          f'"other traffic to {s.name} will be dropped by KUBE-PROXY-FIREWALL"')  # fmt: skip
    return {s.fw_chain}


def _contains(cidr: str, ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def write_service_chains(
    chains: list[str], rules: list[str], s: ServiceRules, cfg: ProxyConfig, comments: bool
) -> set[str]:
    """The SVC/SVL policy chains and one SEP chain per locally reachable endpoint."""
    active = _write_internal_and_external(chains, rules, s, cfg)
    active |= _write_firewall(chains, rules, s, cfg)
    for used, chain, eps in (
        (s.uses_cluster, s.svc_chain, s.cluster_eps),
        (s.uses_local, s.svl_chain, s.local_eps),
    ):
        if used:
            chains.append(f":{chain} - [0:0]")
            active.add(chain)
            _write_service_to_endpoint_rules(rules, s.name, s.svc, chain, eps, s.sep, comments)
    for ep in s.all_eps:
        chain = s.sep[str(ep)]
        chains.append(f":{chain} - [0:0]")
        active.add(chain)
        args = ["-A", chain] + (["-m", "comment", "--comment", s.name] if comments else [])
        # Hairpin: a pod reaching itself through its service must be masqueraded.
        line(rules, *args, "-s", ep.ip, "-j", KUBE_MARK_MASQ)
        if s.svc.session_affinity_type == AFFINITY_CLIENT_IP:
            args += ["-m", "recent", "--name", chain, "--set"]
        line(rules, *args, "-m", s.proto, "-p", s.proto, "-j", "DNAT", "--to-destination", str(ep))
    return active
