"""Render the nftables transaction the nftables proxier runs in syncProxyRules.

Mirrors k8s.io/kubernetes pkg/proxy/nftables/proxier.go (setupNFTables, syncProxyRules,
writeServiceToEndpointRules, nftElementStorage, staleChains). The output is the text
knftables hands to `nft -f`: one `add`/`flush`/`delete` command a line in table
`ip kube-proxy`. Dispatch is by the verdict maps `service-ips` (ipv4_addr . inet_proto .
inet_service) and `service-nodeports`, so a sync writes one map element per service rather
than one rule, and a partial sync writes only the changed services' chains plus the element
diff against the previous sync (`NftState`).
Omitted: IPv6, the ServiceCIDR "drop unallocated ClusterIPs" rule, the one-second delay
before stale chains are deleted (we delete them at the next sync).
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, field

from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.nftables_service import NftServiceBlock, nft_service_block
from miniproxy.kubeproxy.nftables_tx import ElementOwners, Tx
from miniproxy.kubeproxy.port_info import prepare_maps
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
    """What the proxier keeps between syncs: map/set contents and chains to delete later."""

    elements: dict[str, dict[str, str]] = field(default_factory=dict)
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


def _stale(tx: Tx, active: list, affinity: list, chains, sets) -> set[str]:
    """Flush stale service chains now (deleted next sync); delete stale affinity sets.

    `active` / `affinity` hold each service's chain / set names: they are removed from
    the listed ones, never gathered into one set of every active name."""
    # Subtract first (in C, over every listed chain), then keep the service chains.
    stale = set(chains)
    stale.difference_update(*active)
    stale = {c for c in stale if names.nft_is_service_chain_name(c)}
    for chain in sorted(stale):
        tx.cmd(f"flush chain ip {TABLE} {chain}")
    stale_sets = set(sets)
    stale_sets.difference_update(*affinity)
    stale_sets = {s for s in stale_sets if s.startswith("affinity-")}
    for s in sorted(stale_sets):
        tx.cmd(f"delete set ip {TABLE} {s}")
    return stale


def _write_block(tx: Tx, blk: NftServiceBlock, write: bool) -> None:
    if write and blk.chains:
        tx.lines.append(blk.chains)
    # nftElementStorage.ensureElem, whether or not the chains are written.
    tx.ensure_elems(blk.elements)
    if write and blk.rules:
        tx.lines.append(blk.rules)


_BLOCK_TEXT = operator.attrgetter("chains", "elements_text", "rules")


def _write_services(
    tx: Tx, cache: RenderCache[NftServiceBlock], blocks: list[NftServiceBlock],
    wanted: set[tuple[str, str]] | None, previous: NftState | None,
) -> tuple[ElementOwners, list[tuple[str, str]] | None]:  # fmt: skip
    """Every service's part of the transaction. Returns the element owners for the next
    sync and the elements that went away (None: tx.cleanup_leftovers finds them).

    A partial sync whose owners show no conflict touches only the changed services; a
    full sync where no element is claimed twice writes each block's add-element commands
    as they are (a fresh transaction has nothing to diff against); otherwise every
    element goes through ensure_elems, as upstream's nftElementStorage does."""
    order = cache.order
    if wanted is not None and previous is not None and previous.owners is not None:
        positions = cache.positions(wanted)
        new: dict[tuple[str, str], list] = {}
        for i in positions:
            new.setdefault((order[i].namespace, order[i].name), []).extend(blocks[i].pairs)
        replaced = previous.owners.replace(wanted, new)
        if replaced is not None:
            for i in positions:
                _write_block(tx, blocks[i], True)
            return replaced
    services = [(spn.namespace, spn.name) for spn in order]
    pairs = [blk.pairs for blk in blocks]
    owners = ElementOwners.of(services, pairs)
    if previous is None and len(owners.counts) == sum(map(len, pairs)):
        tx.lines += filter(None, itertools.chain.from_iterable(map(_BLOCK_TEXT, blocks)))
        tx.load_elements(itertools.chain.from_iterable(blk.elements for blk in blocks))
        return owners, []
    for svc, blk in zip(services, blocks, strict=True):
        _write_block(tx, blk, wanted is None or svc in wanted)
    return owners, None


def render(
    service_map: ServicePortMap,
    endpoints_map: EndpointsMap,
    cfg: ProxyConfig,
    *,
    changed: set[NamespacedName] | None = None,
    previous: NftState | None = None,
    existing_chains: frozenset[str] | set[str] = frozenset(),
    existing_sets: frozenset[str] | set[str] = frozenset(),
    cache: RenderCache[NftServiceBlock] | None = None,
) -> NftRender:
    """syncProxyRules' transaction; a full sync unless `changed` and `previous` are given.

    With a `cache` kept across syncs (the Proxier keeps one), only services whose inputs
    changed are rendered again; the text is the same either way."""
    service_map, endpoints_map = prepare_maps(service_map, endpoints_map, "nftables")
    partial = changed is not None and previous is not None
    tx = Tx(TABLE, {} if not partial else {k: dict(v) for k, v in previous.elements.items()})
    created: set[str] = set()
    if not partial:
        _setup(tx, cfg, previous is None, created)
    wanted = None if not partial else {(n.namespace, n.name) for n in changed}
    cache = RenderCache() if cache is None else cache
    cache.begin(cfg, None)

    def build(svc, eps) -> NftServiceBlock:
        return nft_service_block(svc, eps, cfg)

    blocks = cache.blocks(service_map, endpoints_map, build, wanted)
    owners, gone = _write_services(tx, cache, blocks, wanted, previous if partial else None)
    # Skipped services' chains stay as they are in the kernel, but remain active.
    service_created = [blk.created for blk in blocks]
    affinity_sets = [blk.affinity_sets for blk in blocks]
    stale = _stale(tx, service_created, affinity_sets, existing_chains, existing_sets)
    if gone is None:
        tx.cleanup_leftovers()
    else:
        tx.delete_elems(gone)
    state = NftState(tx.elements_snapshot(), stale, owners)
    return NftRender(tx.text(), state)
