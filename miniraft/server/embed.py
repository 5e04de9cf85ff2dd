"""Start a member: data dir, Raft loop, peer listener and the client gRPC server.

Mirrors etcd server/embed/etcd.go (StartEtcd: peer listeners, the server,
client listeners serving the v3 services) and etcdmain's wiring. The gRPC
server accepts requests up to --max-request-bytes plus etcd's 512 KiB of
gRPC overhead; anything bigger fails in gRPC itself, as with etcd.
"""

from __future__ import annotations

import asyncio

import grpc

from miniraft.api.etcdserverpb import rpc_pb2_grpc
from miniraft.server.etcdserver import bootstrap
from miniraft.server.etcdserver.config import GRPC_OVERHEAD_BYTES, ServerConfig, host_port
from miniraft.server.etcdserver.membership import RaftCluster, parse_initial_cluster
from miniraft.server.etcdserver.server import EtcdServer
from miniraft.server.etcdserver.v3_server import V3Server
from miniraft.server.logutil import Logger
from miniraft.server.rafthttp.transport import fetch_cluster
from miniraft.server.v3rpc.key import KVServicer
from miniraft.server.v3rpc.lease import LeaseServicer
from miniraft.server.v3rpc.maintenance import ClusterServicer, MaintenanceServicer
from miniraft.server.v3rpc.watch import WatchServicer


class Etcd:
    """A running member: `await Etcd.start(cfg)`, then `await e.stopped()` / `e.close()`."""

    def __init__(self, cfg: ServerConfig, server: EtcdServer, v3: V3Server, grpc_server) -> None:
        self.cfg = cfg
        self.server = server
        self.v3 = v3
        self.grpc_server = grpc_server

    @classmethod
    async def start(cls, cfg: ServerConfig, log: Logger | None = None) -> Etcd:
        log = log or Logger(cfg.name)
        boot = await _bootstrap(cfg, log)
        server = EtcdServer(cfg, boot, log)
        remote = boot.remote
        await server.start()
        if remote is not None:
            for m in remote.members.values():
                if m.id != server.id:
                    server.transport.add_peer(m.id, m.peer_urls)
        v3 = V3Server(server)
        v3.start()
        gs = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", cfg.max_request_bytes + GRPC_OVERHEAD_BYTES),
                ("grpc.max_send_message_length", 2**31 - 1),
            ]
        )
        services = _GenericHandlersOnly(gs)
        rpc_pb2_grpc.add_KVServicer_to_server(KVServicer(v3), services)
        rpc_pb2_grpc.add_WatchServicer_to_server(WatchServicer(v3), services)
        rpc_pb2_grpc.add_LeaseServicer_to_server(LeaseServicer(v3), services)
        rpc_pb2_grpc.add_ClusterServicer_to_server(ClusterServicer(v3), services)
        rpc_pb2_grpc.add_MaintenanceServicer_to_server(MaintenanceServicer(v3), services)
        for url in cfg.listen_client_urls:
            host, port = host_port(url)
            gs.add_insecure_port(f"{host}:{port}")
        await gs.start()
        log.info(
            "serving client traffic",
            member=f"{server.id:x}",
            client_urls=cfg.listen_client_urls,
            peer_urls=cfg.listen_peer_urls,
        )
        return cls(cfg, server, v3, gs)

    async def stopped(self) -> None:
        await self.server.stopped.wait()

    async def close(self) -> None:
        await self.grpc_server.stop(0.2)
        await self.v3.stop()
        await self.server.stop()


class _GenericHandlersOnly:
    """Hands the generated code's handlers to the server as generic handlers only.

    grpcio's aio server keeps one pending request-call task per *registered*
    method and waits on all of them (asyncio.wait) for every incoming call: with
    our 22 methods that was about a tenth of a member's CPU per Put. The generic
    handlers the generated code also installs serve the same methods from one
    request loop.
    """

    def __init__(self, server) -> None:
        self.server = server

    def add_generic_rpc_handlers(self, handlers) -> None:
        self.server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers) -> None:
        del service, handlers  # served by the generic handlers above


async def _bootstrap(cfg: ServerConfig, log: Logger) -> bootstrap.Bootstrapped:
    if bootstrap.have_wal(cfg):
        boot = bootstrap.open_existing(cfg)
        if boot.wal.repaired:
            log.warn("repaired a torn WAL tail", dir=str(cfg.wal_dir))
        log.info("restarting member", member=f"{boot.member_id:x}")
        return boot
    if cfg.initial_cluster_state == "existing":
        others = [u for n, u in _peers(cfg) if n != cfg.name]
        while True:
            d = await fetch_cluster(others)
            if d is not None:
                break
            log.warn("cannot fetch cluster info from peers; retrying", peers=others)
            await asyncio.sleep(0.5)
        remote = RaftCluster.from_dict(d)
        boot = bootstrap.join_existing(cfg, remote)
        log.info("joining existing cluster", member=f"{boot.member_id:x}")
        return boot
    boot = bootstrap.create_new(cfg)
    log.info("starting a new member of a new cluster", member=f"{boot.member_id:x}")
    return boot


def _peers(cfg: ServerConfig) -> list[tuple[str, str]]:
    return parse_initial_cluster(cfg.initial_cluster)
