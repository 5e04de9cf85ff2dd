"""Render the iptables-restore input the iptables proxier writes in syncProxyRules.

Mirrors k8s.io/kubernetes pkg/proxy/iptables/proxier.go (syncProxyRules: the top-level
chains, KUBE-POSTROUTING / KUBE-MARK-MASQ, stale chain deletion, the NodePort tail call,
KUBE-FORWARD, largeClusterMode); the per-service part is in iptables_service.py. A pure function over the service map, the endpoints map and the
node's ProxyConfig: the same chains, rules, comments and order upstream writes, except
that services are visited in sorted order (upstream iterates a Go map).
Partial sync (MinimizeIPTablesRestore): with `changed` given, the SVC/SVL/EXT/FW/SEP chains
of unchanged services are left out, exactly as upstream skips them.
Omitted: nfacct counters, health-check node ports' servers, IPv6.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

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
from miniproxy.kubeproxy.iptables_service import (
    ServiceRules,
    active_chains,
    line,
    write_captures,
    write_service_chains,
)
from miniproxy.kubeproxy.types import (
    EndpointInfo,
    EndpointsMap,
    NamespacedName,
    ProxyConfig,
    ServicePortInfo,
    ServicePortMap,
)


@dataclass
class IptablesRender:
    """The restore input and what the sync needs to remember about it."""

    text: str
    active_nat_chains: set[str] = field(default_factory=set)
    filter_rules: int = 0
    nat_rules: int = 0
    deleted_chains: int = 0


class _Buffers:
    """The four LineBuffers of syncProxyRules, plus the discard buffers of partial syncs."""

    def __init__(self) -> None:
        self.filter_chains: list[str] = []
        self.filter_rules: list[str] = []
        self.nat_chains: list[str] = []
        self.nat_rules: list[str] = []
        self.active_nat_chains: set[str] = set()


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


def _write_tail(b: _Buffers, cfg: ProxyConfig, existing_nat_chains, deleted: list[str]) -> None:
    """Stale chain deletion, the NodePort tail call and the KUBE-FORWARD rules."""
    for chain in sorted(set(existing_nat_chains) - b.active_nat_chains):
        if names.is_service_chain_name(chain):
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


@functools.lru_cache(maxsize=1 << 16)
def _captures(svc: ServicePortInfo, endpoints: tuple[EndpointInfo, ...], cfg: ProxyConfig):
    """A service's decisions and capture rules; values are frozen, so syncs reuse them the
    way upstream keeps per-service chain names "for performance reasons"."""
    s = ServiceRules(svc, list(endpoints), cfg)
    buf = _Buffers()
    write_captures(buf, s, cfg)
    return s, tuple(buf.nat_rules), tuple(buf.filter_rules)


def render(
    service_map: ServicePortMap,
    endpoints_map: EndpointsMap,
    cfg: ProxyConfig,
    *,
    changed: set[NamespacedName] | None = None,
    existing_nat_chains: set[str] | frozenset[str] = frozenset(),
) -> IptablesRender:
    """syncProxyRules' restore input; `changed=None` is a full sync."""
    b = _Buffers()
    _write_top_level(b, cfg)
    total = sum(len(endpoints_map.get(spn, ())) for spn in service_map)
    comments = total <= LARGE_CLUSTER_ENDPOINTS_THRESHOLD
    for spn in sorted(service_map, key=str):
        s, nat_captures, filter_captures = _captures(
            service_map[spn], tuple(endpoints_map.get(spn, ())), cfg
        )
        b.nat_rules += nat_captures
        b.filter_rules += filter_captures
        if changed is not None and spn.namespaced_name not in changed:
            # Unchanged: its chains stay as they are in the kernel, but remain active.
            b.active_nat_chains |= active_chains(s)
        else:
            b.active_nat_chains |= write_service_chains(b.nat_chains, b.nat_rules, s, cfg, comments)
    deleted: list[str] = []
    _write_tail(b, cfg, existing_nat_chains, deleted)
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
    return IptablesRender(
        text, b.active_nat_chains, len(b.filter_rules), len(b.nat_rules), len(deleted)
    )
