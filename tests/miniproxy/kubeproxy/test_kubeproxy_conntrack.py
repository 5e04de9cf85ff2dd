"""Removing a UDP endpoint flushes its conntrack entries, or clients keep talking to it.

Real packets in the lab's namespaces: a UDP client with a fixed source port talks to a
ClusterIP, the endpoint that answered is removed, and the Proxier's sync runs. With the
flush (deleteEndpointConnections) the very next datagram of the same 5-tuple reaches
the other endpoint; without it the kernel keeps its old DNAT and the datagram still
goes to the removed endpoint, which is exactly the bug upstream flushes for.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from miniapi.core.v1 import Service, ServicePort, ServiceSpec
from miniapi.discovery.v1 import (
    LABEL_SERVICE_NAME,
    Endpoint,
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
)
from miniapi.meta.v1 import ObjectMeta
from miniproxy.kubeproxy.conntrack import Conntrack
from miniproxy.kubeproxy.kernel import IptablesKernel, NftKernel
from miniproxy.kubeproxy.proxier import Proxier
from miniproxy.kubeproxy.types import ProxyConfig

pytestmark = [
    pytest.mark.root,
    pytest.mark.kernel("netns"),
    pytest.mark.tool("ip", "iptables-restore", "nft", "conntrack"),
]

CFG = ProxyConfig(node_name="node1", node_ips=("10.99.0.1", "10.99.1.1"))
CLUSTER_IP, ENDPOINTS = "172.30.0.60", ("10.180.0.1", "10.180.0.2")

_UDP_SERVER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for ip in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 5353))
    sel.register(s, selectors.EVENT_READ, ip)
print("READY", flush=True)
while True:
    for key, _ in sel.select():
        data, peer = key.fileobj.recvfrom(512)
        key.fileobj.sendto(key.data.encode(), peer)
"""

# One datagram from a fixed source port, so every send is the same conntrack 5-tuple.
_UDP_ASK = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 40053))
s.settimeout(3)
s.sendto(b"who", (sys.argv[1], 53))
try:
    print(s.recvfrom(512)[0].decode())
except OSError:
    print("TIMEOUT")
"""


def dns_service() -> Service:
    port = ServicePort(name="dns", port=53, protocol="UDP", target_port=5353)
    return Service(
        metadata=ObjectMeta(name="dns", namespace="ns"),
        spec=ServiceSpec(cluster_ip=CLUSTER_IP, ports=[port]),
    )


def dns_slice(*ips: str) -> EndpointSlice:
    return EndpointSlice(
        metadata=ObjectMeta(name="dns-a", namespace="ns", labels={LABEL_SERVICE_NAME: "dns"}),
        address_type="IPv4",
        endpoints=[
            Endpoint(addresses=[ip], conditions=EndpointConditions(ready=True), node_name="n2")
            for ip in ips
        ],
        ports=[EndpointPort(name="dns", port=5353, protocol="UDP")],
    )


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
@pytest.mark.parametrize("flush", [True, False], ids=["flush", "no-flush"])
def test_removed_udp_endpoint_loses_its_flows(lab, mode, flush):
    lab.add_endpoints(list(ENDPOINTS))
    client = lab.add_client()
    server = lab.node
    udp = subprocess.Popen(
        ["ip", "netns", "exec", server.name, sys.executable, "-c", _UDP_SERVER, *ENDPOINTS],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    server.procs.append(udp)  # the lab kills it at teardown
    assert udp.stdout.readline().strip() == "READY"
    kernel = IptablesKernel(server.name) if mode == "iptables" else NftKernel(server.name)
    ct = Conntrack(server.name) if flush else None
    p = Proxier(mode, CFG, kernel, conntrack=ct)
    p.on_service_add(dns_service())
    p.on_endpoint_slice_add(dns_slice(*ENDPOINTS))
    p.sync_proxy_rules()

    def ask() -> str:
        return client.run(sys.executable, "-c", _UDP_ASK, CLUSTER_IP).strip()

    first = ask()
    assert first in ENDPOINTS
    assert ask() == first, "the same 5-tuple should stay on its endpoint"
    survivor = next(ip for ip in ENDPOINTS if ip != first)
    p.on_endpoint_slice_update(dns_slice(*ENDPOINTS), dns_slice(survivor))
    result = p.sync_proxy_rules()
    assert [ep.ip for _, ep in result.stale_udp_endpoints] == [first]
    assert ask() == (survivor if flush else first)
