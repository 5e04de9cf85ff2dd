"""The per-service part of the nftables sync: chains, map elements, rules of one port.

Mirrors the service loop of k8s.io/kubernetes pkg/proxy/nftables/proxier.go syncProxyRules
and writeServiceToEndpointRules. A service port becomes an `NftServiceBlock`: its
add/flush chain commands, its map/set elements (which a partial sync still ensures, so
that nftElementStorage can diff them) and its rules. Infos come prepared by the change
trackers (port_info.py), so this is string building only, and blocks are cached between
syncs by render_cache.py.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from miniproxy.kubeproxy.names import NFT_TABLE
from miniproxy.kubeproxy.nftables_tx import element_line
from miniproxy.kubeproxy.port_info import NftEndpointInfo, NftServicePortInfo
from miniproxy.kubeproxy.topology import Categorized, categorize
from miniproxy.kubeproxy.types import AFFINITY_CLIENT_IP, ProxyConfig

_RULE = f"add rule ip {NFT_TABLE} "
Element = tuple[str, str, str, str]  # container, key, value, the `add element` command


class NftServiceBlock(NamedTuple):
    """One service port's part of the transaction ("" / () when empty)."""

    chains: str
    elements: tuple[Element, ...]
    rules: str
    created: tuple[str, ...]
    affinity_sets: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]  # (container, key) of each element, for ElementOwners
    elements_text: str  # the elements' add commands, for a transaction that starts empty


def _chain_lines(chain: str) -> str:
    return f"add chain ip {NFT_TABLE} {chain}\nflush chain ip {NFT_TABLE} {chain}"


def _elem(container: str, key: str, value: str = "", comment: str = "") -> Element:
    return (container, key, value, element_line(NFT_TABLE, container, key, value, comment))


def nft_service_block(
    svc: NftServicePortInfo, endpoints: list[NftEndpointInfo], cfg: ProxyConfig
) -> NftServiceBlock:
    """The commands syncProxyRules writes for one service port, in upstream's order."""
    cat = categorize(endpoints, svc.uses_cluster, svc.uses_local, cfg.zone)
    eps = cat.all_reachable
    chains = [ep.chain_lines for ep in eps]
    created = [ep.chain_name for ep in eps]
    cluster_chain, local_chain = svc.cluster_policy_chain_name, svc.local_policy_chain_name
    uses_cluster = bool(cat.cluster) and svc.uses_cluster
    uses_local = bool(cat.local) and svc.uses_local
    uses_ext = cat.has_any and svc.externally_accessible()
    uses_fw = bool(svc.load_balancer_vips) and bool(svc.load_balancer_source_ranges)
    for used, chain in (
        (uses_cluster, cluster_chain),
        (uses_local, local_chain),
        (uses_ext, svc.external_chain_name),
        (uses_fw, svc.firewall_chain_name),
    ):
        if used:
            chains.append(_chain_lines(chain))
            created.append(chain)
    has_internal = cat.has_any and not (svc.internal_policy_local and not cat.local)
    rules: list[str] = []
    # The ClusterIP's elements and masquerade rule head were built when it was tracked.
    elements = [svc.cluster_ip_element]
    if has_internal:
        elements.append(svc.service_ips_element)
        if cfg.masquerade_all:
            rules.append(f"{svc.internal_masq_head} jump mark-for-masquerade")
        elif cfg.cluster_cidr:
            # Off-cluster sources reaching a ClusterIP may bounce off-node: masquerade them.
            rules.append(f"{svc.internal_masq_head} ip saddr != {cfg.cluster_cidr} jump mark-for-masquerade")  # fmt: skip
    else:
        key = f"{svc.cluster_ip} . {svc.proto} . {svc.port}"
        verdict = "drop" if cat.has_any else "goto reject-chain"
        elements.append(_elem("no-endpoint-services", key, verdict, svc.name_string))
    if svc.node_port or svc.external_ips or svc.load_balancer_vips:
        _External(svc, cat, cfg, uses_fw).write(elements, rules, uses_ext)
    affinity = svc.session_affinity_type == AFFINITY_CLIENT_IP
    if affinity:
        timeout = f"timeout {svc.sticky_max_age_seconds}s"
        rules += [
            f"add set ip {NFT_TABLE} {ep.affinity_set_name} {{ type ipv4_addr ; flags dynamic,timeout ; {timeout} ; }}"
            for ep in eps
        ]  # fmt: skip
    if uses_cluster:
        _write_service_to_endpoint_rules(rules, svc, cluster_chain, cat.cluster, cfg)
    if uses_local:
        _write_service_to_endpoint_rules(rules, svc, local_chain, cat.local, cfg)
    if not affinity:
        rules += [ep.endpoint_rules for ep in eps]  # built when the endpoint was tracked
    else:
        for ep in eps:
            c = ep.chain_name
            rules.append(f"{_RULE}{c} ip saddr {ep.ip} jump mark-for-masquerade")
            rules.append(f"{_RULE}{c} update @{ep.affinity_set_name} {{ ip saddr }}")
            rules.append(f"{_RULE}{c} meta l4proto {svc.proto} dnat to {ep.ip}:{ep.port}")
    sets = tuple(ep.affinity_set_name for ep in eps) if affinity else ()
    pairs = tuple((c, k) for c, k, _, _ in elements)
    return NftServiceBlock(
        "\n".join(chains), tuple(elements), "\n".join(rules), tuple(created), sets, pairs,
        "\n".join([e[3] for e in elements]),
    )  # fmt: skip


def _write_service_to_endpoint_rules(
    rules: list[str], svc: NftServicePortInfo, chain: str, endpoints: list[NftEndpointInfo],
    cfg: ProxyConfig,
) -> None:  # fmt: skip
    """writeServiceToEndpointRules: affinity lookups, then one numgen vmap."""
    head = _RULE + chain
    if svc.session_affinity_type == AFFINITY_CLIENT_IP:
        rules += [
            f"{head} ip saddr @{ep.affinity_set_name} goto {ep.chain_name}" for ep in endpoints
        ]
    n = len(endpoints)
    if cfg.nftables_endpoint_ladder:
        # Rule i takes 1/(n-i) of what is left: uniform, as computeProbability.
        rules += [
            f"{head} numgen random mod {n - i} 0 goto {ep.chain_name}"
            for i, ep in enumerate(endpoints[:-1])
        ]
        rules.append(f"{head} goto {endpoints[-1].chain_name}")
        return
    entries = " , ".join([f"{i} : goto {ep.chain_name}" for i, ep in enumerate(endpoints)])
    rules.append(f"{head} numgen random mod {n} vmap {{ {entries} }}")


class _External:
    """Elements and rules of services reachable from outside (NodePort, LB, external IPs)."""

    def __init__(self, svc: NftServicePortInfo, cat: Categorized, cfg: ProxyConfig, fw: bool):
        self.svc, self.cfg, self.uses_fw, self.has_any = svc, cfg, fw, cat.has_any
        self.has_external = cat.has_any and not (svc.external_policy_local and not cat.local)
        self.ext, self.fw = svc.external_chain_name, svc.firewall_chain_name
        if svc.external_policy_local:
            self.policy_chain = svc.local_policy_chain_name
        else:
            self.policy_chain = svc.cluster_policy_chain_name
        # REJECT (via reject-chain) without endpoints; drop for Local without local ones.
        self.verdict = "goto reject-chain" if not cat.has_any else "drop"

    def write(self, elements: list[Element], rules: list[str], uses_ext: bool) -> None:
        self._elements(elements)
        if uses_ext:
            self._external_rules(rules)
        if self.uses_fw:
            self._firewall_rule(rules)

    def _elements(self, elements: list[Element]) -> None:
        svc, name, goto_ext = self.svc, self.svc.name_string, f"goto {self.ext}"
        for ip in svc.external_ips:
            key = f"{ip} . {svc.proto} . {svc.port}"
            if self.has_any:
                elements.append(_elem("service-ips", key, goto_ext))
            if not self.has_external:
                elements.append(_elem("no-endpoint-services", key, self.verdict, name))
        for ip in svc.load_balancer_vips:
            key = f"{ip} . {svc.proto} . {svc.port}"
            if self.has_any:
                elements.append(_elem("service-ips", key, goto_ext))
            if self.uses_fw:
                elements.append(_elem("firewall-ips", key, f"goto {self.fw}"))
        if not self.has_external:
            for ip in svc.load_balancer_vips:
                key = f"{ip} . {svc.proto} . {svc.port}"
                elements.append(_elem("no-endpoint-services", key, self.verdict, name))
        if svc.node_port:
            key = f"{svc.proto} . {svc.node_port}"
            if self.has_any:
                elements.append(_elem("service-nodeports", key, goto_ext))
            if not self.has_external:
                elements.append(_elem("no-endpoint-nodeports", key, self.verdict, name))

    def _external_rules(self, rules: list[str]) -> None:
        head, svc_chain = _RULE + self.ext, self.svc.cluster_policy_chain_name
        if not self.svc.external_policy_local:
            rules.append(f"{head} jump mark-for-masquerade")
        else:
            if self.cfg.cluster_cidr:
                rules.append(f'{head} ip saddr {self.cfg.cluster_cidr} goto {svc_chain} comment "short-circuit pod traffic"')  # fmt: skip
            rules.append(f'{head} fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"')  # fmt: skip
            rules.append(f'{head} fib saddr type local goto {svc_chain} comment "short-circuit local traffic"')  # fmt: skip
        if self.has_external:
            rules.append(f"{head} goto {self.policy_chain}")

    def _firewall_rule(self, rules: list[str]) -> None:
        sources = list(self.svc.load_balancer_source_ranges)
        node_ip = self.cfg.node_ips[0] if self.cfg.node_ips else None
        if node_ip and any(_contains(c, node_ip) for c in sources):
            sources += list(self.svc.load_balancer_vips)
        rules.append(f"{_RULE}{self.fw} ip saddr != {{ {', '.join(sources)} }} drop")


def _contains(cidr: str, ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
