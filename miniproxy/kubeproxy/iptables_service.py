"""The per-service part of the iptables sync: captures, policy chains, endpoint chains.

Mirrors the service loop of k8s.io/kubernetes pkg/proxy/iptables/proxier.go
syncProxyRules and writeServiceToEndpointRules: the KUBE-SERVICES / KUBE-NODEPORTS
captures, the filter-table REJECT/DROP rules, and the KUBE-SVC/SVL/EXT/FW/SEP chains with
the statistic ladder (computeProbability) and ClientIP affinity via the recent match.
Input infos come prepared by the change trackers (port_info.py: chain names hashed,
one-object text built), so this is the per-sync decisions (usable endpoints, policies,
the ladder) and string building only: each rule is one f-string over precomputed
fragments, the ladder one join, and when every endpoint is used the endpoint list's own
joined KUBE-SEP text is taken as it is. The rare features (external IPs, load balancers,
NodePorts) sit in helpers that ClusterIP-only services never call.
"""

from __future__ import annotations

import functools
import ipaddress
import operator
from typing import NamedTuple

from miniproxy.kubeproxy.port_info import (
    IptablesEndpointInfo,
    IptablesEndpoints,
    IptablesServicePortInfo,
)
from miniproxy.kubeproxy.topology import Categorized, categorize
from miniproxy.kubeproxy.types import AFFINITY_CLIENT_IP, ProxyConfig


class ServiceBlock(NamedTuple):
    """One service port's rendered lines, each part pre-joined ("" when empty).

    The endpoints' own KUBE-SEP chains and rules are parts of their own: usually they are
    the text the endpoint list joined when it was tracked, used as it is. The block's
    active chains are the ones it declares, so they are not kept twice."""

    nat_captures: str
    filter_captures: str
    chains: str
    endpoint_chains: str
    rules: str
    ladders: str  # the KUBE-SVC / KUBE-SVL chains' rules to the endpoints
    endpoint_rules: str
    n_nat_captures: int
    n_filter_captures: int
    n_rules: int


def compute_probability(n: int) -> str:
    """computeProbability: 1/n with ten decimals, as the statistic match takes it."""
    return f"{1.0 / n:0.10f}"


@functools.lru_cache(maxsize=256)
def _ladder(n: int) -> tuple[str, ...]:
    """The statistic match of each rung: rule i catches 1/(n-i) of what is left, so the
    split is uniform; the last rung takes the rest and has no match."""
    rungs = tuple(
        f" -m statistic --mode random --probability {compute_probability(n - i)}"
        for i in range(n - 1)
    )
    return (*rungs, "")


_JUMP = operator.attrgetter("jump")  # " -j KUBE-SEP-...", built when the endpoint was tracked
_CHAIN_LINE = operator.attrgetter("chain_line")
_SEP_RULES = operator.attrgetter("sep_rules")
_SEP_RULES_COMMENTED = operator.attrgetter("sep_rules_commented")


def _write_service_to_endpoint_rules(
    rules: list[str], svc: IptablesServicePortInfo, chain: str,
    endpoints: list[IptablesEndpointInfo], comments: bool,
) -> int:  # fmt: skip
    """writeServiceToEndpointRules: affinity checks, then the probability ladder.
    Returns the number of lines written (some entries hold several)."""
    ladder = _ladder(len(endpoints))
    if comments:
        name = svc.name_string
        heads = [
            f'-A {chain} -m comment --comment "{name} -> {ep.ip}:{ep.port}"' for ep in endpoints
        ]
    elif svc.session_affinity_type != AFFINITY_CLIENT_IP:
        # The usual large-cluster case: one head for every rung, joined in C.
        head = f"-A {chain}"
        rules.append(head + f"\n{head}".join(map(operator.add, ladder, map(_JUMP, endpoints))))
        return len(endpoints)
    else:
        heads = [f"-A {chain}"] * len(endpoints)
    if svc.session_affinity_type == AFFINITY_CLIENT_IP:
        secs = svc.sticky_max_age_seconds
        rules += [
            f"{head} -m recent --name {ep.chain_name} --rcheck --seconds {secs} --reap{ep.jump}"
            for head, ep in zip(heads, endpoints, strict=True)
        ]
    rules += [f"{h}{rung}{ep.jump}" for h, ep, rung in zip(heads, endpoints, ladder, strict=True)]
    return len(endpoints) * (2 if svc.session_affinity_type == AFFINITY_CLIENT_IP else 1)


def _write_endpoint_chains(
    chains: list[str], rules: list[str], svc: IptablesServicePortInfo,
    endpoints: list[IptablesEndpointInfo], comments: bool,
) -> None:  # fmt: skip
    """One KUBE-SEP chain per endpoint: hairpin masquerade, then the DNAT (two lines)."""
    chains += map(_CHAIN_LINE, endpoints)
    if svc.session_affinity_type != AFFINITY_CLIENT_IP:
        # The endpoint's two rules were built when it was tracked (port_info.py).
        rules += map(_SEP_RULES_COMMENTED if comments else _SEP_RULES, endpoints)
        return
    p = svc.proto
    comment = f" -m comment --comment {svc.name_string}" if comments else ""
    for ep in endpoints:
        c = ep.chain_name
        rules.append(f"-A {c}{comment} -s {ep.ip} -j KUBE-MARK-MASQ\n"
                     f"-A {c}{comment} -m recent --name {c} --set -m {p} -p {p} -j DNAT --to-destination {ep.ip}:{ep.port}")  # fmt: skip


def service_block(
    svc: IptablesServicePortInfo, endpoints: IptablesEndpoints, cfg: ProxyConfig,
    comments: bool,
) -> ServiceBlock:  # fmt: skip
    """The lines syncProxyRules writes for one service port, in upstream's order."""
    if svc.uses_cluster and not svc.uses_local and getattr(endpoints, "all_ready", False):
        cat = Categorized(endpoints, [], endpoints, True)  # what categorize says, sooner
    else:
        cat = categorize(endpoints, svc.uses_cluster, svc.uses_local, cfg.zone)
    has_eps = cat.has_any
    has_internal = has_eps and not (svc.internal_policy_local and not cat.local)
    nat: list[str] = []
    flt: list[str] = []
    chains: list[str] = []
    rules: list[str] = []
    if has_internal:
        nat.append(svc.cluster_ip_capture)  # built when the change was tracked
        if cfg.masquerade_all:
            rules.append(f"{svc.internal_masq_head} -j KUBE-MARK-MASQ")
        elif cfg.cluster_cidr:
            # Off-cluster sources reaching a ClusterIP may bounce off-node: masquerade them.
            rules.append(f"{svc.internal_masq_head} ! -s {cfg.cluster_cidr} -j KUBE-MARK-MASQ")
    else:
        name, match = svc.name_string, f"-m {svc.proto} -p {svc.proto} -d {svc.cluster_ip} --dport {svc.port}"  # fmt: skip
        if has_eps:
            flt.append(f'-A KUBE-SERVICES -m comment --comment "{name} has no local endpoints" {match} -j DROP')  # fmt: skip
        else:
            flt.append(f'-A KUBE-SERVICES -m comment --comment "{name} has no endpoints" {match} -j REJECT')  # fmt: skip
    if svc.external or svc.health_check_node_port:
        _External(svc, cat, cfg).write(nat, flt, chains, rules)
    n_rules = len(rules)
    ladders: list[str] = []
    if cat.cluster and svc.uses_cluster:
        chains.append(svc.cluster_chain_line)
        n_rules += _write_service_to_endpoint_rules(
            ladders, svc, svc.cluster_policy_chain_name, cat.cluster, comments
        )
    if cat.local and svc.uses_local:
        chains.append(svc.local_chain_line)
        n_rules += _write_service_to_endpoint_rules(
            ladders, svc, svc.local_policy_chain_name, cat.local, comments
        )
    reach = cat.all_reachable
    n_rules += 2 * len(reach)
    if reach is endpoints and svc.session_affinity_type != AFFINITY_CLIENT_IP:
        # Every endpoint is used: their chains' text was joined when the list was tracked.
        ep_rules = endpoints.sep_rules_commented if comments else endpoints.sep_rules
        ep_chains = endpoints.chain_lines
    else:
        ep_chain_list: list[str] = []
        ep_rule_list: list[str] = []
        _write_endpoint_chains(ep_chain_list, ep_rule_list, svc, reach, comments)
        ep_chains, ep_rules = "\n".join(ep_chain_list), "\n".join(ep_rule_list)
    return ServiceBlock(
        "\n".join(nat), "\n".join(flt), "\n".join(chains), ep_chains, "\n".join(rules),
        "\n".join(ladders), ep_rules, len(nat), len(flt), n_rules,
    )  # fmt: skip


class _External:
    """The decisions and rules of services reachable from outside (NodePort, LB, external
    IPs): captures, filter verdicts, and the KUBE-EXT / KUBE-FW chains."""

    def __init__(self, svc: IptablesServicePortInfo, cat: Categorized, cfg: ProxyConfig):
        self.svc, self.cfg, self.name = svc, cfg, svc.name_string
        self.has_eps = cat.has_any
        self.has_external = cat.has_any and not (svc.external_policy_local and not cat.local)
        self.uses_fw = (
            cat.has_any and bool(svc.load_balancer_vips) and bool(svc.load_balancer_source_ranges)
        )
        self.ext, self.fw = svc.external_chain_name, svc.firewall_chain_name
        if svc.external_policy_local:
            self.policy_chain = svc.local_policy_chain_name
        else:
            self.policy_chain = svc.cluster_policy_chain_name
        if not cat.has_any:
            self.target, self.comment = "REJECT", f'"{self.name} has no endpoints"'
        else:
            self.target, self.comment = "DROP", f'"{self.name} has no local endpoints"'

    def write(self, nat, flt, chains, rules) -> None:
        self._captures(nat, flt)
        if self.has_eps and self.svc.external:
            self._external_chain(chains, rules)
        if self.uses_fw:
            self._firewall_chain(chains, rules)

    def _match(self, ip: str) -> str:
        p = self.svc.proto
        return f"-m {p} -p {p} -d {ip} --dport {self.svc.port}"

    def _captures(self, nat: list[str], flt: list[str]) -> None:
        svc, name, no_ext = self.svc, self.name, not self.has_external
        verdict = f"-j {self.target}"
        for ip in svc.external_ips:
            if self.has_eps:
                nat.append(f'-A KUBE-SERVICES -m comment --comment "{name} external IP" {self._match(ip)} -j {self.ext}')  # fmt: skip
            if no_ext:
                flt.append(f"-A KUBE-EXTERNAL-SERVICES -m comment --comment {self.comment} {self._match(ip)} {verdict}")  # fmt: skip
        lb_chain = self.fw if self.uses_fw else self.ext
        for ip in svc.load_balancer_vips:
            if self.has_eps:
                nat.append(f'-A KUBE-SERVICES -m comment --comment "{name} loadbalancer IP" {self._match(ip)} -j {lb_chain}')  # fmt: skip
            if self.uses_fw:
                flt.append(f'-A KUBE-PROXY-FIREWALL -m comment --comment "{name} traffic not accepted by {self.fw}" {self._match(ip)} -j DROP')  # fmt: skip
        if no_ext:
            for ip in svc.load_balancer_vips:
                flt.append(f"-A KUBE-EXTERNAL-SERVICES -m comment --comment {self.comment} {self._match(ip)} {verdict}")  # fmt: skip
        if svc.node_port:
            proto = f"-m {svc.proto} -p {svc.proto} --dport {svc.node_port}"
            if self.has_eps:
                nat.append(f"-A KUBE-NODEPORTS -m comment --comment {name} {proto} -j {self.ext}")
            if no_ext:
                flt.append(f"-A KUBE-EXTERNAL-SERVICES -m comment --comment {self.comment} -m addrtype --dst-type LOCAL {proto} {verdict}")  # fmt: skip
        if svc.health_check_node_port:
            flt.append(f'-A KUBE-NODEPORTS -m comment --comment "{name} health check node port" -m tcp -p tcp --dport {svc.health_check_node_port} -j ACCEPT')  # fmt: skip

    def _external_chain(self, chains: list[str], rules: list[str]) -> None:
        """KUBE-EXT: masquerade, or for a Local policy short-circuit pods and the node."""
        ext, name, svc_chain = self.ext, self.name, self.svc.cluster_policy_chain_name
        chains.append(f":{ext} - [0:0]")
        if not self.svc.external_policy_local:
            rules.append(f'-A {ext} -m comment --comment "masquerade traffic for {name} external destinations" -j KUBE-MARK-MASQ')  # fmt: skip
        else:
            if self.cfg.cluster_cidr:
                rules.append(f'-A {ext} -m comment --comment "pod traffic for {name} external destinations" -s {self.cfg.cluster_cidr} -j {svc_chain}')  # fmt: skip
            rules.append(f'-A {ext} -m comment --comment "masquerade LOCAL traffic for {name} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ')  # fmt: skip
            rules.append(f'-A {ext} -m comment --comment "route LOCAL traffic for {name} external destinations" -m addrtype --src-type LOCAL -j {svc_chain}')  # fmt: skip
        if self.has_external:
            rules.append(f"-A {ext} -j {self.policy_chain}")

    def _firewall_chain(self, chains: list[str], rules: list[str]) -> None:
        """KUBE-FW: loadBalancerSourceRanges; what falls through is dropped in filter."""
        fw, svc = self.fw, self.svc
        chains.append(f":{fw} - [0:0]")
        head = f'-A {fw} -m comment --comment "{self.name} loadbalancer IP"'
        node_ip = self.cfg.node_ips[:1]
        allow_from_node = False
        for cidr in svc.load_balancer_source_ranges:
            rules.append(f"{head} -s {cidr} -j {self.ext}")
            allow_from_node = allow_from_node or any(_contains(cidr, ip) for ip in node_ip)
        if allow_from_node:
            for ip in svc.load_balancer_vips:
                rules.append(f"{head} -s {ip} -j {self.ext}")
        rules.append(f'-A {fw} -m comment --comment "other traffic to {self.name} will be dropped by KUBE-PROXY-FIREWALL"')  # fmt: skip


def _contains(cidr: str, ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
