"""The Watch service: a bidirectional stream feeding a WatchStream core.

Mirrors the I/O half of etcd server/etcdserver/api/v3rpc/watch.go
(serverWatchStream.recvLoop/sendLoop and the progress ticker); the watch
logic itself is miniraft/server/mvcc/watch_stream.py.
"""

from __future__ import annotations

import asyncio

from miniraft.api.etcdserverpb import rpc_pb2_grpc
from miniraft.server.etcdserver.v3_server import V3Server
from miniraft.server.mvcc.watch_stream import WatchStream


class WatchServicer(rpc_pb2_grpc.WatchServicer):
    def __init__(self, v3: V3Server) -> None:
        self.v3 = v3

    async def Watch(self, request_iterator, context):
        out: asyncio.Queue = asyncio.Queue()
        ws = WatchStream(self.v3.s.kv, out.put_nowait)
        recv = asyncio.create_task(self._recv(request_iterator, ws, out))
        ticker = asyncio.create_task(self._progress(ws))
        try:
            while True:
                resp = await out.get()
                if resp is None:
                    return
                hdr = self.v3.header(resp.header.revision)
                resp.header.CopyFrom(hdr)
                yield resp
        finally:
            recv.cancel()
            ticker.cancel()
            ws.close()

    async def _recv(self, request_iterator, ws: WatchStream, out: asyncio.Queue) -> None:
        try:
            async for req in request_iterator:
                ws.handle(req)
        except asyncio.CancelledError:
            raise
        except Exception:
            pass
        out.put_nowait(None)

    async def _progress(self, ws: WatchStream) -> None:
        while True:
            await asyncio.sleep(self.v3.s.cfg.watch_progress_notify_interval)
            ws.progress_tick()
