"""Kubernetes mode end to end: miniapiserver → informers → translator → ADS → miniproxy.envoy.

A real miniapiserver (over etcd, the miniclient folder's session fixture, loaded by path)
holds a Service and EndpointSlices created through miniclient; the xDS server runs the
KubeController; miniproxy.envoy, bootstrapped with only `ads_config`, gets listener
`127.0.0.1_<port>`, route config `<port>`, cluster `outbound|<port>||web.<ns>.svc.cluster.local`
and its endpoints, and routes a request by the Service's name to aiohttp backends on
loopback. Changing the EndpointSlices moves the traffic; the CLI mode starts and serves.
With Istio's CRDs (examples/istio/crds.yaml) applied, a VirtualService header match sends
`end-user: jason` to the DestinationRule's v2 subset (endpoints chosen by pod labels), then a
fault abort on that rule answers him 500.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import grpc
import pytest
import yaml
from envoy.service.discovery.v3 import ads_pb2_grpc

from miniapi import errors, scheme
from miniapi.core import v1 as corev1
from miniapi.discovery.v1 import EndpointSlice
from miniapi.meta import v1 as metav1
from miniapi.runtime import GroupVersionResource
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client
from miniproxy.xds.kube_controller import (
    DESTINATION_RULES,
    VIRTUAL_SERVICES,
    KubeController,
    istio_served,
)
from miniproxy.xds.server import XdsServer
from miniproxy.xds.server import discovery_request as dreq
from miniproxy.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, ROUTE
from miniproxy.xds.translator import TranslateOptions
from tests.miniproxy.envoy.envoy_testlib import bootstrap, cluster, running_backends, running_proxy

_spec = importlib.util.spec_from_file_location(
    "miniclient_test_fixtures", Path(__file__).resolve().parents[2] / "miniclient" / "conftest.py"
)
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
apiserver = _fixtures.apiserver

pytestmark = pytest.mark.tool("etcd", "etcdctl")
ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ads_bootstrap(xds_port: int):
    h2 = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}}}}  # fmt: skip
    return bootstrap(
        [],
        [cluster("xds_cluster", xds_port, typed_extension_protocol_options=h2)],
        node={"id": "sidecar-kube", "cluster": "e2e"},
        dynamic_resources={
            "ads_config": {"api_type": "GRPC", "transport_api_version": "V3",
                           "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]},
            "cds_config": {"ads": {}},
            "lds_config": {"ads": {}},
        },
    )  # fmt: skip


def endpoint_slice(name: str, ns: str, port: int) -> EndpointSlice:
    return scheme.decode({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": ns, "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
    })  # fmt: skip


async def eventually(predicate, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def backends_seen(url: str, host: str, n: int) -> set[str]:
    seen = set()
    async with aiohttp.ClientSession() as s:
        for _ in range(n):
            async with s.get(url, headers={"Host": host}) as r:
                assert r.status == 200, await r.text()
                seen.add(await r.text())
    return seen


def test_services_and_endpoint_slices_route_by_name_and_slice_changes_move_traffic(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            ns = f"xds-{uuid.uuid4().hex[:8]}"
            await client.resource(corev1.Namespace).create(
                corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
            )
            svc_port = free_port()
            svc = scheme.decode({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
                                 "spec": {"ports": [{"name": "http", "port": svc_port, "protocol": "TCP"}]}})  # fmt: skip
            await client.resource(corev1.Service).create(svc)
            server = XdsServer()
            xds_port = await server.start("127.0.0.1", 0)
            opts = TranslateOptions(listener_address="127.0.0.1", proxy_namespace=ns)
            controller = KubeController(client, server, opts, debounce=0.05, istio=await istio_served(client), namespace=ns)  # fmt: skip
            stop = asyncio.Event()
            task = asyncio.ensure_future(controller.run(stop))
            try:
                await _scenario(client, server, controller, ns, svc_port, xds_port)
            finally:
                stop.set()
                await asyncio.wait_for(task, 10)
                await server.stop()

    asyncio.run(main())


async def _scenario(client, server, controller, ns, svc_port, xds_port) -> None:
    slices = client.resource(EndpointSlice)
    cluster_name = f"outbound|{svc_port}||web.{ns}.svc.cluster.local"
    listener = f"127.0.0.1_{svc_port}"
    async with running_backends("a", "b") as (a, b):
        await slices.create(endpoint_slice("web-a", ns, a.port))
        await slices.create(endpoint_slice("web-b", ns, b.port))
        async with running_proxy(ads_bootstrap(xds_port)) as px:
            cm = px.server.cluster_manager
            await eventually(lambda: listener in px.server.listener_manager.listeners)
            await eventually(lambda: cm.get(cluster_name) is not None and len(cm.get(cluster_name).hosts) == 2)  # fmt: skip
            url = f"http://127.0.0.1:{svc_port}/"
            # By bare name (the proxy's namespace), by name.namespace and by FQDN with port.
            assert await backends_seen(url, "web", 8) == {"a", "b"}
            assert await backends_seen(url, f"web.{ns}", 2) <= {"a", "b"}
            assert await backends_seen(url, f"web.{ns}.svc.cluster.local:{svc_port}", 2) <= {"a", "b"}  # fmt: skip
            async with aiohttp.ClientSession() as s, s.get(url, headers={"Host": "nope"}) as r:
                assert r.status == 404  # no virtual host: Envoy's NR
            pushes, before = controller.pushes, dict(server.snapshot.versions)
            # The EndpointSlice of "a" goes away: every request now lands on "b".
            await slices.delete("web-a", ns)
            await eventually(lambda: [h.port for h in cm.get(cluster_name).hosts] == [b.port])
            assert controller.pushes > pushes
            # Only the endpoints changed, so only the EDS version moved.
            after = server.snapshot.versions
            assert after[ENDPOINT] != before[ENDPOINT]
            assert [after[t] for t in (CLUSTER, LISTENER, ROUTE)] == [before[t] for t in (CLUSTER, LISTENER, ROUTE)]  # fmt: skip
            assert await backends_seen(url, "web", 6) == {"b"}
            # "b" turns not ready and "a" comes back under a new slice.
            await slices.update(scheme.decode({**scheme.encode(await slices.get("web-b", ns)), "endpoints": [
                {"addresses": ["127.0.0.1"], "conditions": {"ready": False}}]}))  # fmt: skip
            await slices.create(endpoint_slice("web-a2", ns, a.port))
            await eventually(lambda: [h.port for h in cm.get(cluster_name).hosts] == [a.port])
            assert await backends_seen(url, "web", 6) == {"a"}
            assert not server.nacks and server.acks


def test_cli_kubernetes_mode_serves_the_cluster(apiserver, tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "miniproxy.xds", "--kubeconfig", apiserver.kubeconfig, "--port", "0",
         "--port-file", str(port_file), "--listener-address", "127.0.0.1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    async def main():
        await eventually(lambda: port_file.exists() and port_file.read_text().strip() != "")
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port_file.read_text().strip()}")
        call = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel).StreamAggregatedResources()
        try:
            await call.write(dreq(CLUSTER, node_id="cli"))
            resp = await asyncio.wait_for(call.read(), 20)
            # The API server's own `kubernetes` Service is translated like any other.
            names = [r.value for r in resp.resources]
            assert any(b"outbound|443||kubernetes.default.svc.cluster.local" in v for v in names)
        finally:
            call.cancel()
            await channel.close()

    try:
        asyncio.run(main())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_cli_refuses_both_sources(tmp_path, caplog):
    from miniproxy.xds.__main__ import main

    assert main(["--kubeconfig", "k", "--resources", str(tmp_path)]) == 1
    assert "--resources and --kubeconfig are exclusive" in caplog.text


CRDS = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")


async def install_istio_crds(client: Client) -> None:
    """Apply examples/istio/crds.yaml (once per API server) and wait until the group serves."""
    for doc in yaml.safe_load_all((ROOT / "examples" / "istio" / "crds.yaml").read_text()):
        try:
            await client.resource(CRDS, namespaced=False).create(doc)
        except errors.StatusError as e:
            if e.status.code != 409:
                raise
    for _ in range(200):
        if await istio_served(client):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("networking.istio.io/v1 not served")


def pod(name: str, ns: str, version: str):
    return scheme.decode({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": name, "namespace": ns, "labels": {"app": "reviews", "version": version}},
                          "spec": {"containers": [{"name": "reviews", "image": "reviews:" + version}]}})  # fmt: skip


def test_virtual_service_header_match_routes_to_destination_rule_subset(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            await install_istio_crds(client)
            ns = f"xds-{uuid.uuid4().hex[:8]}"
            await client.resource(corev1.Namespace).create(
                corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
            )
            port = free_port()
            svc = scheme.decode({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": ns},
                                 "spec": {"ports": [{"name": "http", "port": port, "protocol": "TCP"}]}})  # fmt: skip
            await client.resource(corev1.Service).create(svc)
            server = XdsServer()
            xds_port = await server.start("127.0.0.1", 0)
            opts = TranslateOptions(listener_address="127.0.0.1", proxy_namespace=ns)
            controller = KubeController(
                client, server, opts, debounce=0.05, istio=True, namespace=ns
            )
            stop = asyncio.Event()
            task = asyncio.ensure_future(controller.run(stop))
            try:
                await _istio_scenario(client, ns, port, xds_port)
            finally:
                stop.set()
                await asyncio.wait_for(task, 10)
                await server.stop()

    asyncio.run(main())


async def _istio_scenario(client: Client, ns: str, port: int, xds_port: int) -> None:
    host = f"reviews.{ns}.svc.cluster.local"
    vs_client = client.resource(VIRTUAL_SERVICES)
    async with running_backends("v1", "v2") as backends:
        for b in backends:
            await client.resource(corev1.Pod).create(pod(f"reviews-{b.name}", ns, b.name))
            es = scheme.encode(endpoint_slice(f"reviews-{b.name}", ns, b.port))
            es["metadata"]["labels"]["kubernetes.io/service-name"] = "reviews"
            es["endpoints"][0]["targetRef"] = {"kind": "Pod", "name": f"reviews-{b.name}", "namespace": ns}  # fmt: skip
            await client.resource(EndpointSlice).create(scheme.decode(es))
        await client.resource(DESTINATION_RULES).create({
            "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": "reviews", "namespace": ns},
            "spec": {"host": "reviews", "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}},
                     "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]}})  # fmt: skip
        await vs_client.create({
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "reviews", "namespace": ns},
            "spec": {"hosts": ["reviews"], "http": [
                {"match": [{"headers": {"end-user": {"exact": "jason"}}}], "route": [{"destination": {"host": "reviews", "subset": "v2"}}]},
                {"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}]}})  # fmt: skip
        async with running_proxy(ads_bootstrap(xds_port)) as px:
            cm = px.server.cluster_manager

            def subset_ready(subset: str) -> bool:
                c = cm.get(f"outbound|{port}|{subset}|{host}")
                return c is not None and len(c.hosts) == 1

            await eventually(lambda: subset_ready("v1") and subset_ready("v2"))
            await eventually(lambda: f"127.0.0.1_{port}" in px.server.listener_manager.listeners)
            url = f"http://127.0.0.1:{port}/"
            async with aiohttp.ClientSession() as s:
                for user, want in (("jason", "v2"), ("alice", "v1"), ("jason", "v2"), ("", "v1")):
                    headers = {"Host": "reviews", **({"end-user": user} if user else {})}
                    async with s.get(url, headers=headers) as r:
                        assert (r.status, await r.text()) == (200, want)
            # Fault injection on jason's rule: every one of his requests is aborted with 500.
            vs = await vs_client.get("reviews", ns)
            vs["spec"]["http"][0]["fault"] = {"abort": {"percentage": {"value": 100}, "httpStatus": 500}}  # fmt: skip
            await vs_client.update(vs)

            async def status(user: str) -> int:
                async with aiohttp.ClientSession() as s:
                    hdrs = {"Host": "reviews", "end-user": user}
                    async with s.get(url, headers=hdrs) as r:
                        return r.status

            for _ in range(100):
                if await status("jason") == 500:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("fault abort not applied")
            assert await status("alice") == 200
            # Deleting the VirtualService restores the default route over every endpoint.
            await vs_client.delete("reviews", ns)
            await eventually(lambda: cm.get(f"outbound|{port}||{host}") is not None)

            async def both_seen() -> bool:
                return await backends_seen(url, "reviews", 6) == {"v1", "v2"}

            for _ in range(100):
                if await both_seen():
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("default route not restored")


def test_cli_exits_1_when_the_api_server_cannot_be_reached(tmp_path, caplog):
    from miniproxy.xds.__main__ import main

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{dead}"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    }))  # fmt: skip
    assert main(["--kubeconfig", str(kubeconfig), "--port", "0"]) == 1
    assert "cannot reach the API server" in caplog.text
