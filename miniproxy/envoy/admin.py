"""The admin listener: /stats, /stats/prometheus, /clusters, /config_dump, /ready, /server_info.

Mirrors source/server/admin/admin.cc (the handler table), stats_handler.cc, prometheus_stats.cc,
clusters_handler.cc (`cluster::host:port::stat::value` lines and `?format=json` as
envoy.admin.v3.Clusters), config_dump_handler.cc (envoy.admin.v3.ConfigDump of
BootstrapConfigDump, ClustersConfigDump, EndpointsConfigDump, ListenersConfigDump,
RoutesConfigDump), server_info_handler.cc and `/quitquitquit`. Built on aiohttp: the admin port
is not the data path. With worker processes every handler that shows stats first collects the
workers' stores (Server.merged_stats), so counters read exactly what all workers counted.
Omitted: /logging, /runtime, /hot_restart_version, /heap_dump, /drain_listeners, /tap.
"""

from __future__ import annotations

import os
import time

from aiohttp import web
from envoy.admin.v3 import clusters_pb2, config_dump_pb2, server_info_pb2
from envoy.admin.v3 import config_dump_shared_pb2 as shared
from envoy.config.core.v3 import health_check_pb2
from google.protobuf import json_format

from miniproxy.envoy.config import EnvoyException
from miniproxy.envoy.grpc_mux import CDS, LDS
from miniproxy.envoy.host import HostStats
from miniproxy.envoy.redact import redact
from miniproxy.envoy.stats import render_prometheus, render_text

VERSION = "minicloud/1.0.0/Clean/RELEASE/BoringSSL"

HANDLERS = {
    "/": "Admin home page",
    "/clusters": "upstream cluster status",
    "/config_dump": "dump current Envoy configs",
    "/listeners": "print listener info",
    "/quitquitquit": "exit the server",
    "/ready": "print server state, return 200 if LIVE, otherwise return 503",
    "/server_info": "print server version/status information",
    "/stats": "print server stats",
    "/stats/prometheus": "print server stats in prometheus format",
}


def _json(msg, defaults: bool = False) -> str:
    return json_format.MessageToJson(
        msg,
        preserving_proto_field_name=True,
        indent=1,
        always_print_fields_with_no_presence=defaults,
    )


class AdminServer:
    def __init__(self, server) -> None:
        self.server = server
        sa = server.bootstrap.admin.address.socket_address
        self.host, self.port = sa.address, sa.port_value
        self.runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/", self.home)
        app.router.add_get("/stats", self.stats)
        app.router.add_get("/stats/prometheus", self.prometheus)
        app.router.add_get("/clusters", self.clusters)
        app.router.add_get("/config_dump", self.config_dump)
        app.router.add_get("/listeners", self.listeners)
        app.router.add_get("/ready", self.ready)
        app.router.add_get("/server_info", self.server_info)
        app.router.add_post("/quitquitquit", self.quit)
        self.app = app

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as e:
            await self.runner.cleanup()
            raise EnvoyException(
                f"cannot bind '{self.host}:{self.port}': {os.strerror(e.errno or 0)}"
            ) from None
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def home(self, request: web.Request) -> web.Response:
        lines = ["admin commands are:"] + [f"  {p}: {d}" for p, d in sorted(HANDLERS.items())]
        return web.Response(text="\n".join(lines) + "\n")

    async def stats(self, request: web.Request) -> web.Response:
        store, _ = await self.server.merged_stats()
        flt = request.query.get("filter")
        used = "usedonly" in request.query
        if request.query.get("format") == "json":
            body = render_text(store, flt, used)
            stats = []
            for line in body.splitlines():
                name, _, value = line.partition(": ")
                if value.lstrip("-").isdigit():
                    stats.append({"name": name, "value": int(value)})
            return web.json_response({"stats": stats})
        return web.Response(text=render_text(store, flt, used))

    async def prometheus(self, request: web.Request) -> web.Response:
        store, _ = await self.server.merged_stats()
        text = render_prometheus(store, set(self.server.cluster_manager.clusters))
        return web.Response(text=text, content_type="text/plain")

    def _clusters_proto(self, host_stats: dict) -> clusters_pb2.Clusters:
        out = clusters_pb2.Clusters()
        for name, c in sorted(self.server.cluster_manager.clusters.items()):
            cs = out.cluster_statuses.add(
                name=name,
                added_via_api=c.added_via_api,
                eds_service_name=c.eds_service_name if c.type == "EDS" else "",
            )
            for h in c.hosts:
                hs = cs.host_statuses.add(weight=h.weight, hostname=h.hostname)
                hs.address.socket_address.address = h.address
                hs.address.socket_address.port_value = h.port
                hs.health_status.failed_active_health_check = bool(h.health_flags & 0x1)
                hs.health_status.failed_outlier_check = bool(h.health_flags & 0x2)
                hs.health_status.eds_health_status = (
                    health_check_pb2.UNHEALTHY if h.health_flags & 0x4 else health_check_pb2.HEALTHY
                )
                st = HostStats(*host_stats[(name, h.address_string)])
                for k, v in (("cx_total", st.cx_total), ("cx_active", st.cx_active), ("rq_total", st.rq_total),
                             ("rq_success", st.rq_success), ("rq_error", st.rq_error), ("rq_active", st.rq_active),
                             ("rq_timeout", st.rq_timeout), ("cx_connect_fail", st.cx_connect_fail)):  # fmt: skip
                    hs.stats.add(name=k, value=v)
        return out

    async def clusters(self, request: web.Request) -> web.Response:
        _, host_stats = await self.server.merged_stats()
        if request.query.get("format") == "json":
            text = _json(self._clusters_proto(host_stats))
            return web.Response(text=text, content_type="application/json")
        lines = []
        for name, c in sorted(self.server.cluster_manager.clusters.items()):
            r = c.resources
            for label, res in (("max_connections", r.connections), ("max_pending_requests", r.pending_requests),
                               ("max_requests", r.requests), ("max_retries", r.retries)):  # fmt: skip
                lines.append(f"{name}::default_priority::{label}::{res.max}")
            lines.append(f"{name}::added_via_api::{str(c.added_via_api).lower()}")
            for h in c.hosts:
                a = h.address_string
                s = HostStats(*host_stats[(name, a)])
                for k, v in (("cx_active", s.cx_active), ("cx_connect_fail", s.cx_connect_fail), ("cx_total", s.cx_total),
                             ("rq_active", s.rq_active), ("rq_error", s.rq_error), ("rq_success", s.rq_success),
                             ("rq_timeout", s.rq_timeout), ("rq_total", s.rq_total)):  # fmt: skip
                    lines.append(f"{name}::{a}::{k}::{v}")
                lines.append(f"{name}::{a}::hostname::{h.hostname}")
                lines.append(f"{name}::{a}::health_flags::{h.health_string()}")
                lines.append(f"{name}::{a}::weight::{h.weight}")
        return web.Response(text="\n".join(lines) + "\n")

    def config_dump_proto(self) -> config_dump_pb2.ConfigDump:
        srv = self.server
        dump = config_dump_pb2.ConfigDump()
        boot = config_dump_pb2.BootstrapConfigDump()
        boot.bootstrap.CopyFrom(srv.bootstrap)
        dump.configs.add().Pack(boot)
        clusters = shared.ClustersConfigDump()
        ads = srv.ads
        for c in srv.cluster_manager.clusters.values():
            if c.added_via_api:
                d = clusters.dynamic_active_clusters.add(
                    version_info=ads.versions.get(CDS, "") if ads else ""
                )
                d.cluster.Pack(c.pb)
            else:
                clusters.static_clusters.add().cluster.Pack(c.pb)
        if ads:
            clusters.version_info = ads.versions.get(CDS, "")
        dump.configs.add().Pack(clusters)
        listeners = shared.ListenersConfigDump()
        static_names = {lpb.name for lpb in srv.bootstrap.static_resources.listeners}
        for name, lis in srv.listener_manager.listeners.items():
            if name in static_names:
                listeners.static_listeners.add().listener.Pack(lis.pb)
            else:
                d = listeners.dynamic_listeners.add(name=name)
                d.active_state.version_info = ads.versions.get(LDS, "") if ads else ""
                d.active_state.listener.Pack(lis.pb)
        dump.configs.add().Pack(listeners)
        routes = shared.RoutesConfigDump()
        for lis in srv.listener_manager.listeners.values():
            for chain in lis.chains:
                if chain.kind == "http" and chain.config.pb.HasField("route_config"):
                    routes.static_route_configs.add().route_config.Pack(
                        chain.config.pb.route_config
                    )
        for name, p in sorted(srv.rds.items()):
            if p.table is not None:
                d = routes.dynamic_route_configs.add(version_info=srv.rds_versions.get(name, ""))
                d.route_config.Pack(p.table.pb)
        dump.configs.add().Pack(routes)
        redact(dump)  # TLS private keys and passwords never leave the process
        return dump

    async def config_dump(self, request: web.Request) -> web.Response:
        return web.Response(text=_json(self.config_dump_proto()), content_type="application/json")

    async def listeners(self, request: web.Request) -> web.Response:
        lines = [
            f"{n}::{lis.host}:{lis.port}"
            for n, lis in self.server.listener_manager.listeners.items()
        ]
        return web.Response(text="\n".join(lines) + "\n")

    async def ready(self, request: web.Request) -> web.Response:
        state = self.server.state
        return web.Response(text=state + "\n", status=200 if state == "LIVE" else 503)

    async def server_info(self, request: web.Request) -> web.Response:
        srv = self.server
        info = server_info_pb2.ServerInfo(
            version=VERSION, state=server_info_pb2.ServerInfo.State.Value(srv.state)
        )
        info.uptime_current_epoch.seconds = int(time.time() - srv.start_time)
        info.uptime_all_epochs.seconds = int(time.time() - srv.start_time)
        info.hot_restart_version = "disabled"
        info.command_line_options.concurrency = srv.concurrency
        info.node.CopyFrom(srv.bootstrap.node)
        return web.Response(text=_json(info, defaults=True), content_type="application/json")

    async def quit(self, request: web.Request) -> web.Response:
        self.server.shutdown_event.set()
        return web.Response(text="OK\n")
