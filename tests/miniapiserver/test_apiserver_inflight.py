"""--max-mutating-requests-inflight: a request over the limit gets 429 with Retry-After.

Mirrors apiserver/pkg/server/filters/maxinflight.go. One POST is held inside the
server (its body is still being sent), so a second one finds the limit reached.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from miniapiserver.app import Config, Running

from .conftest import start_etcd, stop_etcd

pytestmark = pytest.mark.tool("etcd")

BODY = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held"}}).encode()


async def scenario(etcd_url: str) -> None:
    server = Running(
        Config(etcd_servers=[etcd_url], secure_port=0, max_mutating_requests_inflight=1)
    )
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        head = (
            "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
        )
        writer.write(head.encode() + BODY[:10])  # the rest of the body comes later
        await writer.drain()
        await asyncio.sleep(0.5)
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.port}/api/v1/namespaces/default/configmaps"
            async with session.post(
                url,
                data=BODY.replace(b"held", b"other"),
                headers={"Content-Type": "application/json"},
            ) as r:
                body = await r.json()
                assert r.status == 429 and r.headers["Retry-After"] == "1"
                assert body["reason"] == "TooManyRequests"
            writer.write(BODY[10:])
            await writer.drain()
            status_line = await reader.readline()
            assert b" 201 " in status_line
            # reads are not mutating: they have their own limit
            async with session.get(url) as r:
                assert r.status == 200
        writer.close()
    finally:
        await server.stop()


def test_mutating_requests_over_the_limit_get_429() -> None:
    url, proc, data = start_etcd("etcd")
    try:
        asyncio.run(scenario(url))
    finally:
        stop_etcd(proc, data)
