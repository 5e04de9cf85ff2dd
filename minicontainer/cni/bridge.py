"""The bridge plugin: a Linux bridge, a veth pair per container, host-local IPAM.

Mirrors containernetworking/plugins plugins/main/bridge/bridge.go (cmdAdd:
ensure the bridge, give it the gateway address when isGateway, create the
veth pair with the host end "veth<8 hex>" on the bridge and the other end
moved into CNI_NETNS as CNI_IFNAME, address + routes inside, ipMasq; cmdDel:
release the lease, delete the container end, drop the masquerade chain;
cmdCheck) and pkg/ip/ipmasq_linux.go (the CNI-<hash> nat chain).
Omitted: VLANs, hairpin mode, promiscuous mode, IPv6, MTU discovery.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import subprocess

from pyroute2 import IPRoute, NetNS

from minicontainer.cni import ipam
from minicontainer.cni.skel import ERR_INVALID_NETWORK_CONFIG, CmdArgs, CNIError

DEFAULT_BRIDGE = "cni0"


def chain_name(network: str, container_id: str) -> str:
    """utils.FormatChainName: CNI- + 24 hex digits of sha512(name + id)."""
    return "CNI-" + hashlib.sha512((network + container_id).encode()).hexdigest()[:24]


def _comment(network: str, container_id: str) -> str:
    return f'name: "{network}" id: "{container_id}"'


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["iptables", "-w", "-t", "nat", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise OSError(f"iptables {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def setup_ip_masq(ipn: ipaddress.IPv4Interface, network: str, container_id: str) -> None:
    chain, comment = chain_name(network, container_id), _comment(network, container_id)
    if _iptables("-N", chain, check=False).returncode != 0:
        _iptables("-F", chain)
    cmt = ["-m", "comment", "--comment", comment]
    _iptables("-A", chain, "-d", str(ipn.network), *cmt, "-j", "ACCEPT")
    _iptables("-A", chain, "!", "-d", "224.0.0.0/4", *cmt, "-j", "MASQUERADE")
    _iptables("-A", "POSTROUTING", "-s", f"{ipn.ip}/32", *cmt, "-j", chain)


def teardown_ip_masq(ip: str, network: str, container_id: str) -> None:
    """Idempotent: every step tolerates "already gone"."""
    chain, comment = chain_name(network, container_id), _comment(network, container_id)
    cmt = ["-m", "comment", "--comment", comment]
    if ip:
        _iptables("-D", "POSTROUTING", "-s", f"{ip}/32", *cmt, "-j", chain, check=False)
    _iptables("-F", chain, check=False)
    _iptables("-X", chain, check=False)


def _link_index(ipr, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def _mac(ipr, index: int) -> str:
    return ipr.get_links(index)[0].get_attr("IFLA_ADDRESS")


def ensure_bridge(ipr, name: str, gateway: ipaddress.IPv4Interface | None) -> int:
    idx = _link_index(ipr, name)
    if idx is None:
        ipr.link("add", ifname=name, kind="bridge")
        idx = _link_index(ipr, name)
    ipr.link("set", index=idx, state="up")
    if gateway is not None:
        have = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=idx, family=2)}
        if str(gateway.ip) not in have:
            ipr.addr("add", index=idx, address=str(gateway.ip), prefixlen=gateway.network.prefixlen)
    return idx


def _setup_veth(ipr, br_idx: int, args: CmdArgs) -> tuple[str, int]:
    host = "veth" + os.urandom(4).hex()
    peer = "tmp" + os.urandom(4).hex()
    ipr.link("add", ifname=host, kind="veth", peer=peer)
    host_idx, peer_idx = _link_index(ipr, host), _link_index(ipr, peer)
    ipr.link("set", index=host_idx, master=br_idx, state="up")
    ipr.link("set", index=peer_idx, net_ns_fd=args.netns)
    return host, host_idx


def _configure_container(args: CmdArgs, peer_tmp: str | None, addr, gw, routes) -> str:
    with NetNS(args.netns) as ns:
        idx = _link_index(ns, peer_tmp) if peer_tmp else _link_index(ns, args.ifname)
        ns.link("set", index=idx, ifname=args.ifname)
        ns.addr("add", index=idx, address=str(addr.ip), prefixlen=addr.network.prefixlen)
        ns.link("set", index=idx, state="up")
        for r in routes:
            dst = ipaddress.ip_network(r["dst"])
            via = r.get("gw") or str(gw)
            # proto boot (3), as Go's netlink.RouteAdd leaves it.
            ns.route(
                "add", dst=str(dst.network_address), dst_len=dst.prefixlen, gateway=via, proto=3
            )
        return _mac(ns, idx)


def cmd_add(args: CmdArgs, conf: dict) -> dict:
    if not conf.get("ipam"):
        raise CNIError(ERR_INVALID_NETWORK_CONFIG, "missing IPAM configuration")
    network, br_name = conf["name"], conf.get("bridge") or DEFAULT_BRIDGE
    addr, gw, routes = ipam.allocate(conf["ipam"], network, args.container_id, args.ifname)
    gw_iface = ipaddress.ip_interface(f"{gw}/{addr.network.prefixlen}")
    try:
        with IPRoute() as ipr:
            br_idx = ensure_bridge(ipr, br_name, gw_iface if conf.get("isGateway") else None)
            with NetNS(args.netns) as ns:
                peer_before = {link.get_attr("IFLA_IFNAME") for link in ns.get_links()}
            host, host_idx = _setup_veth(ipr, br_idx, args)
            with NetNS(args.netns) as ns:
                names = {link.get_attr("IFLA_IFNAME") for link in ns.get_links()}
            peer = next(iter(names - peer_before))
            cont_mac = _configure_container(args, peer, addr, gw, routes)
            br_mac, host_mac = _mac(ipr, br_idx), _mac(ipr, host_idx)
        if conf.get("isGateway"):
            with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                f.write("1")
        if conf.get("ipMasq"):
            setup_ip_masq(addr, network, args.container_id)
    except BaseException:
        ipam.release(conf["ipam"], network, args.container_id, args.ifname)
        raise
    return {
        "cniVersion": conf.get("cniVersion", "1.0.0"),
        "interfaces": [
            {"name": br_name, "mac": br_mac},
            {"name": host, "mac": host_mac},
            {"name": args.ifname, "mac": cont_mac, "sandbox": args.netns},
        ],
        "ips": [{"interface": 2, "address": str(addr), "gateway": str(gw)}],
        "routes": routes,
        "dns": conf.get("dns") or {},
    }


def cmd_del(args: CmdArgs, conf: dict) -> None:
    """Remove what ADD made; every part may already be gone (DEL is idempotent)."""
    network = conf["name"]
    ipam_conf = conf.get("ipam") or {}
    with ipam.Store(network, ipam_conf.get("dataDir")) as store:
        leased = store.find(args.container_id, args.ifname)
    ipam.release(ipam_conf, network, args.container_id, args.ifname)
    if args.netns and os.path.exists(args.netns):
        with NetNS(args.netns) as ns:
            idx = _link_index(ns, args.ifname)
            if idx is not None:
                ns.link("del", index=idx)  # deleting one end removes the pair
    if conf.get("ipMasq"):
        teardown_ip_masq(str(leased[0]) if leased else "", network, args.container_id)
    return None


def cmd_check(args: CmdArgs, conf: dict) -> None:
    network = conf["name"]
    with ipam.Store(network, (conf.get("ipam") or {}).get("dataDir")) as store:
        leased = store.find(args.container_id, args.ifname)
    if not leased:
        raise CNIError(ERR_INVALID_NETWORK_CONFIG, f"no IP lease for {args.container_id}")
    with NetNS(args.netns) as ns:
        idx = _link_index(ns, args.ifname)
        if idx is None:
            raise CNIError(ERR_INVALID_NETWORK_CONFIG, f"interface {args.ifname} not found")
        have = {a.get_attr("IFA_ADDRESS") for a in ns.get_addr(index=idx, family=2)}
    if str(leased[0]) not in have:
        raise CNIError(ERR_INVALID_NETWORK_CONFIG, f"{args.ifname} lacks {leased[0]}")
    return None
