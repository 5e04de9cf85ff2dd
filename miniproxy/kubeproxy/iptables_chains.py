"""The iptables proxier's own chains and the jump rules that hook them into the kernel.

Mirrors the constants and iptablesJumpChains / iptablesKubeletJumpChains of
k8s.io/kubernetes pkg/proxy/iptables/proxier.go. The jump rules are not part of the
restore input: the proxier ensures them one by one (EnsureChain, EnsureRule Prepend).
"""

from __future__ import annotations

from dataclasses import dataclass

KUBE_SERVICES = "KUBE-SERVICES"
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
KUBE_NODEPORTS = "KUBE-NODEPORTS"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBE_FIREWALL = "KUBE-FIREWALL"
# Upstream switches comments off above this many endpoints (largeClusterMode).
LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000


@dataclass(frozen=True)
class JumpChain:
    """iptablesJumpChain: a rule in a built-in chain that jumps to one of ours."""

    table: str
    dst_chain: str
    src_chain: str
    comment: str
    extra_args: tuple[str, ...] = ()

    def rule_args(self) -> list[str]:
        args = list(self.extra_args)
        if self.comment:
            args += ["-m", "comment", "--comment", self.comment]
        return args + ["-j", self.dst_chain]


_NEW = ("-m", "conntrack", "--ctstate", "NEW")
JUMP_CHAINS: tuple[JumpChain, ...] = (
    JumpChain(
        "filter",
        KUBE_EXTERNAL_SERVICES,
        "INPUT",
        "kubernetes externally-visible service portals",
        _NEW,
    ),
    JumpChain(
        "filter",
        KUBE_EXTERNAL_SERVICES,
        "FORWARD",
        "kubernetes externally-visible service portals",
        _NEW,
    ),
    JumpChain("filter", KUBE_NODEPORTS, "INPUT", "kubernetes health check service ports"),
    JumpChain("filter", KUBE_SERVICES, "FORWARD", "kubernetes service portals", _NEW),
    JumpChain("filter", KUBE_SERVICES, "OUTPUT", "kubernetes service portals", _NEW),
    JumpChain("filter", KUBE_FORWARD, "FORWARD", "kubernetes forwarding rules"),
    JumpChain("filter", KUBE_PROXY_FIREWALL, "INPUT", "kubernetes load balancer firewall", _NEW),
    JumpChain("filter", KUBE_PROXY_FIREWALL, "OUTPUT", "kubernetes load balancer firewall", _NEW),
    JumpChain("filter", KUBE_PROXY_FIREWALL, "FORWARD", "kubernetes load balancer firewall", _NEW),
    JumpChain("nat", KUBE_SERVICES, "OUTPUT", "kubernetes service portals"),
    JumpChain("nat", KUBE_SERVICES, "PREROUTING", "kubernetes service portals"),
    JumpChain("nat", KUBE_POSTROUTING, "POSTROUTING", "kubernetes postrouting rules"),
    # iptablesKubeletJumpChains: kubelet's copy of the anti-martian chain.
    JumpChain("filter", KUBE_FIREWALL, "INPUT", ""),
    JumpChain("filter", KUBE_FIREWALL, "OUTPUT", ""),
)
