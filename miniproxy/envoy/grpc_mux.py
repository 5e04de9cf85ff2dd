"""The ADS client: one gRPC stream carrying CDS, EDS, LDS and RDS, state of the world.

Mirrors source/extensions/config_subscription/grpc/grpc_mux_impl.cc (GrpcMuxImpl: one
DiscoveryRequest per type with the last accepted version_info and the last response_nonce;
ACK = the new version, NACK = the old version plus error_detail; re-send every subscription
after a reconnect) and the subscription callbacks of cds_api_impl.cc, eds.cc, lds_api.cc,
rds_impl.cc (a rejected update changes nothing; `update_attempt` / `update_success` /
`update_rejected` / `version` stats). Subscriptions are sent CDS and LDS first; EDS and RDS
follow as clusters and connection managers name their resources.
Omitted: delta xDS, per-type (non-aggregated) subscriptions, TTLs, xDS-TP names.
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.rpc import status_pb2

from miniproxy.envoy.config import EnvoyException, validate_bootstrap
from miniproxy.envoy.listener_manager import Listener

log = logging.getLogger("miniproxy.envoy.grpc_mux")

CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
SHORT = {CDS: "cds", EDS: "eds", LDS: "lds", RDS: "rds"}
INVALID_ARGUMENT = 3


class AdsClient:
    def __init__(self, server, ads_config) -> None:
        self.server = server
        self.target = self._target(ads_config)
        self.versions: dict[str, str] = {}
        self.nonces: dict[str, str] = {}
        self.names: dict[str, list[str]] = {CDS: [], LDS: [], EDS: [], RDS: []}
        self.received: set[str] = set()
        self.call = None
        self.outbox: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None
        scopes = {
            CDS: "cluster_manager.cds.",
            LDS: "listener_manager.lds.",
            EDS: "cluster_manager.eds.",
            RDS: "http.rds.",
        }
        self.stats = {}
        for t, prefix in scopes.items():
            s = server.store.scope(prefix)
            self.stats[t] = {
                n: s.counter(n) for n in ("update_attempt", "update_success", "update_rejected")
            }
            self.stats[t]["version"] = s.gauge("version")
        self.connected = server.store.gauge("control_plane.connected_state")
        server.cluster_manager.on_eds_interest = lambda names: self._set_names(EDS, names)

    def _target(self, ads_config) -> str:
        svc = ads_config.grpc_services[0]
        if svc.HasField("envoy_grpc"):
            cluster = next(
                c
                for c in self.server.bootstrap.static_resources.clusters
                if c.name == svc.envoy_grpc.cluster_name
            )
            sa = (
                cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
            )
            return f"{sa.address}:{sa.port_value}"
        return svc.google_grpc.target_uri

    def initial_fetch_done(self) -> bool:
        return CDS in self.received and LDS in self.received

    def update_interest(self) -> None:
        self._set_names(RDS, sorted(self.server.rds))

    def _set_names(self, type_url: str, names: list[str]) -> None:
        if self.names.get(type_url) != names:
            self.names[type_url] = names
            self._send(type_url)

    def start(self) -> None:
        self.update_interest()
        self.names[EDS] = self.server.cluster_manager.eds_names()
        self.task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _send(self, type_url: str, error: str | None = None) -> None:
        if self.call is None:
            return
        if type_url in (EDS, RDS) and not self.names[type_url]:
            return
        req = discovery_pb2.DiscoveryRequest(
            version_info=self.versions.get(type_url, ""),
            node=self.server.bootstrap.node,
            resource_names=self.names[type_url],
            type_url=type_url,
            response_nonce=self.nonces.get(type_url, ""),
        )
        if error is not None:
            req.error_detail.CopyFrom(status_pb2.Status(code=INVALID_ARGUMENT, message=error))
        self.outbox.put_nowait(req)

    async def _writer(self, call, outbox: asyncio.Queue) -> None:
        """gRPC allows one write at a time on a stream: every request goes through here."""
        try:
            while True:
                await call.write(await outbox.get())
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError) as e:
            log.debug("ads write failed: %s", e)

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with grpc.aio.insecure_channel(self.target) as channel:
                    stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
                    self.call = stub.StreamAggregatedResources()
                    self.outbox = asyncio.Queue()
                    writer = asyncio.get_running_loop().create_task(
                        self._writer(self.call, self.outbox)
                    )
                    self.nonces.clear()
                    for t in (CDS, EDS, LDS, RDS):
                        self._send(t)
                    self.connected.set(1)
                    try:
                        while True:
                            resp = await self.call.read()
                            if resp is grpc.aio.EOF:
                                break
                            backoff = 0.5
                            await self._on_response(resp)
                    finally:
                        writer.cancel()
            except grpc.aio.AioRpcError as e:
                log.warning(
                    "StreamAggregatedResources gRPC config stream to %s closed: %s, %s",
                    self.target,
                    e.code().value[0],
                    e.details(),
                )
            self.call = None
            self.connected.set(0)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def _on_response(self, resp: discovery_pb2.DiscoveryResponse) -> None:
        t = resp.type_url
        if t not in SHORT:
            log.warning("ignoring unknown type URL %s", t)
            return
        st = self.stats[t]
        st["update_attempt"].inc()
        self.nonces[t] = resp.nonce
        try:
            await self._apply(t, resp.resources)
        except (EnvoyException, ValueError, TypeError) as e:
            st["update_rejected"].inc()
            log.warning(
                "%s: rejecting config update version %s: %s", SHORT[t], resp.version_info, e
            )
            self._send(t, error=str(e))
            return
        self.versions[t] = resp.version_info
        self.received.add(t)
        st["update_success"].inc()
        if t == RDS:
            for name in self.names[RDS]:
                self.server.rds_versions[name] = resp.version_info
        self._send(t)

    async def _apply(self, t: str, resources) -> None:
        if t == CDS:
            clusters = [_unpack(r, cluster_pb2.Cluster) for r in resources]
            from envoy.config.bootstrap.v3 import bootstrap_pb2

            validate_bootstrap(bootstrap_pb2.Bootstrap(static_resources={"clusters": clusters}))
            self.server.cluster_manager.apply_cds(clusters)
        elif t == EDS:
            self.server.cluster_manager.apply_eds(
                [_unpack(r, endpoint_pb2.ClusterLoadAssignment) for r in resources]
            )
        elif t == LDS:
            listeners = [_unpack(r, listener_pb2.Listener) for r in resources]
            for lpb in listeners:
                Listener(
                    lpb, self.server
                )  # build once to validate every listener before applying any
            lm = self.server.listener_manager
            for lpb in listeners:
                await lm.add_or_update_listener(lpb)
            names = {lpb.name for lpb in listeners}
            static = {lpb.name for lpb in self.server.bootstrap.static_resources.listeners}
            for name in [n for n in lm.listeners if n not in names and n not in static]:
                lm.remove_listener(name)
            self.update_interest()
        elif t == RDS:
            self.server.apply_route_configs(
                [_unpack(r, route_pb2.RouteConfiguration) for r in resources]
            )


def _unpack(any_msg, cls):
    msg = cls()
    if not any_msg.Unpack(msg):
        raise EnvoyException(f"Unable to unpack as {cls.DESCRIPTOR.full_name}: {any_msg.type_url}")
    return msg
