"""Render the iptables-restore input the iptables proxier writes in syncProxyRules.

Mirrors k8s.io/kubernetes pkg/proxy/iptables/proxier.go (syncProxyRules: the top-level
chains, KUBE-POSTROUTING / KUBE-MARK-MASQ, stale chain deletion, the NodePort tail call,
KUBE-FORWARD, largeClusterMode); the per-service part is in iptables_service.py. A pure
function over the service map, the endpoints map and the node's ProxyConfig: the same
chains, rules, comments and order upstream writes, except that services are visited in
sorted order (upstream iterates a Go map). The text is gathered as upstream's LineBuffers
do: lists of (multi-line) strings, joined once.
Partial sync (MinimizeIPTablesRestore): with `changed` given, the SVC/SVL/EXT/FW/SEP chains
of unchanged services are left out, exactly as upstream skips them. Each service's lines
are rendered once and reused while its inputs stay the same objects (render_cache.py);
chain names were hashed when the change was tracked (port_info.py).
Omitted: nfacct counters, health-check node ports' servers, IPv6.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat

from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.iptables_chains import (
    KUBE_EXTERNAL_SERVICES,
    KUBE_FIREWALL,
    KUBE_FORWARD,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_POSTROUTING,
    KUBE_PROXY_FIREWALL,
    KUBE_SERVICES,
    LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
)
from miniproxy.kubeproxy.iptables_service import ServiceBlock, service_block
from miniproxy.kubeproxy.port_info import prepared
from miniproxy.kubeproxy.render_cache import RenderCache
from miniproxy.kubeproxy.types import EndpointsMap, NamespacedName, ProxyConfig, ServicePortMap


@dataclass
class IptablesRender:
    """The restore input and what the sync needs to remember about it."""

    text: str
    filter_rules: int = 0
    nat_rules: int = 0
    deleted_chains: int = 0


def line(buf: list[str], *words: str) -> None:
    buf.append(" ".join(words))


class _Buffers:
    """The four LineBuffers of syncProxyRules, plus the discard buffers of partial syncs."""

    def __init__(self) -> None:
        self.filter_chains: list[str] = []
        self.filter_rules: list[str] = []
        self.nat_chains: list[str] = []
        self.nat_rules: list[str] = []


def _write_top_level(b: _Buffers, cfg: ProxyConfig) -> None:
    for chain in (
        KUBE_SERVICES,
        KUBE_EXTERNAL_SERVICES,
        KUBE_FORWARD,
        KUBE_NODEPORTS,
        KUBE_PROXY_FIREWALL,
    ):
        b.filter_chains.append(f":{chain} - [0:0]")
    for chain in (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ):
        b.nat_chains.append(f":{chain} - [0:0]")
    mark = cfg.masquerade_mark
    line(
        b.nat_rules,
        "-A",
        KUBE_POSTROUTING,
        "-m",
        "mark",
        "!",
        "--mark",
        f"{mark}/{mark}",
        "-j",
        "RETURN",
    )
    # Clear the mark so a packet that re-traverses the stack is not masqueraded twice.
    line(b.nat_rules, "-A", KUBE_POSTROUTING, "-j", "MARK", "--xor-mark", mark)
    line(
        b.nat_rules, "-A", KUBE_POSTROUTING, "-m", "comment", "--comment",
        '"kubernetes service traffic requiring SNAT"', "-j", "MASQUERADE", "--random-fully",
    )  # fmt: skip
    line(b.nat_rules, "-A", KUBE_MARK_MASQ, "-j", "MARK", "--or-mark", mark)
    if cfg.localhost_nodeports_enabled():
        # route_localnet opens 127/8 NodePorts; this rule closes the hole (issue 90259).
        b.filter_chains.append(f":{KUBE_FIREWALL} - [0:0]")
        line(
            b.filter_rules, "-A", KUBE_FIREWALL, "-m", "comment", "--comment",
            '"block incoming localnet connections"', "-d", "127.0.0.0/8", "!", "-s",
            "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT",
            "-j", "DROP",
        )  # fmt: skip


def _declared(chains: Iterable[str]) -> set[str]:
    """The chain names declared by ":NAME - [0:0]" lines (an entry may hold several)."""
    text = "\n".join(filter(None, chains))
    return set(text.replace(" - [0:0]", "").replace(":", "").split("\n")) if text else set()


def _write_tail(
    b: _Buffers, cfg: ProxyConfig, existing_nat_chains, chains: Iterable[str], deleted: list[str]
) -> None:
    """Stale chain deletion, the NodePort tail call and the KUBE-FORWARD rules.

    A service's active chains are those its block declares (`chains`, every service's,
    also the ones a partial sync does not write); they are parsed only when the kernel's
    chains were listed."""
    stale: set[str] = set()
    if existing_nat_chains:
        stale = set(existing_nat_chains) - _declared(chains)
        stale = {c for c in stale if names.is_service_chain_name(c)}
    for chain in sorted(stale):
        b.nat_chains.append(f":{chain} - [0:0]")
        line(b.nat_rules, "-X", chain)
        deleted.append(chain)
    comment = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"'
    if cfg.nodeport_match_all():
        dests = ["-m", "addrtype", "--dst-type", "LOCAL"]
        if not cfg.localhost_nodeports_enabled():
            dests += ["!", "-d", "127.0.0.0/8"]
        line(
            b.nat_rules,
            "-A",
            KUBE_SERVICES,
            "-m",
            "comment",
            "--comment",
            comment,
            *dests,
            "-j",
            KUBE_NODEPORTS,
        )
    else:
        for ip in cfg.nodeport_ips():
            if ip.startswith("127.") and not cfg.localhost_nodeports_enabled():
                continue
            line(b.nat_rules, "-A", KUBE_SERVICES, "-m", "comment", "--comment", comment,
                  "-d", ip, "-j", KUBE_NODEPORTS)  # fmt: skip
    if not cfg.conntrack_tcp_liberal:
        # Out-of-window packets would otherwise reset connections (issue 74839).
        line(
            b.filter_rules,
            "-A",
            KUBE_FORWARD,
            "-m",
            "conntrack",
            "--ctstate",
            "INVALID",
            "-j",
            "DROP",
        )
    mark = cfg.masquerade_mark
    line(b.filter_rules, "-A", KUBE_FORWARD, "-m", "comment", "--comment", '"kubernetes forwarding rules"',
          "-m", "mark", "--mark", f"{mark}/{mark}", "-j", "ACCEPT")  # fmt: skip
    line(b.filter_rules, "-A", KUBE_FORWARD, "-m", "comment", "--comment",
          '"kubernetes forwarding conntrack rule"', "-m", "conntrack", "--ctstate",
          "RELATED,ESTABLISHED", "-j", "ACCEPT")  # fmt: skip


def render(
    service_map: ServicePortMap,
    endpoints_map: EndpointsMap,
    cfg: ProxyConfig,
    *,
    changed: set[NamespacedName] | None = None,
    existing_nat_chains: set[str] | frozenset[str] = frozenset(),
    cache: RenderCache[ServiceBlock] | None = None,
) -> IptablesRender:
    """syncProxyRules' restore input; `changed=None` is a full sync.

    With a `cache` kept across syncs (the Proxier keeps one), only services whose
    inputs changed are rendered again; the text is the same either way.
    """
    cache = RenderCache() if cache is None else cache
    wanted = None if changed is None else {(n.namespace, n.name) for n in changed}
    todo = cache.refresh(service_map, endpoints_map, wanted)
    # largeClusterMode: past this many endpoints, rules carry no comments.
    comments = cache.endpoint_count() <= LARGE_CLUSTER_ENDPOINTS_THRESHOLD

    def build_many(svcs: list, endpoint_lists: list) -> list[ServiceBlock]:
        svcs, endpoint_lists = prepared(svcs, endpoint_lists, "iptables")
        return list(map(service_block, svcs, endpoint_lists, repeat(cfg), repeat(comments)))

    # Every service port's block, as columns; the buffers get multi-line entries, so
    # lines are counted from the blocks' counts.
    table = cache.build((cfg, comments), todo, build_many, ServiceBlock)
    caps, flt, chains, ep_chains, rules, ladders, ep_rules, n_caps, n_flt, n_rules = table
    b = _Buffers()
    _write_top_level(b, cfg)
    top_nat, top_filter = len(b.nat_rules), len(b.filter_rules)
    b.filter_rules += filter(None, flt)
    n_filter, n_nat = sum(n_flt), sum(n_caps)
    if wanted is None:
        b.nat_chains += filter(
            None, itertools.chain.from_iterable(zip(chains, ep_chains, strict=True))
        )
        # Each service's KUBE-SERVICES captures, then its chains' rules.
        b.nat_rules += filter(
            None, itertools.chain.from_iterable(zip(caps, rules, ladders, ep_rules, strict=True))
        )
        n_nat += sum(n_rules)
    else:
        # Unchanged services' chains stay as they are in the kernel (but remain active);
        # every service's captures are written, as KUBE-SERVICES is rewritten whole.
        nat = list(caps)
        for i in cache.positions(wanted):
            b.nat_chains += filter(None, (chains[i], ep_chains[i]))
            nat[i] = "\n".join(filter(None, (caps[i], rules[i], ladders[i], ep_rules[i])))
            n_nat += n_rules[i]
        b.nat_rules += filter(None, nat)
    blocks_nat, blocks_filter = len(b.nat_rules), len(b.filter_rules)
    deleted: list[str] = []
    _write_tail(b, cfg, existing_nat_chains, itertools.chain(chains, ep_chains), deleted)
    text = "\n".join(
        [
            "*filter",
            *b.filter_chains,
            *b.filter_rules,
            "COMMIT",
            "*nat",
            *b.nat_chains,
            *b.nat_rules,
            "COMMIT",
            "",
        ]
    )
    # Top-level and tail entries are one line each; the loop's blocks were counted above.
    return IptablesRender(
        text,
        n_filter + len(b.filter_rules) - blocks_filter + top_filter,
        n_nat + len(b.nat_rules) - blocks_nat + top_nat,
        len(deleted),
    )
