"""kube-proxy's command line: the running mode, --cleanup, and render/trace without root.

Mirrors k8s.io/kubernetes cmd/kube-proxy/app/server.go (flags --proxy-mode,
--hostname-override, --cluster-cidr, --nodeport-addresses, --masquerade-all, --cleanup) plus
two teaching subcommands:
  python -m miniproxy.kubeproxy render --proxy-mode iptables --node node1 FILE.yaml
  python -m miniproxy.kubeproxy trace FILE.yaml --from 10.0.0.5 --to 172.30.0.41:80/tcp
  python -m miniproxy.kubeproxy --kubeconfig K --hostname-override node1 --proxy-mode nftables
runs the proxier against an API server (server.py). --netns is ours, not upstream's: it
points the kernel adapters into a network namespace (tests, demos).
"""

from __future__ import annotations

import argparse
import sys

from miniproxy.kubeproxy.kernel import IptablesKernel, KernelError, NftKernel
from miniproxy.kubeproxy.types import ProxyConfig


def _config(args: argparse.Namespace) -> ProxyConfig:
    return ProxyConfig(
        node_name=args.node,
        node_ips=tuple(args.node_ip),
        cluster_cidr=args.cluster_cidr,
        masquerade_all=args.masquerade_all,
        nodeport_addresses=tuple(args.nodeport_addresses),
    )


def _load(args: argparse.Namespace):
    from miniproxy.kubeproxy.changes import EndpointsChangeTracker, ServiceChangeTracker
    from miniproxy.kubeproxy.convert import load_manifests

    with open(args.file) as f:
        services, slices = load_manifests(f.read())
    st, et = ServiceChangeTracker(), EndpointsChangeTracker(args.node)
    for svc in services:
        st.update(None, svc)
    for eps in slices:
        et.endpoint_slice_update(eps, False)
    svc_map, ep_map = {}, {}
    st.apply(svc_map)
    et.apply(ep_map)
    return svc_map, ep_map


def cmd_render(args: argparse.Namespace) -> int:
    from miniproxy.kubeproxy import iptables_proxier, nftables_proxier

    svc_map, ep_map = _load(args)
    if args.proxy_mode == "iptables":
        sys.stdout.write(iptables_proxier.render(svc_map, ep_map, _config(args)).text)
    else:
        sys.stdout.write(nftables_proxier.render(svc_map, ep_map, _config(args)).text)
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from miniproxy.kubeproxy import iptables_proxier, nftables_proxier
    from miniproxy.kubeproxy.nftables_model import NftTable
    from miniproxy.kubeproxy.tracer import Packet, format_result
    from miniproxy.kubeproxy.tracer_iptables import trace_iptables, with_jump_rules
    from miniproxy.kubeproxy.tracer_nftables import trace_nftables

    dest, _, proto = args.to.partition("/")
    ip, _, port = dest.rpartition(":")
    pkt = Packet(args.from_ip, ip, int(port), proto or "tcp")
    svc_map, ep_map = _load(args)
    cfg = _config(args)
    local = frozenset(cfg.node_ips)
    if args.proxy_mode == "iptables":
        result = trace_iptables(
            with_jump_rules(iptables_proxier.render(svc_map, ep_map, cfg).text), pkt, local
        )
    else:
        table = NftTable()
        table.run(nftables_proxier.render(svc_map, ep_map, cfg).text)
        result = trace_nftables(table, pkt, local)
    print(format_result(result))
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    try:
        IptablesKernel(args.netns).cleanup()
        NftKernel(args.netns).cleanup()
    except KernelError as err:
        print(f"Error cleaning up: {err}", file=sys.stderr)
        return 1
    return 0


def _flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--proxy-mode", choices=("iptables", "nftables"), default="iptables")
    p.add_argument("--node", "--hostname-override", dest="node", default="node1")
    p.add_argument("--node-ip", action="append", default=[], help="a local address of the node")
    p.add_argument("--cluster-cidr", default=None)
    p.add_argument("--masquerade-all", action="store_true")
    p.add_argument("--nodeport-addresses", action="append", default=[])
    p.add_argument("--nftables-endpoint-ladder", action="store_true", help="not upstream; see docs")


def _common(p: argparse.ArgumentParser) -> None:
    _flags(p)
    p.add_argument("file", help="multi-document YAML with Services and EndpointSlices")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m miniproxy.kubeproxy", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--cleanup", action="store_true", help="remove every rule kube-proxy installed, then exit"
    )
    parser.add_argument("--kubeconfig", default="", help="run the proxier against this API server")
    parser.add_argument("--iptables-sync-period", default="30s")
    parser.add_argument("--iptables-min-sync-period", default="1s")
    parser.add_argument("--netns", default=None, help="apply rules in this network namespace")
    parser.add_argument("--metrics-bind-address", default="127.0.0.1:10249")
    parser.add_argument("--healthz-bind-address", default="0.0.0.0:10256")
    _flags(parser)
    sub = parser.add_subparsers(dest="command")
    render = sub.add_parser("render", help="print the rules the proxier would load")
    _common(render)
    trace = sub.add_parser("trace", help="walk a packet through the rendered rules")
    _common(trace)
    trace.add_argument("--from", dest="from_ip", required=True)
    trace.add_argument("--to", required=True, help="IP:PORT[/tcp|udp]")
    args = parser.parse_args(argv)
    if args.cleanup:
        return cmd_cleanup(args)
    if args.kubeconfig:
        import asyncio

        from miniproxy.kubeproxy.server import run_proxy

        try:
            return asyncio.run(run_proxy(args))
        except KeyboardInterrupt:
            return 0
    if args.command == "render":
        return cmd_render(args)
    if args.command == "trace":
        return cmd_trace(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
