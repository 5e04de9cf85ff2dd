"""The ADS server over a real gRPC channel, and miniproxy.envoy as its xDS client.

The first client is built from the xds-protos stubs exactly as an Envoy or gRPC xDS client
speaks: one bidirectional StreamAggregatedResources stream, DiscoveryRequests with node,
type_url, resource_names, version_info and response_nonce, ACKs and a NACK.
Reference: envoy/api/xds_protocol.rst ("Aggregated Discovery Service", "ACK", "NACK").
"""

from __future__ import annotations

import asyncio

import aiohttp
import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc
from google.protobuf import json_format
from google.rpc import status_pb2

from miniproxy.envoy.config import parse_dict
from miniproxy.xds.server import XdsServer
from miniproxy.xds.server import discovery_request as dreq
from miniproxy.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, ROUTE
from tests.miniproxy.envoy.envoy_testlib import (
    ROUTER,
    bootstrap,
    cluster,
    running_backends,
    running_proxy,
)

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def xds_resources(
    backend_ports: list[int],
    listener_port: int = 0,
    route_to: str = "reviews",
    extra_filter=None,
    stat_prefix: str = "ingress_http",
) -> list:
    from envoy.service.discovery.v3 import discovery_pb2

    eps = [
        {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": p}}}}
        for p in backend_ports
    ]
    filters = ([extra_filter] if extra_filter else []) + [ROUTER]
    items = [
        {"@type": CLUSTER, "name": "reviews", "type": "EDS", "connect_timeout": "0.5s", "eds_cluster_config": {"eds_config": {"ads": {}}}},
        {"@type": ENDPOINT, "cluster_name": "reviews", "endpoints": [{"lb_endpoints": eps}]},
        {"@type": LISTENER, "name": "ingress", "address": {"socket_address": {"address": "127.0.0.1", "port_value": listener_port}},
         "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
             "@type": HCM, "stat_prefix": stat_prefix, "rds": {"route_config_name": "local_route", "config_source": {"ads": {}}},
             "http_filters": filters}}]}]},
        {"@type": ROUTE, "name": "local_route", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": route_to}}]}]},
    ]  # fmt: skip
    return list(parse_dict({"resources": items}, discovery_pb2.DiscoveryResponse).resources)


async def _stream(port: int):
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    call = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel).StreamAggregatedResources()
    return channel, call


def test_grpc_client_fetches_every_type_acks_gets_pushes_and_nacks():
    async def main():
        server = XdsServer()
        port = await server.start("127.0.0.1", 0)
        server.set_resources(xds_resources([9001, 9002]))
        channel, call = await _stream(port)
        try:
            got = {}
            for t, names in (
                (CLUSTER, []),
                (ENDPOINT, ["reviews"]),
                (LISTENER, []),
                (ROUTE, ["local_route"]),
            ):
                await call.write(dreq(t, names, node_id="grpc-client"))
                resp = await asyncio.wait_for(call.read(), 5)
                assert resp.type_url == t and resp.version_info == "1"
                got[t] = resp
                await call.write(
                    dreq(
                        t, names, version=resp.version_info, nonce=resp.nonce, node_id="grpc-client"
                    )
                )
            assert [len(got[t].resources) for t in (CLUSTER, ENDPOINT, LISTENER, ROUTE)] == [
                1,
                1,
                1,
                1,
            ]
            await asyncio.sleep(0.1)
            assert len(server.acks) == 4
            # An endpoint change pushes EDS only, with a new version and nonce.
            server.set_resources(xds_resources([9001, 9003]))
            resp = await asyncio.wait_for(call.read(), 5)
            assert (resp.type_url, resp.version_info) == (ENDPOINT, "2")
            nack = dreq(ENDPOINT, ["reviews"], version="1", nonce=resp.nonce, node_id="grpc-client")
            nack.error_detail.CopyFrom(
                status_pb2.Status(code=3, message="endpoint port 9003 refused")
            )
            await call.write(nack)
            await asyncio.sleep(0.2)
            assert [(e.type_url, e.version, e.message, e.node_id) for e in server.nacks] == [
                (ENDPOINT, "2", "endpoint port 9003 refused", "grpc-client")
            ]
        finally:
            call.cancel()
            await channel.close()
            await server.stop()

    asyncio.run(main())


def _ads_bootstrap(xds_port: int):
    return bootstrap(
        [],
        [
            cluster(
                "xds_cluster",
                xds_port,
                typed_extension_protocol_options={
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                        "explicit_http_config": {"http2_protocol_options": {}},
                    }
                },
            )
        ],  # fmt: skip
        node={"id": "sidecar-1", "cluster": "bookinfo"},
        dynamic_resources={
            "ads_config": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}],
            },
            "cds_config": {"ads": {}},
            "lds_config": {"ads": {}},
        },  # fmt: skip
    )


async def _wait(pred, timeout=5.0):
    for _ in range(int(timeout / 0.02)):
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def test_proxy_as_ads_client_serves_updates_without_dropping_connections_and_nacks_bad_config():
    async def main():
        server = XdsServer()
        xport = await server.start("127.0.0.1", 0)
        try:
            await _scenario(server, xport)
        finally:
            await server.stop()

    asyncio.run(main())


async def _scenario(server: XdsServer, xport: int) -> None:
    async with running_backends("v1", "v2") as (v1, v2):
        server.set_resources(xds_resources([v1.port]))
        async with running_proxy(_ads_bootstrap(xport)) as px:
            await _wait(
                lambda: (
                    "ingress" in px.server.listener_manager.listeners and px.server.state == "LIVE"
                )
            )
            conn = aiohttp.TCPConnector(limit=1)
            async with aiohttp.ClientSession(connector=conn) as s:
                async with s.get(px.url("/")) as r:
                    assert await r.text() == "v1"
                assert px.stat("cluster_manager.cds.update_success") == 1
                assert px.stat("listener_manager.lds.update_success") == 1
                # EDS moves traffic to v2; the kept-alive client connection survives.
                server.set_resources(xds_resources([v2.port]))
                await _wait(
                    lambda: px.server.cluster_manager.get("reviews").hosts[0].port == v2.port
                )
                async with s.get(px.url("/")) as r:
                    assert await r.text() == "v2"
                assert px.stat("http.ingress_http.downstream_cx_total") == 1
                # A filter Envoy knows but this proxy does not implement: NACKed, old config stays.
                buf = {
                    "name": "envoy.filters.http.buffer",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
                        "max_request_bytes": 10,
                    },
                }
                import envoy.extensions.filters.http.buffer.v3.buffer_pb2  # noqa: F401

                server.set_resources(xds_resources([v2.port], extra_filter=buf))
                await _wait(lambda: server.nacks)
                assert (
                    server.nacks[0].type_url == LISTENER and server.nacks[0].node_id == "sidecar-1"
                )
                assert (
                    "Didn't find a registered implementation for 'envoy.filters.http.buffer'"
                    in server.nacks[0].message
                )
                assert px.stat("listener_manager.lds.update_rejected") == 1
                async with s.get(px.url("/")) as r:
                    assert await r.text() == "v2"
                # A changed listener on the same address takes over the socket in place: the
                # open connection keeps its old connection manager, new ones get the new one.
                server.set_resources(xds_resources([v2.port], stat_prefix="ingress_v2"))
                await _wait(lambda: px.stat("listener_manager.lds.update_success") == 2)
                async with s.get(px.url("/")) as r:
                    assert await r.text() == "v2"
                assert px.stat("http.ingress_http.downstream_rq_total") == 4
                async with aiohttp.ClientSession() as fresh, fresh.get(px.url("/")) as r:
                    assert await r.text() == "v2"
                assert px.stat("http.ingress_v2.downstream_rq_total") == 1
            async with aiohttp.ClientSession() as s, s.get(px.admin_url("/config_dump")) as r:
                dump = await r.json()
            lds = dump["configs"][2]["dynamic_listeners"][0]["active_state"]
            assert lds["version_info"] == "4" and lds["listener"]["name"] == "ingress"
            assert (
                dump["configs"][3]["dynamic_route_configs"][0]["route_config"]["name"]
                == "local_route"
            )


def test_resources_folder_loads_envoy_file_subscription_format(tmp_path):
    from miniproxy.envoy.config import EnvoyException
    from miniproxy.xds.resources import load_folder

    (tmp_path / "c.yaml").write_text(
        'resources:\n- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster\n  name: a\n'
    )
    assert [json_format.MessageToDict(r)["name"] for r in load_folder(tmp_path)] == ["a"]
    (tmp_path / "d.yaml").write_text(
        'resources:\n- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster\n  nam: a\n'
    )
    try:
        load_folder(tmp_path)
    except EnvoyException as e:
        assert "nam: Cannot find field" in str(e) and "d.yaml" in str(e)
    else:
        raise AssertionError("a bad file must be refused")


def test_folder_watch_pushes_a_new_version_to_a_subscribed_client(tmp_path):
    from miniproxy.xds.__main__ import watch_folder

    cluster_yaml = 'resources:\n- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster\n  name: {name}\n'

    async def main():
        server = XdsServer()
        port = await server.start("127.0.0.1", 0)
        (tmp_path / "clusters.yaml").write_text(cluster_yaml.format(name="one"))
        watcher = asyncio.get_running_loop().create_task(watch_folder(server, tmp_path, 0.05))
        channel, call = await _stream(port)
        try:
            await call.write(dreq(CLUSTER, node_id="watcher"))
            first = await asyncio.wait_for(call.read(), 5)
            assert [json_format.MessageToDict(r)["name"] for r in first.resources] == ["one"]
            await call.write(
                dreq(CLUSTER, version=first.version_info, nonce=first.nonce, node_id="watcher")
            )
            (tmp_path / "clusters.yaml").write_text(cluster_yaml.format(name="two"))
            second = await asyncio.wait_for(call.read(), 5)
            assert second.version_info != first.version_info
            assert [json_format.MessageToDict(r)["name"] for r in second.resources] == ["two"]
            (tmp_path / "broken.yaml").write_text("resources: [{nope: 1}]\n")
            await asyncio.sleep(0.3)
            assert (
                server.snapshot.version(CLUSTER) == second.version_info
            )  # bad file: old snapshot stays
        finally:
            watcher.cancel()
            call.cancel()
            await channel.close()
            await server.stop()

    asyncio.run(main())
