"""Each proxier's own service-port and endpoint infos, prepared when a change is tracked.

Mirrors k8s.io/kubernetes pkg/proxy/iptables/proxier.go (servicePortInfo, newServiceInfo,
endpointInfo, newEndpointInfo) and the same types of pkg/proxy/nftables/proxier.go. Upstream
hands these constructors to the change trackers (makeServiceInfo / makeEndpointInfo), so the
sha256 chain names are computed once per Service or EndpointSlice change, in the informer
handler, and syncProxyRules only reads them. `prepared` gives the same infos to callers
that build base maps by hand (tests, the `render` command).
Omitted: the IPv6 variants of the names (the proxiers are IPv4 only).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.nftables_tx import element
from miniproxy.kubeproxy.types import (
    EndpointInfo,
    EndpointList,
    ServicePortInfo,
    ServicePortName,
)

_SVC_FIELDS = tuple(f.name for f in fields(ServicePortInfo))
_EP_FIELDS = tuple(f.name for f in fields(EndpointInfo) if f.init)


def _derived() -> Any:
    # Derived from the base fields, so equality and hashing ignore them.
    return field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class IptablesServicePortInfo(ServicePortInfo):
    """servicePortInfo (iptables): the base info plus its precomputed chain names.

    Also the fragments of the ClusterIP rules that depend on this service port alone:
    its KUBE-SERVICES capture and the head of its masquerade rule."""

    name_string: str = _derived()
    proto: str = _derived()  # lower-case protocol, as -m/-p take it
    uses_cluster: bool = _derived()  # UsesClusterEndpoints()
    uses_local: bool = _derived()  # UsesLocalEndpoints()
    external: bool = _derived()  # ExternallyAccessible()
    cluster_policy_chain_name: str = _derived()
    local_policy_chain_name: str = _derived()
    firewall_chain_name: str = _derived()
    external_chain_name: str = _derived()
    cluster_ip_capture: str = _derived()
    internal_masq_head: str = _derived()
    cluster_chain_line: str = _derived()  # ":KUBE-SVC-... - [0:0]"
    local_chain_line: str = _derived()


@dataclass(frozen=True)
class IptablesEndpointInfo(EndpointInfo):
    """endpointInfo (iptables): the base info plus its KUBE-SEP chain name.

    Also the chain's declaration and its two rules as syncProxyRules writes them without
    affinity (the usual case), with and without comments: they depend only on this
    endpoint and its service port name, so they are built once here.
    """

    chain_name: str = _derived()
    chain_line: str = _derived()
    jump: str = _derived()  # " -j KUBE-SEP-...", the tail of its rung in the ladder
    sep_rules: str = _derived()
    sep_rules_commented: str = _derived()


@dataclass(frozen=True)
class NftServicePortInfo(ServicePortInfo):
    """servicePortInfo (nftables): the base info plus its chain names."""

    name_string: str = _derived()
    proto: str = _derived()
    uses_cluster: bool = _derived()
    uses_local: bool = _derived()
    external: bool = _derived()
    cluster_policy_chain_name: str = _derived()
    local_policy_chain_name: str = _derived()
    external_chain_name: str = _derived()
    firewall_chain_name: str = _derived()
    # Its cluster-ips and service-ips elements (with their add commands joined), its
    # policy chains' add/flush commands, and the head of its masquerade rule: they
    # depend on this port alone.
    internal_elements: tuple = _derived()
    internal_elements_text: str = _derived()
    cluster_chain_lines: str = _derived()
    local_chain_lines: str = _derived()
    internal_masq_head: str = _derived()


@dataclass(frozen=True)
class NftEndpointInfo(EndpointInfo):
    """endpointInfo (nftables): the base info plus its chain and affinity set names, and
    (built once here, like the iptables SEP rules) the chain's add/flush commands and
    its rules without affinity."""

    chain_name: str = _derived()
    affinity_set_name: str = _derived()
    goto: str = _derived()  # "goto endpoint-...", its entry in the endpoint ladder or vmap
    chain_lines: str = _derived()
    endpoint_rules: str = _derived()


class IptablesEndpoints(EndpointList):
    """A service port's endpoints (iptables infos) with their KUBE-SEP chains'
    declarations and rules joined once, for the usual sync in which every endpoint is
    used; the sync still decides that (topology.categorize)."""

    __slots__ = ("chain_lines", "sep_rules", "sep_rules_commented")

    @classmethod
    def of(cls, endpoints: list) -> IptablesEndpoints:
        out = cls(endpoints)
        out.chain_lines = "\n".join([ep.chain_line for ep in endpoints])
        out.sep_rules = "\n".join([ep.sep_rules for ep in endpoints])
        out.sep_rules_commented = "\n".join([ep.sep_rules_commented for ep in endpoints])
        return out


class NftEndpoints(EndpointList):
    """A service port's endpoints (nftables infos) with their chains' add/flush commands
    and rules joined once, for the usual sync in which every endpoint is used."""

    __slots__ = ("chain_lines", "endpoint_rules")

    @classmethod
    def of(cls, endpoints: list) -> NftEndpoints:
        out = cls(endpoints)
        out.chain_lines = "\n".join([ep.chain_lines for ep in endpoints])
        out.endpoint_rules = "\n".join([ep.endpoint_rules for ep in endpoints])
        return out


def _base(info, names_: tuple[str, ...]) -> dict:
    return {n: getattr(info, n) for n in names_}


def new_iptables_service_info(base: ServicePortInfo) -> IptablesServicePortInfo:
    """newServiceInfo: hash the service port name once, for all four policy chains."""
    spn = base.name
    proto = base.protocol.lower()
    h = names.port_proto_hash(str(spn), proto)
    internal = (names.SVL_PREFIX if base.internal_policy_local else names.SVC_PREFIX) + h
    comment = f'-m comment --comment "{spn} cluster IP"'
    match = f"-m {proto} -p {proto} -d {base.cluster_ip} --dport {base.port}"
    return IptablesServicePortInfo(
        **_base(base, _SVC_FIELDS),
        name_string=str(spn),
        proto=proto,
        uses_cluster=base.uses_cluster_endpoints(),
        uses_local=base.uses_local_endpoints(),
        external=base.externally_accessible(),
        cluster_policy_chain_name=names.SVC_PREFIX + h,
        local_policy_chain_name=names.SVL_PREFIX + h,
        firewall_chain_name=names.FW_PREFIX + h,
        external_chain_name=names.EXT_PREFIX + h,
        cluster_ip_capture=f"-A KUBE-SERVICES {comment} {match} -j {internal}",
        internal_masq_head=f"-A {internal} {comment} {match}",
        cluster_chain_line=f":{names.SVC_PREFIX}{h} - [0:0]",
        local_chain_line=f":{names.SVL_PREFIX}{h} - [0:0]",
    )


def new_iptables_endpoint_info(base: EndpointInfo, spn: ServicePortName) -> IptablesEndpointInfo:
    """newEndpointInfo: the KUBE-SEP name hashes the service port and "ip:port"."""
    c, p, ip = names.sep_chain(spn, base), spn.protocol.lower(), base.ip
    comment = f" -m comment --comment {spn}"
    # Hairpin first: a pod reaching itself through its service must be masqueraded.
    masq, dnat = f"-s {ip} -j KUBE-MARK-MASQ", f"-m {p} -p {p} -j DNAT --to-destination {base}"
    return IptablesEndpointInfo(
        **_base(base, _EP_FIELDS),
        chain_name=c,
        chain_line=f":{c} - [0:0]",
        jump=f" -j {c}",
        sep_rules=f"-A {c} {masq}\n-A {c} {dnat}",
        sep_rules_commented=f"-A {c}{comment} {masq}\n-A {c}{comment} {dnat}",
    )


def new_nft_service_info(base: ServicePortInfo) -> NftServicePortInfo:
    """newServiceInfo (nftables): one hashAndTruncate'd base for the four chains."""
    chain_base = names.nft_chain_base(base.name)
    internal = ("local-" if base.internal_policy_local else "service-") + chain_base
    t, ip, proto = names.NFT_TABLE, base.cluster_ip, base.protocol.lower()
    elements = (
        element(t, "cluster-ips", ip),
        element(t, "service-ips", f"{ip} . {proto} . {base.port}", f"goto {internal}"),
    )
    chain_lines = "add chain ip {t} {c}\nflush chain ip {t} {c}".format
    return NftServicePortInfo(
        **_base(base, _SVC_FIELDS),
        name_string=str(base.name),
        proto=proto,
        uses_cluster=base.uses_cluster_endpoints(),
        uses_local=base.uses_local_endpoints(),
        external=base.externally_accessible(),
        cluster_policy_chain_name="service-" + chain_base,
        local_policy_chain_name="local-" + chain_base,
        external_chain_name="external-" + chain_base,
        firewall_chain_name="firewall-" + chain_base,
        internal_elements=elements,
        internal_elements_text="\n".join(e.add for e in elements),
        cluster_chain_lines=chain_lines(t=t, c="service-" + chain_base),
        local_chain_lines=chain_lines(t=t, c="local-" + chain_base),
        internal_masq_head=f"add rule ip {t} {internal} ip daddr {ip} {proto} dport {base.port}",
    )


def new_nft_endpoint_info(base: EndpointInfo, spn: ServicePortName) -> NftEndpointInfo:
    """newEndpointInfo (nftables): endpoint-<base> chain and affinity-<base> set."""
    chain_base = names.nft_endpoint_base(spn, base)
    c, t = "endpoint-" + chain_base, names.NFT_TABLE
    # Hairpin first: a pod reaching itself through its service must be masqueraded.
    masq = f"add rule ip {t} {c} ip saddr {base.ip} jump mark-for-masquerade"
    dnat = f"add rule ip {t} {c} meta l4proto {spn.protocol.lower()} dnat to {base}"
    return NftEndpointInfo(
        **_base(base, _EP_FIELDS),
        chain_name=c,
        affinity_set_name="affinity-" + chain_base,
        goto=f"goto {c}",
        chain_lines=f"add chain ip {t} {c}\nflush chain ip {t} {c}",
        endpoint_rules=f"{masq}\n{dnat}",
    )


def make_iptables_service_info(base: ServicePortInfo) -> ServicePortInfo:
    return base if type(base) is IptablesServicePortInfo else new_iptables_service_info(base)


def make_iptables_endpoint_info(base: EndpointInfo, spn: ServicePortName) -> EndpointInfo:
    if type(base) is IptablesEndpointInfo:
        return base
    return new_iptables_endpoint_info(base, spn)


def make_nft_service_info(base: ServicePortInfo) -> ServicePortInfo:
    return base if type(base) is NftServicePortInfo else new_nft_service_info(base)


def make_nft_endpoint_info(base: EndpointInfo, spn: ServicePortName) -> EndpointInfo:
    return base if type(base) is NftEndpointInfo else new_nft_endpoint_info(base, spn)


def prepared(
    svcs: list[ServicePortInfo], endpoint_lists: list, mode: str
) -> tuple[list[ServicePortInfo], list]:
    """These service ports and their endpoint lists with every info prepared for `mode`;
    the same lists when they already are.

    The Proxier's trackers prepare infos and lists as changes arrive, so there this is two
    type scans in C (a few milliseconds at 10k services); maps built by hand (tests, the
    `render` command) get prepared copies."""
    iptables = mode == "iptables"
    svc_type = IptablesServicePortInfo if iptables else NftServicePortInfo
    list_type = IptablesEndpoints if iptables else NftEndpoints
    if not set(map(type, svcs)) <= {svc_type}:
        make_svc = make_iptables_service_info if iptables else make_nft_service_info
        svcs = list(map(make_svc, svcs))
    # An IptablesEndpoints / NftEndpoints holds prepared infos only (`of` is given them).
    if set(map(type, filter(None, endpoint_lists))) <= {list_type}:
        return svcs, endpoint_lists
    make_ep = make_iptables_endpoint_info if iptables else make_nft_endpoint_info
    endpoint_lists = [
        list_type.of([make_ep(ep, svc.name) for ep in eps]) if eps else eps
        for svc, eps in zip(svcs, endpoint_lists, strict=True)
    ]
    return svcs, endpoint_lists
