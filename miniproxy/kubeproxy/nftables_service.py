"""The per-service part of the nftables sync: chains, map elements, rules of one port.

Mirrors the service loop of k8s.io/kubernetes pkg/proxy/nftables/proxier.go syncProxyRules
and writeServiceToEndpointRules. A service port becomes an `NftServiceBlock`: its
add/flush chain commands, its map/set elements (which a partial sync diffs against the
block it replaces) and its rules. Infos come prepared by the change trackers (port_info.py:
names hashed, one-object text built), so this is the per-sync decisions (usable endpoints,
policies, the numgen map or ladder) and string building only; when every endpoint is used,
the endpoint list's own joined text is taken as it is. Blocks are cached between syncs by
render_cache.py.
"""

from __future__ import annotations

import functools
import ipaddress
import operator
from typing import NamedTuple

from miniproxy.kubeproxy.names import NFT_TABLE
from miniproxy.kubeproxy.nftables_tx import Element, element
from miniproxy.kubeproxy.port_info import NftEndpointInfo, NftEndpoints, NftServicePortInfo
from miniproxy.kubeproxy.topology import Categorized, categorize
from miniproxy.kubeproxy.types import AFFINITY_CLIENT_IP, ProxyConfig

_RULE = f"add rule ip {NFT_TABLE} "


class NftServiceBlock(NamedTuple):
    """One service port's part of the transaction ("" / () when empty), in the order it
    is written: endpoint chains, service chains, elements, rules, ladders, endpoint rules.

    The endpoints' own parts are usually the text the endpoint list joined when it was
    tracked, used as it is. The chains it creates are the ones its chain parts add, so
    they are not kept twice."""

    endpoint_chains: str
    chains: str
    elements: tuple[Element, ...]
    rules: str
    ladders: str  # the service / local chains' rules to the endpoints
    endpoint_rules: str
    affinity_sets: tuple[str, ...]
    elements_text: str  # the elements' add commands, for a transaction that starts empty


def _chain_lines(chain: str) -> str:
    return f"add chain ip {NFT_TABLE} {chain}\nflush chain ip {NFT_TABLE} {chain}"


def _elem(container: str, key: str, value: str = "", comment: str = "") -> Element:
    return element(NFT_TABLE, container, key, value, comment)


_CHAIN_LINES = operator.attrgetter("chain_lines")  # built when the endpoint was tracked
_ENDPOINT_RULES = operator.attrgetter("endpoint_rules")
_GOTO = operator.attrgetter("goto")  # "goto endpoint-..."


def nft_service_block(
    svc: NftServicePortInfo, endpoints: NftEndpoints, cfg: ProxyConfig
) -> NftServiceBlock:
    """The commands syncProxyRules writes for one service port, in upstream's order."""
    if svc.uses_cluster and not svc.uses_local and getattr(endpoints, "all_ready", False):
        cat = Categorized(endpoints, [], endpoints, True)  # what categorize says, sooner
    else:
        cat = categorize(endpoints, svc.uses_cluster, svc.uses_local, cfg.zone)
    eps = cat.all_reachable
    affinity = svc.session_affinity_type == AFFINITY_CLIENT_IP
    # When every endpoint is used, their chains' text was joined when the list was tracked.
    every = eps is endpoints and not affinity
    ep_chains = endpoints.chain_lines if every else "\n".join(map(_CHAIN_LINES, eps))
    chains: list[str] = []
    uses_cluster = bool(cat.cluster) and svc.uses_cluster
    uses_local = bool(cat.local) and svc.uses_local
    uses_ext = cat.has_any and svc.external
    uses_fw = bool(svc.load_balancer_vips) and bool(svc.load_balancer_source_ranges)
    if uses_cluster:
        chains.append(svc.cluster_chain_lines)
    if uses_local:
        chains.append(svc.local_chain_lines)
    if uses_ext:
        chains.append(_chain_lines(svc.external_chain_name))
    if uses_fw:
        chains.append(_chain_lines(svc.firewall_chain_name))
    has_internal = cat.has_any and not (svc.internal_policy_local and not cat.local)
    rules: list[str] = []
    if has_internal:
        # Its cluster-ips and service-ips elements were built when it was tracked.
        elements: tuple[Element, ...] | list[Element] = svc.internal_elements
        if cfg.masquerade_all:
            rules.append(f"{svc.internal_masq_head} jump mark-for-masquerade")
        elif cfg.cluster_cidr:
            # Off-cluster sources reaching a ClusterIP may bounce off-node: masquerade them.
            rules.append(f"{svc.internal_masq_head} ip saddr != {cfg.cluster_cidr} jump mark-for-masquerade")  # fmt: skip
    else:
        key = f"{svc.cluster_ip} . {svc.proto} . {svc.port}"
        verdict = "drop" if cat.has_any else "goto reject-chain"
        elements = [svc.internal_elements[0], _elem("no-endpoint-services", key, verdict, svc.name_string)]  # fmt: skip
    if svc.external:
        elements = list(elements)
        _External(svc, cat, cfg, uses_fw).write(elements, rules, uses_ext)
    if affinity:
        timeout = f"timeout {svc.sticky_max_age_seconds}s"
        rules += [
            f"add set ip {NFT_TABLE} {ep.affinity_set_name} {{ type ipv4_addr ; flags dynamic,timeout ; {timeout} ; }}"
            for ep in eps
        ]  # fmt: skip
    ladders: list[str] = []
    if uses_cluster:
        _write_service_to_endpoint_rules(ladders, svc, svc.cluster_policy_chain_name, cat.cluster, cfg)  # fmt: skip
    if uses_local:
        _write_service_to_endpoint_rules(ladders, svc, svc.local_policy_chain_name, cat.local, cfg)
    if every:
        ep_rules = endpoints.endpoint_rules
    elif not affinity:
        ep_rules = "\n".join(map(_ENDPOINT_RULES, eps))  # built when the endpoint was tracked
    else:
        ep_rules = "\n".join(
            f"{_RULE}{ep.chain_name} ip saddr {ep.ip} jump mark-for-masquerade\n"
            f"{_RULE}{ep.chain_name} update @{ep.affinity_set_name} {{ ip saddr }}\n"
            f"{_RULE}{ep.chain_name} meta l4proto {svc.proto} dnat to {ep.ip}:{ep.port}"
            for ep in eps
        )
    sets = tuple(ep.affinity_set_name for ep in eps) if affinity else ()
    if elements is svc.internal_elements:
        elements_tuple, elements_text = svc.internal_elements, svc.internal_elements_text
    else:
        elements_tuple, elements_text = tuple(elements), "\n".join([e.add for e in elements])
    return NftServiceBlock(
        ep_chains, "\n".join(chains), elements_tuple, "\n".join(rules), "\n".join(ladders),
        ep_rules, sets, elements_text,
    )  # fmt: skip


@functools.lru_cache(maxsize=256)
def _ladder(n: int) -> tuple[str, ...]:
    """Rule i takes 1/(n-i) of what is left: uniform, as computeProbability; the last
    rung takes the rest."""
    return (*(f" numgen random mod {n - i} 0 " for i in range(n - 1)), " ")


@functools.lru_cache(maxsize=256)
def _vmap_keys(n: int) -> tuple[str, ...]:
    return tuple(f"{i} : " for i in range(n))


def _write_service_to_endpoint_rules(
    rules: list[str], svc: NftServicePortInfo, chain: str, endpoints: list[NftEndpointInfo],
    cfg: ProxyConfig,
) -> None:  # fmt: skip
    """writeServiceToEndpointRules: affinity lookups, then one numgen vmap."""
    head = _RULE + chain
    if svc.session_affinity_type == AFFINITY_CLIENT_IP:
        rules += [f"{head} ip saddr @{ep.affinity_set_name} {ep.goto}" for ep in endpoints]
    n = len(endpoints)
    gotos = map(_GOTO, endpoints)
    if cfg.nftables_endpoint_ladder:
        rules.append(head + f"\n{head}".join(map(operator.add, _ladder(n), gotos)))
        return
    entries = " , ".join(map(operator.add, _vmap_keys(n), gotos))
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
