"""`python -m miniapiserver` with no --etcd-servers: an in-process miniraft member.

The data survives a restart: the member finds its WAL and ports again under --data-dir.
"""

from __future__ import annotations

import json
import shutil
import tempfile

import urllib3

from .conftest import APIServerProcess


def get(server: APIServerProcess, path: str) -> tuple[int, dict]:
    pool = urllib3.PoolManager(ca_certs=server.ca)
    r = pool.request("GET", server.url + path, headers={"Authorization": f"Bearer {server.token}"})
    return r.status, json.loads(r.data)


def test_embedded_store_serves_and_restarts() -> None:
    workdir = tempfile.mkdtemp(prefix="miniapiserver-embedded-")
    try:
        server = APIServerProcess("", workdir, [])
        try:
            status, body = get(server, "/api/v1/namespaces")
            assert status == 200
            assert [n["metadata"]["name"] for n in body["items"]] == [
                "default",
                "kube-node-lease",
                "kube-public",
                "kube-system",
            ]
            rv = body["metadata"]["resourceVersion"]
        finally:
            server.stop()
        again = APIServerProcess("", workdir, [])
        try:
            status, body = get(again, "/api/v1/namespaces")
            assert status == 200 and len(body["items"]) == 4
            assert int(body["metadata"]["resourceVersion"]) >= int(rv)
        finally:
            again.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
