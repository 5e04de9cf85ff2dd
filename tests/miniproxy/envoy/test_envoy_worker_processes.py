"""Worker processes over real sockets: SO_REUSEPORT sockets per worker, snapshots pushed from
main, stats merged for the admin, outlier detection on main fed by every worker.

One proxy with two worker processes runs every phase (starting worker interpreters is the
slow part on a loaded machine): stats merge, outlier ejection, listener and route updates,
then a worker's death.

Reference: Envoy docs intro/arch_overview/intro/threading_model (main thread for xDS, admin
and stats flushing; workers each own their listeners' connections; reuse_port listeners) and
operations/admin (/stats, /stats/prometheus, /clusters).
"""

from __future__ import annotations

import asyncio
import json
import os

import aiohttp
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2

from miniproxy.envoy.config import parse_dict
from tests.miniproxy.envoy.envoy_testlib import (
    bootstrap,
    cluster,
    http_listener,
    running_backends,
    running_proxy,
)

ROUTES = [
    {"match": {"prefix": "/od"}, "route": {"cluster": "od"}},
    {"match": {"prefix": "/"}, "route": {"cluster": "svc"}},
]
OD = {"consecutive_5xx": 3, "interval": "10s", "base_ejection_time": "30s",
      "max_ejection_percent": 50}  # fmt: skip


async def admin_stats(s: aiohttp.ClientSession, px, pattern: str) -> dict[str, int]:
    async with s.get(px.admin_url("/stats"), params={"format": "json", "filter": pattern}) as r:
        return {st["name"]: st["value"] for st in json.loads(await r.text())["stats"]}


async def fresh_get(px, path: str) -> str:
    """One request on a new connection: the kernel hashes each to one of the workers' sockets."""
    async with aiohttp.ClientSession() as s, s.get(px.url(path)) as r:
        return await r.text()


async def workers_caught_up(px) -> None:
    """Wait until every worker applied the newest snapshot main has posted."""
    srv = px.server
    for _ in range(500):
        await asyncio.sleep(0.01)
        if not srv.push_scheduled and all(
            w.applied_version == srv.snapshot_version for w in srv.workers
        ):
            return
    raise AssertionError("workers did not apply the snapshot")


async def stats_count_every_request_once(px, adm: aiohttp.ClientSession, bes) -> None:
    async with aiohttp.ClientSession() as keep:
        for _ in range(10):  # one keep-alive connection: one worker serves it all
            async with keep.get(px.url("/")) as r:
                assert r.status == 200
    bodies = [await fresh_get(px, "/") for _ in range(30)]
    assert sorted(set(bodies)) == ["a", "b"]
    st = await admin_stats(adm, px, r"^(http\.ingress_http|cluster\.svc|listener)")
    per_worker = [st[f"listener.127.0.0.1_0.worker_{i}.downstream_cx_total"] for i in (0, 1)]
    assert sum(per_worker) == 31 and min(per_worker) > 0, per_worker
    assert st["listener.127.0.0.1_0.downstream_cx_total"] == 31
    assert st["http.ingress_http.downstream_rq_total"] == 40
    assert st["http.ingress_http.downstream_rq_2xx"] == 40
    assert st["cluster.svc.upstream_rq_total"] == 40
    assert st["cluster.svc.upstream_rq_200"] == 40
    assert st["cluster.svc.membership_total"] == 2  # main's, not summed over workers
    assert sum(b.hits for b in bes) == 40
    async with adm.get(px.admin_url("/stats/prometheus")) as r:
        prom = await r.text()
    assert 'envoy_cluster_upstream_rq_total{envoy_cluster_name="svc"} 40\n' in prom
    async with adm.get(px.admin_url("/clusters")) as r:
        lines = (await r.text()).splitlines()
    per_host = [int(ln.rsplit("::", 1)[1]) for ln in lines if ln.startswith("svc::") and "::rq_total::" in ln]  # fmt: skip
    assert sorted(per_host) == sorted(b.hits for b in bes)


async def outlier_detection_runs_on_main(px, adm: aiohttp.ClientSession, bad) -> None:
    """Results from both workers reach main's detector; the ejection comes back as a snapshot."""
    for _ in range(40):
        await fresh_get(px, "/od")
        st = await admin_stats(adm, px, r"^cluster\.od\.outlier_detection\.ejections_active")
        if st["cluster.od.outlier_detection.ejections_active"] == 1:
            break
    else:
        raise AssertionError("bad host never ejected")
    assert bad.hits >= 3
    await workers_caught_up(px)
    hits = bad.hits
    assert [await fresh_get(px, "/od") for _ in range(10)] == ["good"] * 10
    assert bad.hits == hits
    st = await admin_stats(adm, px, r"^cluster\.od\..*ejections_enforced_consecutive_5xx")
    assert st == {"cluster.od.outlier_detection.ejections_enforced_consecutive_5xx": 1}


def _direct(text: str) -> dict:
    return {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": text}}}  # fmt: skip


async def updates_reach_every_worker(px) -> None:
    """LDS-style listener update at the same address, then a switch to RDS: new connections
    see each change on both workers, an open connection keeps the chain it started with."""
    port = px.port()
    async with aiohttp.ClientSession() as old:
        async with old.get(px.url("/")) as r:
            assert await r.text() in ("a", "b")
        new = parse_dict(http_listener([_direct("v2")]), listener_pb2.Listener)
        assert await px.server.listener_manager.add_or_update_listener(new)
        await workers_caught_up(px)
        assert px.port() == port  # same address: the workers keep their sockets
        assert [await fresh_get(px, "/") for _ in range(6)] == ["v2"] * 6
        async with old.get(px.url("/")) as r:  # accepted before the update
            assert await r.text() in ("a", "b")
    rds = http_listener([])
    hcm = rds["filter_chains"][0]["filters"][0]["typed_config"]
    del hcm["route_config"]
    hcm["rds"] = {"route_config_name": "rc", "config_source": {"ads": {}}}
    rc = {"name": "rc", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [_direct("v3")]}]}  # fmt: skip
    # The listener now names route config "rc", which arrives in the same loop turn.
    await px.server.listener_manager.add_or_update_listener(parse_dict(rds, listener_pb2.Listener))
    px.server.apply_route_configs([parse_dict(rc, route_pb2.RouteConfiguration)])
    await workers_caught_up(px)
    assert [await fresh_get(px, "/") for _ in range(6)] == ["v3"] * 6


def test_two_worker_processes_stats_outlier_detection_and_config_updates():
    async def main():
        async with running_backends("a", "b", "bad", "good") as (a, b, bad, good):
            bad.status = 500
            boot = bootstrap(
                [http_listener(ROUTES)],
                [cluster("svc", a.port, b.port),
                 cluster("od", bad.port, good.port, outlier_detection=OD)],
            )  # fmt: skip
            async with running_proxy(boot, concurrency=2) as px:
                procs = [w.proc for w in px.server.workers]
                assert [p.poll() for p in procs] == [None, None]
                assert len({p.pid for p in procs} | {os.getpid()}) == 3
                async with aiohttp.ClientSession() as adm:
                    await stats_count_every_request_once(px, adm, [a, b])
                    await outlier_detection_runs_on_main(px, adm, bad)
                await updates_reach_every_worker(px)
                procs[1].kill()  # as in Envoy, losing a worker ends the server
                await asyncio.wait_for(px.server.shutdown_event.wait(), 10)
            assert [p.poll() is not None for p in procs] == [True, True]  # gone with the server

    asyncio.run(main())
