"""Render the nftables transaction the nftables proxier runs in syncProxyRules.

Mirrors k8s.io/kubernetes pkg/proxy/nftables/proxier.go (setupNFTables, syncProxyRules,
writeServiceToEndpointRules, nftElementStorage, staleChains). The output is the text
knftables hands to `nft -f`: one `add`/`flush`/`delete` command a line in table
`ip kube-proxy`. Dispatch is by the verdict maps `service-ips` (ipv4_addr . inet_proto .
inet_service) and `service-nodeports`, so a sync writes one map element per service rather
than one rule, and a partial sync writes only the changed services' chains plus the element
diff against the blocks they replace (`NftState` counts who owns each element). A partial
sync needs no listing of the kernel's chains: the replaced blocks name the stale ones.
Omitted: IPv6, the ServiceCIDR "drop unallocated ClusterIPs" rule, the one-second delay
before stale chains are deleted (we delete them at the next sync).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat

from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.nftables_service import NftServiceBlock, nft_service_block
from miniproxy.kubeproxy.nftables_tx import ElementOwners, Tx
from miniproxy.kubeproxy.port_info import prepared
from miniproxy.kubeproxy.render_cache import RenderCache
from miniproxy.kubeproxy.types import EndpointsMap, NamespacedName, ProxyConfig, ServicePortMap

__all__ = ["NftRender", "NftServiceBlock", "NftState", "cleanup_text", "render"]

TABLE = names.NFT_TABLE
CONTAINERS = (
    ("set", "cluster-ips"),
    ("map", "service-ips"),
    ("map", "firewall-ips"),
    ("map", "no-endpoint-services"),
    ("map", "no-endpoint-nodeports"),
    ("map", "service-nodeports"),
)
# (name, type, hook, priority): knftables.DNATPriority is -100, SNATPriority 100.
BASE_CHAINS = (
    ("filter-prerouting", "filter", "prerouting", -110),
    ("filter-input", "filter", "input", -110),
    ("filter-forward", "filter", "forward", -110),
    ("filter-output", "filter", "output", -110),
    ("filter-output-post-dnat", "filter", "output", -90),
    ("nat-prerouting", "nat", "prerouting", -100),
    ("nat-output", "nat", "output", -100),
    ("nat-postrouting", "nat", "postrouting", 100),
)
# nftablesJumpChains: (dst chain, src base chain, extra match).
JUMP_CHAINS = (
    ("nodeport-endpoints-check", "filter-input", "ct state new"),
    ("service-endpoints-check", "filter-input", "ct state new"),
    ("service-endpoints-check", "filter-forward", "ct state new"),
    ("service-endpoints-check", "filter-output", "ct state new"),
    ("firewall-check", "filter-prerouting", "ct state new"),
    ("firewall-check", "filter-output", "ct state new"),
    ("services", "nat-output", ""),
    ("services", "nat-prerouting", ""),
    ("masquerading", "nat-postrouting", ""),
    ("cluster-ips-check", "filter-forward", "ct state new"),
    ("cluster-ips-check", "filter-output-post-dnat", "ct state new"),
)
_ADDR_KEY = "ipv4_addr . inet_proto . inet_service : verdict"
_PORT_KEY = "inet_proto . inet_service : verdict"


@dataclass
class NftState:
    """What the proxier keeps between syncs: who wrote each map/set element, and chains
    to delete at the next sync."""

    stale_chains: set[str] = field(default_factory=set)
    owners: ElementOwners | None = None


@dataclass
class NftRender:
    """The sync transaction, and the state the next sync starts from."""

    text: str
    state: NftState


def _setup(tx: Tx, cfg: ProxyConfig, first: bool, created: set[str]) -> None:
    """setupNFTables: the table, base chains, jump rules, maps and static rules."""
    tx.cmd(f'add table ip {TABLE} {{ comment "rules for kube-proxy" ; }}')
    if first:
        # Recreate base chains once, so that changed priorities do not fail the transaction.
        for name, *_ in BASE_CHAINS:
            tx.cmd(f"add chain ip {TABLE} {name}")
            tx.cmd(f"delete chain ip {TABLE} {name}")
    for name, ctype, hook, prio in BASE_CHAINS:
        tx.cmd(f"add chain ip {TABLE} {name} {{ type {ctype} hook {hook} priority {prio} ; }}")
        tx.cmd(f"flush chain ip {TABLE} {name}")
    for dst, src, extra in JUMP_CHAINS:
        tx.ensure_chain(dst, created)
        tx.rule(src, f"{extra} jump {dst}".strip())
    for chain in ("services", "cluster-ips-check", "masquerading", "mark-for-masquerade"):
        tx.ensure_chain(chain, created)
    mark = cfg.masquerade_mark
    tx.rule("mark-for-masquerade", f"mark set mark or {mark}")
    tx.rule("masquerading", f"mark and {mark} == 0 return")
    tx.rule("masquerading", f"mark set mark xor {mark}")
    tx.rule("masquerading", "masquerade fully-random")
    tx.cmd(f'add set ip {TABLE} cluster-ips {{ type ipv4_addr ; comment "Active ClusterIPs" ; }}')
    tx.rule(
        "cluster-ips-check",
        "ip daddr @cluster-ips reject",
        "Reject traffic to invalid ports of ClusterIPs",
    )
    _setup_nodeports(tx, cfg)
    _setup_maps(tx, cfg)


def _setup_nodeports(tx: Tx, cfg: ProxyConfig) -> None:
    tx.cmd(
        f'add set ip {TABLE} nodeport-ips {{ type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }}'
    )
    if cfg.nodeport_match_all():
        tx.cmd(f"delete set ip {TABLE} nodeport-ips")
        return
    tx.cmd(f"flush set ip {TABLE} nodeport-ips")
    for ip in cfg.nodeport_ips():
        if not ip.startswith("127."):
            tx.cmd(f"add element ip {TABLE} nodeport-ips {{ {ip} }}")


def _map(tx: Tx, name: str, key: str, comment: str) -> None:
    tx.cmd(f'add map ip {TABLE} {name} {{ type {key} ; comment "{comment}" ; }}')


def _setup_maps(tx: Tx, cfg: ProxyConfig) -> None:
    match_all = cfg.nodeport_match_all()
    nodeport_dst = "ip daddr != 127.0.0.0/8" if match_all else "ip daddr @nodeport-ips"
    _map(
        tx,
        "no-endpoint-services",
        _ADDR_KEY,
        "vmap to drop or reject packets to services with no endpoints",
    )
    _map(
        tx,
        "no-endpoint-nodeports",
        _PORT_KEY,
        "vmap to drop or reject packets to service nodeports with no endpoints",
    )
    tx.cmd(
        f'add chain ip {TABLE} reject-chain {{ comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }}'
    )
    tx.cmd(f"flush chain ip {TABLE} reject-chain")
    tx.rule("reject-chain", "reject")
    tx.rule(
        "service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services"
    )
    tx.rule(
        "nodeport-endpoints-check",
        f"{nodeport_dst} meta l4proto . th dport vmap @no-endpoint-nodeports",
    )
    _map(tx, "firewall-ips", _ADDR_KEY, "destinations that are subject to LoadBalancerSourceRanges")
    tx.rule("firewall-check", "ip daddr . meta l4proto . th dport vmap @firewall-ips")
    _map(tx, "service-ips", _ADDR_KEY, "ClusterIP, ExternalIP and LoadBalancer IP traffic")
    _map(tx, "service-nodeports", _PORT_KEY, "NodePort traffic")
    tx.rule("services", "ip daddr . meta l4proto . th dport vmap @service-ips")
    local = (
        "fib daddr type local ip daddr != 127.0.0.0/8" if match_all else "ip daddr @nodeport-ips"
    )
    tx.rule("services", f"{local} meta l4proto . th dport vmap @service-nodeports")
    for kind, name in CONTAINERS:
        tx.cmd(f"flush {kind} ip {TABLE} {name}")


def cleanup_text(previous: NftState | None) -> str:
    """Delete the chains the previous sync left stale: run it (failures ignored) and only
    then list the table's chains for `render`, as upstream's separate transaction does."""
    if previous is None or not previous.stale_chains:
        return ""
    return "".join(f"delete chain ip {TABLE} {c}\n" for c in sorted(previous.stale_chains))


_ADD_CHAIN = f"add chain ip {TABLE} "


def _declared(chains: Iterable[str]) -> set[str]:
    """The chains that blocks' "add chain" / "flush chain" line pairs create."""
    text = "\n".join(filter(None, chains))
    adds = text.split("\n")[::2]
    return set("\n".join(adds).replace(_ADD_CHAIN, "").split("\n")) if text else set()


def _stale(tx: Tx, chains: set[str], sets: set[str]) -> set[str]:
    """Flush stale service chains now (deleted next sync); delete stale affinity sets."""
    stale = {c for c in chains if names.nft_is_service_chain_name(c)}
    for chain in sorted(stale):
        tx.cmd(f"flush chain ip {TABLE} {chain}")
    for s in sorted(s for s in sets if s.startswith("affinity-")):
        tx.cmd(f"delete set ip {TABLE} {s}")
    return stale


_ELEMENTS = operator.attrgetter("elements")
_CHAINS = operator.attrgetter("endpoint_chains", "chains")
_TEXT = operator.attrgetter("endpoint_chains", "chains", "rules", "ladders", "endpoint_rules")
_SETS = operator.attrgetter("affinity_sets")


def _all_elements(tx: Tx, table: NftServiceBlock) -> ElementOwners:
    """Every element into flushed maps; returns who owns which."""
    elements = list(itertools.chain.from_iterable(table.elements))
    owners = ElementOwners(elements)
    tx.ensure_elems(elements)
    return owners


def _write_full(tx: Tx, table: NftServiceBlock) -> ElementOwners:
    """Every service's chains, elements and rules (`table`: the blocks as columns). When
    no element slot is claimed twice each block's own text is written as it is (the maps
    were flushed: there is nothing to diff against)."""
    elements = list(itertools.chain.from_iterable(table.elements))
    owners = ElementOwners(elements)
    if owners.unique(len(elements)):
        t = table
        texts = zip(
            t.endpoint_chains,
            t.chains,
            t.elements_text,
            t.rules,
            t.ladders,
            t.endpoint_rules,
            strict=True,
        )
        tx.lines += filter(None, itertools.chain.from_iterable(texts))
        return owners
    tx.lines += filter(None, itertools.chain.from_iterable(zip(*_TEXT(table), strict=True)))
    tx.ensure_elems(elements)
    return owners


def _write_partial(
    tx: Tx, changed: list[NftServiceBlock], table: NftServiceBlock,
    replaced: list[NftServiceBlock] | None, previous: NftState,
) -> ElementOwners:  # fmt: skip
    """The changed services' chains and rules, and their element changes against what
    they wrote last time (`replaced`); every element again when that is unknown or two
    Services claim one slot."""
    for blk in changed:
        tx.lines += filter(None, _TEXT(blk))
    owners = previous.owners
    if replaced is not None and owners is not None:
        old = list(itertools.chain.from_iterable(map(_ELEMENTS, replaced)))
        new = list(itertools.chain.from_iterable(map(_ELEMENTS, changed)))
        if owners.replace(tx, old, new):
            return owners
    for kind, name in CONTAINERS:
        tx.cmd(f"flush {kind} ip {TABLE} {name}")
    return _all_elements(tx, table)


def render(
    service_map: ServicePortMap,
    endpoints_map: EndpointsMap,
    cfg: ProxyConfig,
    *,
    changed: set[NamespacedName] | None = None,
    previous: NftState | None = None,
    existing_chains: frozenset[str] | set[str] | None = None,
    existing_sets: frozenset[str] | set[str] | None = None,
    cache: RenderCache[NftServiceBlock] | None = None,
) -> NftRender:
    """syncProxyRules' transaction; a full sync unless `changed` and `previous` are given.

    With a `cache` kept across syncs (the Proxier keeps one), only services whose inputs
    changed are rendered again; the text is the same either way. `existing_*` are the
    table's chains and sets as listed from the kernel; without them a partial sync takes
    the changed services' stale chains from the cache. `previous` is consumed: its
    element counts are updated in place, as upstream updates its nftElementStorage."""
    partial = changed is not None and previous is not None
    cache = RenderCache() if cache is None else cache
    wanted = None if not partial else {(n.namespace, n.name) for n in changed}
    todo = cache.refresh(service_map, endpoints_map, wanted)

    def build_many(svcs: list, endpoint_lists: list) -> list[NftServiceBlock]:
        svcs, endpoint_lists = prepared(svcs, endpoint_lists, "nftables")
        return list(map(nft_service_block, svcs, endpoint_lists, repeat(cfg)))

    table = cache.build((cfg, None), todo, build_many, NftServiceBlock)
    tx = Tx(TABLE)
    if not partial:
        _setup(tx, cfg, previous is None, set())
        owners = _write_full(tx, table)
        changed_blocks: list[NftServiceBlock] = []
    else:
        changed_blocks = [cache.block(i) for i in cache.positions(wanted)]
        owners = _write_partial(tx, changed_blocks, table, cache.replaced, previous)  # type: ignore[arg-type]
    if existing_chains is not None:
        # Skipped services' chains stay as they are in the kernel, but remain active.
        chains = set(existing_chains) - _declared(
            itertools.chain(table.endpoint_chains, table.chains)
        )
        sets = set(existing_sets or ()).difference(*table.affinity_sets)
    elif partial and cache.replaced is not None:
        chains = _declared(itertools.chain.from_iterable(map(_CHAINS, cache.replaced)))
        chains -= _declared(itertools.chain.from_iterable(map(_CHAINS, changed_blocks)))
        sets = set().union(*map(_SETS, cache.replaced)).difference(*map(_SETS, changed_blocks))
    else:
        chains, sets = set(), set()
    stale = _stale(tx, chains, sets)
    return NftRender(tx.text(), NftState(stale, owners))
