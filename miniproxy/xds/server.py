"""The ADS server: envoy.service.discovery.v3.AggregatedDiscoveryService over grpcio (asyncio).

Mirrors go-control-plane's pkg/server/v3/server.go + sotw/v3/server.go and the serving half of
istiod (pilot/pkg/xds/ads.go: one goroutine reading requests, pushes arriving from the
cache, NACKs logged). Each stream runs a pure `SotwStream`; this module only moves requests
and snapshots into it and its responses onto the wire. NACKs are logged with the node id,
type, rejected version and Envoy's error message, and kept in `XdsServer.nacks`.
Omitted: delta xDS (DeltaAggregatedResources answers UNIMPLEMENTED), per-node snapshots,
the separate non-aggregated CDS/LDS/... services.
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import any_pb2

from miniproxy.xds.snapshot import Snapshot, next_snapshot
from miniproxy.xds.sotw import Event, SotwStream

log = logging.getLogger("miniproxy.xds.server")


class XdsServer(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    def __init__(self) -> None:
        self.snapshot = Snapshot()
        self.counter = 0
        self.queues: set[asyncio.Queue] = set()
        self.nacks: list[Event] = []
        self.acks: list[Event] = []
        self.server: grpc.aio.Server | None = None
        self.port = 0

    def set_resources(self, resources: list[any_pb2.Any]) -> Snapshot:
        """Build the next snapshot (raises ValueError on duplicates) and push it to every stream."""
        self.counter += 1
        snap = next_snapshot(
            self.snapshot if self.snapshot.versions else None, resources, self.counter
        )
        self.snapshot = snap
        for q in self.queues:
            q.put_nowait(("snapshot", snap))
        return snap

    async def StreamAggregatedResources(self, request_iterator, context):
        queue: asyncio.Queue = asyncio.Queue()
        self.queues.add(queue)
        stream = SotwStream(self.snapshot)
        reader = asyncio.get_running_loop().create_task(self._read(request_iterator, queue))
        try:
            while True:
                kind, item = await queue.get()
                if kind == "end":
                    return
                if kind == "request":
                    responses = stream.on_request(item)
                else:
                    responses = stream.on_snapshot(item)
                self._record(stream)
                for resp in responses:
                    log.info("push %s version %s (%d resources) to %s nonce %s", resp.type_url.rsplit(".", 1)[-1],
                             resp.version_info, len(resp.resources), stream.node_id or "?", resp.nonce)  # fmt: skip
                    yield resp
        finally:
            reader.cancel()
            self.queues.discard(queue)

    async def _read(self, request_iterator, queue: asyncio.Queue) -> None:
        try:
            async for req in request_iterator:
                queue.put_nowait(("request", req))
        except (grpc.aio.AioRpcError, asyncio.CancelledError):
            pass
        finally:
            queue.put_nowait(("end", None))

    def _record(self, stream: SotwStream) -> None:
        for ev in stream.events:
            if ev.kind == "nack":
                self.nacks.append(ev)
                log.warning(
                    "NACK from %s for %s version %s: %s",
                    ev.node_id,
                    ev.type_url,
                    ev.version,
                    ev.message,
                )
            elif ev.kind == "ack":
                self.acks.append(ev)
                log.info(
                    "ACK from %s for %s version %s",
                    ev.node_id,
                    ev.type_url.rsplit(".", 1)[-1],
                    ev.version,
                )
        stream.events.clear()

    async def start(self, address: str = "127.0.0.1", port: int = 18000) -> int:
        self.server = grpc.aio.server()
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port(f"{address}:{port}")
        if self.port == 0:
            raise OSError(f"cannot bind {address}:{port}")
        await self.server.start()
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(grace=0.5)


def discovery_request(
    type_url: str, names=(), version: str = "", nonce: str = "", node_id: str = ""
) -> discovery_pb2.DiscoveryRequest:
    """A DiscoveryRequest as a client sends it (used by tools and tests)."""
    req = discovery_pb2.DiscoveryRequest(
        type_url=type_url, resource_names=list(names), version_info=version, response_nonce=nonce
    )
    req.node.id = node_id
    return req
