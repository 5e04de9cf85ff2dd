"""A small etcd v3 client: the part of clientv3 that kube-apiserver uses.

Mirrors go.etcd.io/etcd/client/v3 (kv.go: Get/Txn, op.go: OpGet/OpPut/OpDelete,
compare.go: Compare on mod_revision/create_revision, watch.go: Watch with
WithRev/WithPrefix/WithPrevKV/WithProgressNotify, maintenance Compact) over
grpc.aio and the etcdserverpb protos. It speaks to any etcd v3 endpoint: a real
etcd 3.4 or miniraft. Omitted: leases, auth, endpoint balancing (the first
endpoint is used; the others are tried when it cannot be reached), watch
multiplexing over one stream (each watch opens its own gRPC stream).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc

from miniraft.api.etcdserverpb import rpc_pb2, rpc_pb2_grpc


def prefix_end(prefix: bytes) -> bytes:
    """The range end that selects every key starting with prefix (clientv3.GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"  # every byte was 0xff: the range runs to the end of the keyspace


def compare_mod_revision(key: bytes, rev: int) -> rpc_pb2.Compare:
    """clientv3.Compare(clientv3.ModRevision(key), "=", rev)."""
    return rpc_pb2.Compare(
        result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.MOD, key=key, mod_revision=rev
    )


def compare_not_found(key: bytes) -> rpc_pb2.Compare:
    """clientv3.Compare(clientv3.CreateRevision(key), "=", 0): the key does not exist."""
    return rpc_pb2.Compare(
        result=rpc_pb2.Compare.EQUAL, target=rpc_pb2.Compare.CREATE, key=key, create_revision=0
    )


def op_put(key: bytes, value: bytes) -> rpc_pb2.RequestOp:
    return rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value))


def op_get(key: bytes) -> rpc_pb2.RequestOp:
    return rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key))


def op_delete(key: bytes) -> rpc_pb2.RequestOp:
    return rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=key))


@dataclass
class EtcdError(Exception):
    """A gRPC failure from the store, with etcd's own message text."""

    code: grpc.StatusCode
    message: str

    def __str__(self) -> str:
        return f"etcdserver: {self.message}" if "etcdserver" not in self.message else self.message


class Client:
    """clientv3.Client reduced to KV, Watch and Maintenance."""

    def __init__(self, endpoints: list[str]) -> None:
        self.endpoints = [e.removeprefix("http://").removeprefix("https://") for e in endpoints]
        self._channel: grpc.aio.Channel | None = None

    async def connect(self, timeout: float = 30.0) -> None:
        """Open a channel to the first endpoint that answers (clientv3.New with DialTimeout)."""
        last: Exception | None = None
        for target in self.endpoints:
            channel = grpc.aio.insecure_channel(
                target, options=[("grpc.max_receive_message_length", 256 << 20)]
            )
            try:
                await asyncio.wait_for(channel.channel_ready(), timeout)
            except (TimeoutError, grpc.aio.AioRpcError) as e:
                last = e
                await channel.close()
                continue
            self._channel = channel
            self.kv = rpc_pb2_grpc.KVStub(channel)
            self.watch_stub = rpc_pb2_grpc.WatchStub(channel)
            self.maintenance = rpc_pb2_grpc.MaintenanceStub(channel)
            return
        raise ConnectionError(f"cannot reach etcd at {self.endpoints}: {last!r}")

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Retry a read until the store answers (a fresh cluster may have no leader yet)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                await self.get(b"\x00")
                return
            except EtcdError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def _call(self, method, request):  # type: ignore[no-untyped-def]
        try:
            return await method(request)
        except grpc.aio.AioRpcError as e:
            raise EtcdError(e.code(), e.details() or "") from None

    async def get(self, key: bytes, revision: int = 0) -> rpc_pb2.RangeResponse:
        return await self._call(self.kv.Range, rpc_pb2.RangeRequest(key=key, revision=revision))

    async def range(
        self, key: bytes, range_end: bytes, *, revision: int = 0, limit: int = 0
    ) -> rpc_pb2.RangeResponse:
        """A linearizable range read, sorted by key, like OpGet(key, WithRange/WithLimit/WithRev)."""
        request = rpc_pb2.RangeRequest(key=key, range_end=range_end, revision=revision, limit=limit)
        return await self._call(self.kv.Range, request)

    async def any_modified_since(
        self, key: bytes, range_end: bytes, revision: int, min_mod_revision: int
    ) -> bool:
        """Whether a key of the range at revision was last written at min_mod_revision or later.

        keys_only with limit 1, not count_only: etcd counts before it applies the
        revision filters, so a count would include every key.
        """
        request = rpc_pb2.RangeRequest(
            key=key, range_end=range_end, revision=revision, limit=1, keys_only=True,
            min_mod_revision=min_mod_revision,
        )  # fmt: skip
        return bool((await self._call(self.kv.Range, request)).kvs)

    async def count(self, key: bytes, range_end: bytes, revision: int = 0) -> int:
        request = rpc_pb2.RangeRequest(
            key=key, range_end=range_end, revision=revision, count_only=True
        )
        return (await self._call(self.kv.Range, request)).count

    async def txn(
        self,
        compare: list[rpc_pb2.Compare],
        success: list[rpc_pb2.RequestOp],
        failure: list[rpc_pb2.RequestOp] | None = None,
    ) -> rpc_pb2.TxnResponse:
        request = rpc_pb2.TxnRequest(compare=compare, success=success, failure=failure or [])
        return await self._call(self.kv.Txn, request)

    async def put(self, key: bytes, value: bytes) -> rpc_pb2.PutResponse:
        return await self._call(self.kv.Put, rpc_pb2.PutRequest(key=key, value=value))

    async def compact(self, revision: int) -> rpc_pb2.CompactionResponse:
        return await self._call(self.kv.Compact, rpc_pb2.CompactionRequest(revision=revision))

    async def status(self) -> rpc_pb2.StatusResponse:
        return await self._call(self.maintenance.Status, rpc_pb2.StatusRequest())

    async def watch(
        self,
        key: bytes,
        range_end: bytes,
        start_revision: int,
        progress: asyncio.Queue[None] | None = None,
    ) -> AsyncIterator[rpc_pb2.WatchResponse]:
        """Yield WatchResponses for a key range from start_revision (with prev_kv).

        Each item put on `progress` sends a WatchProgressRequest (clientv3's
        RequestProgress): the server answers, in order with the events, with an
        empty response whose header carries the current revision. A response with
        compact_revision set is yielded last so the caller can answer 410 Gone.
        """
        create = rpc_pb2.WatchCreateRequest(
            key=key, range_end=range_end, start_revision=start_revision, prev_kv=True
        )
        done = asyncio.Event()

        async def requests() -> AsyncIterator[rpc_pb2.WatchRequest]:
            yield rpc_pb2.WatchRequest(create_request=create)
            # Keep the send side open (a half-close may end the watch) and carry
            # progress requests.
            while not done.is_set():
                if progress is None:
                    await done.wait()
                    return
                await progress.get()
                yield rpc_pb2.WatchRequest(progress_request=rpc_pb2.WatchProgressRequest())

        call = self.watch_stub.Watch(requests())
        try:
            async for response in call:
                yield response
                if response.canceled or response.compact_revision:
                    return
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                raise EtcdError(e.code(), e.details() or "") from None
        finally:
            done.set()
            if progress is not None:
                progress.put_nowait(None)  # wake the request generator so it can end
            call.cancel()
