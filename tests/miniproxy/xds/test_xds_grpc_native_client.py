"""grpcio's own xDS client against miniproxy.xds: the real peer of the control plane.

A Python gRPC client in a child process with GRPC_XDS_BOOTSTRAP pointing at our server dials
`xds:///greeter`; gRPC core fetches LDS (an api_listener) → RDS → CDS → EDS from us, ACKs
each, and round-robins its calls across the two endpoints we serve. A Maglev cluster, which
gRPC does not support, makes it NACK, and our server reports the NACK with gRPC's message.
Reference: gRFC A27 (xDS-based global load balancing), envoy/api/xds_protocol.rst.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import grpc
from envoy.service.discovery.v3 import discovery_pb2

from miniproxy.envoy.config import parse_dict
from miniproxy.xds.server import XdsServer
from miniproxy.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, ROUTE

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}

CLIENT = """
import collections, sys
import grpc
channel = grpc.insecure_channel("xds:///greeter")
echo = channel.unary_unary("/test.Echo/Echo")
print(dict(collections.Counter(echo(b"x", timeout=20).decode() for _ in range(20))), flush=True)
sys.stdin.read()  # keep the xDS stream open until the test is done
"""


def grpc_resources(ports: list[int], lb_policy: str = "ROUND_ROBIN") -> list:
    eps = [
        {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": p}}}}
        for p in ports
    ]
    hcm = {
        "@type": HCM,
        "rds": {"route_config_name": "greeter-route", "config_source": {"ads": {}}},
        "http_filters": [ROUTER],
    }
    items = [
        {"@type": LISTENER, "name": "greeter", "api_listener": {"api_listener": hcm}},
        {"@type": ROUTE, "name": "greeter-route", "virtual_hosts": [{"name": "g", "domains": ["greeter"],
         "routes": [{"match": {"prefix": ""}, "route": {"cluster": "greeter-cluster"}}]}]},
        {"@type": CLUSTER, "name": "greeter-cluster", "type": "EDS", "lb_policy": lb_policy, "eds_cluster_config": {"eds_config": {"ads": {}}}},
        {"@type": ENDPOINT, "cluster_name": "greeter-cluster", "endpoints": [{"locality": {"region": "r"}, "load_balancing_weight": 1, "lb_endpoints": eps}]},
    ]  # fmt: skip
    return list(parse_dict({"resources": items}, discovery_pb2.DiscoveryResponse).resources)


async def _echo_server(name: str) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(lambda req, ctx: name.encode())}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


def test_grpc_xds_client_follows_lds_rds_cds_eds_and_nacks_maglev(tmp_path):
    async def main():
        xds = XdsServer()
        xport = await xds.start("127.0.0.1", 0)
        backends = [await _echo_server(n) for n in ("b1", "b2")]
        proc = None
        try:
            xds.set_resources(grpc_resources([p for _, p in backends]))
            boot = tmp_path / "bootstrap.json"
            boot.write_text(json.dumps({
                "xds_servers": [{"server_uri": f"127.0.0.1:{xport}", "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}],
                "node": {"id": "grpc-client-1", "cluster": "test"},
            }))  # fmt: skip
            env = dict(os.environ, GRPC_XDS_BOOTSTRAP=str(boot), GRPC_VERBOSITY="NONE")
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                CLIENT,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            counts = eval(line.decode())
            assert (
                sum(counts.values()) == 20 and min(counts.get("b1", 0), counts.get("b2", 0)) >= 5
            )  # round robin over our EDS endpoints
            acked = [(e.type_url, e.version, e.node_id) for e in xds.acks]
            assert acked[:4] == [
                (t, "1", "grpc-client-1") for t in (LISTENER, ROUTE, CLUSTER, ENDPOINT)
            ]
            xds.set_resources(grpc_resources([p for _, p in backends], lb_policy="MAGLEV"))
            for _ in range(250):
                if xds.nacks:
                    break
                await asyncio.sleep(0.02)
            (nack,) = xds.nacks
            assert (nack.type_url, nack.version, nack.node_id) == (CLUSTER, "2", "grpc-client-1")
            assert "LB policy is not supported" in nack.message
        finally:
            if proc is not None:
                proc.stdin.close()
                await asyncio.wait_for(proc.wait(), 10)
            for s, _ in backends:
                await s.stop(None)
            await xds.stop()

    asyncio.run(main())
