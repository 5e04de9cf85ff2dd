"""`python -m miniraft serve`: etcd's command line for one member.

Mirrors etcd server/etcdmain/config.go (flag names and defaults) and
etcd.go (startEtcd, waiting for a signal). Unknown flags are an error, as in
etcd; a bad configuration exits 1 with etcd-style text, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys

from miniraft.server.embed import Etcd
from miniraft.server.etcdserver.bootstrap import BootstrapError
from miniraft.server.etcdserver.config import ServerConfig
from miniraft.server.logutil import Logger
from miniraft.server.wal.wal import WALError


def _urls(s: str) -> list[str]:
    return [u.strip() for u in s.split(",") if u.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m miniraft serve", description="Run one miniraft (etcd v3 API) member."
    )
    d = ServerConfig()
    a = p.add_argument
    a("--name", default=d.name, help="human-readable name for this member")
    a("--data-dir", default=None, help="path to the data directory (default: NAME.etcd)")
    a("--listen-client-urls", default="http://localhost:2379")
    a("--advertise-client-urls", default=None, help="default: --listen-client-urls")
    a("--listen-peer-urls", default="http://localhost:2380")
    a("--initial-advertise-peer-urls", default=None, help="default: --listen-peer-urls")
    a("--initial-cluster", default="", help="name=peerURL,... for bootstrapping")
    a("--initial-cluster-state", default="new", choices=["new", "existing"])
    a("--initial-cluster-token", default=d.initial_cluster_token)
    a("--heartbeat-interval", type=int, default=d.heartbeat_ms, help="ms")
    a("--election-timeout", type=int, default=d.election_ms, help="ms")
    a("--snapshot-count", type=int, default=d.snapshot_count)
    a("--experimental-snapshot-catchup-entries", type=int, default=d.snapshot_catchup_entries)
    a("--max-request-bytes", type=int, default=d.max_request_bytes)
    a("--max-txn-ops", type=int, default=d.max_txn_ops)
    a("--pre-vote", type=lambda s: s.lower() == "true", default=True)
    a("--experimental-watch-progress-notify-interval", default="10m")
    a("--experimental-enable-lease-checkpoint", action="store_true")
    a("--experimental-lease-checkpoint-interval", default="5m")
    return p


def _duration(s: str) -> float:
    """Go durations as etcd takes them: 10m, 5s, 250ms."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * units[suffix]
    return float(s)


def config_from_args(ns: argparse.Namespace) -> ServerConfig:
    lcu = _urls(ns.listen_client_urls)
    lpu = _urls(ns.listen_peer_urls)
    return ServerConfig(
        name=ns.name,
        data_dir=ns.data_dir or f"{ns.name}.etcd",
        listen_client_urls=lcu,
        advertise_client_urls=_urls(ns.advertise_client_urls) if ns.advertise_client_urls else lcu,
        listen_peer_urls=lpu,
        initial_advertise_peer_urls=(
            _urls(ns.initial_advertise_peer_urls) if ns.initial_advertise_peer_urls else lpu
        ),
        initial_cluster=ns.initial_cluster,
        initial_cluster_state=ns.initial_cluster_state,
        initial_cluster_token=ns.initial_cluster_token,
        heartbeat_ms=ns.heartbeat_interval,
        election_ms=ns.election_timeout,
        snapshot_count=ns.snapshot_count,
        snapshot_catchup_entries=ns.experimental_snapshot_catchup_entries,
        max_request_bytes=ns.max_request_bytes,
        max_txn_ops=ns.max_txn_ops,
        pre_vote=ns.pre_vote,
        watch_progress_notify_interval=_duration(ns.experimental_watch_progress_notify_interval),
        enable_lease_checkpoint=ns.experimental_enable_lease_checkpoint,
        lease_checkpoint_interval=_duration(ns.experimental_lease_checkpoint_interval),
    )


async def run(cfg: ServerConfig) -> int:
    log = Logger(cfg.name)
    try:
        e = await Etcd.start(cfg, log)
    except (BootstrapError, WALError, ValueError, OSError) as err:
        log.error("failed to start", error=str(err))
        return 1
    # Everything built so far (modules, the restored store) lives as long as the
    # process: keep it out of the cyclic collector's scans, and scan less often,
    # since a busy member allocates many short-lived objects per request.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    done, _ = await asyncio.wait(
        [asyncio.create_task(stop.wait()), asyncio.create_task(e.stopped())],
        return_when=asyncio.FIRST_COMPLETED,
    )
    log.info("shutting down")
    await e.close()
    return 0


def main(argv: list[str]) -> int:
    ns = build_parser().parse_args(argv)
    if ns.election_timeout < 5 * ns.heartbeat_interval:
        print(
            "election timeout should be at least 5 times the heartbeat interval",
            file=sys.stderr,
        )
        return 1
    return asyncio.run(run(config_from_args(ns)))
