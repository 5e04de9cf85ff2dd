"""`python -m minikubelet`: flags, wiring and the kubelet's loops.

Mirrors cmd/kubelet/app/server.go (flags with upstream's names, RunKubelet) and
kubelet.go's Run (the node status and lease loops, the pod config source, the
housekeeping tick, the HTTP server). Killing this process leaves containers
running: each has its own shim, and a restarted kubelet finds them in --root-dir.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import socket
import time
import zlib
from datetime import UTC, datetime

from aiohttp import web

from miniapi.meta.v1.duration import parse_duration
from miniclient.kubeconfig import build_config_from_flags
from miniclient.rest import Client
from minikubelet import cni, cri, nodestatus
from minikubelet.backoff import Backoff
from minikubelet.dns import Configurer
from minikubelet.hollow import HollowRuntime
from minikubelet.kubelet import Kubelet
from minikubelet.kuberuntime_manager import KubeGenericRuntimeManager
from minikubelet.server import make_app

log = logging.getLogger("minikubelet")
REGISTER_CONCURRENCY = 50


def _mirror(text: str) -> tuple[str, str]:
    name, sep, endpoint = text.partition("=")
    if not (sep and name and endpoint):
        raise argparse.ArgumentTypeError(f"want NAME=HOST:PORT, got {text!r}")
    return name, endpoint


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m minikubelet", description="a kubelet clone")
    p.add_argument("--kubeconfig", default="")
    p.add_argument("--hostname-override", default=socket.gethostname())
    p.add_argument("--node-ip", default="127.0.0.1")
    p.add_argument("--container-runtime-endpoint", default="minicontainer",
                   help="minicontainer, runc, crun or a runc-compatible binary")  # fmt: skip
    p.add_argument("--root-dir", default="/var/lib/minikubelet")
    p.add_argument("--pod-cidr", default="")
    p.add_argument("--cni-conf-dir", default="", help="default: <root-dir>/cni/net.d, written "
                   "with a bridge + host-local conflist for --pod-cidr when empty")  # fmt: skip
    p.add_argument("--cni-bin-dir", default="/opt/cni/bin:/usr/lib/cni")
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=10250)
    p.add_argument("--hollow", action="store_true", help="run no containers (kubemark style)")
    p.add_argument("--hollow-delay", type=float, default=1.0)
    p.add_argument("--hollow-nodes", type=int, default=1, help="with --hollow: nodes to run")
    p.add_argument("--max-pods", type=int, default=110)
    p.add_argument("--register-with-taints", default="", type=nodestatus.parse_taints,
                   help="taints the Node is registered with: <key>=<value>:<effect>,...")  # fmt: skip
    p.add_argument("--sync-frequency", default="1m0s",
                   help="max period between syncs of a pod whose containers did not change")  # fmt: skip
    p.add_argument("--cluster-dns", default="",
                   help="comma-separated DNS server IPs for ClusterFirst pods")  # fmt: skip
    p.add_argument("--cluster-domain", default="", help="e.g. cluster.local")
    p.add_argument("--resolv-conf", default="/etc/resolv.conf",
                   help="the host resolver file pods with dnsPolicy Default get")  # fmt: skip
    p.add_argument("--image-store", default="", help="image store (OCI layout + snapshots); "
                   "default <root-dir>/image-store; a minicontainer --store shares its images")  # fmt: skip
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST[:PORT]",
                   help="a registry to pull from over plain HTTP (127.0.0.0/8 always is); "
                   "not a kubelet flag upstream: containerd's registry config holds this")  # fmt: skip
    p.add_argument("--registry-mirror", action="append", default=[], metavar="NAME=HOST:PORT",
                   type=_mirror,
                   help="pull NAME's images (e.g. 127.0.0.1:5000 or docker.io) from this "
                   "plain-HTTP endpoint; containerd's registry.mirrors, not a kubelet flag")  # fmt: skip
    p.add_argument("-v", "--v", type=int, default=0)
    return p.parse_args(argv)


def build_runtime(args: argparse.Namespace) -> KubeGenericRuntimeManager:
    conf_dir = args.cni_conf_dir or os.path.join(args.root_dir, "cni", "net.d")
    has_conf = os.path.isdir(conf_dir) and any(
        n.endswith((".conf", ".conflist", ".json")) for n in os.listdir(conf_dir))  # fmt: skip
    if not has_conf:
        h = zlib.crc32(args.hostname_override.encode())
        cidr = args.pod_cidr or f"10.{200 + h % 50}.{(h >> 8) % 256}.0/24"
        cni.write_default_conf(conf_dir, f"mkbr{h % 100000}", cidr,
                               os.path.join(args.root_dir, "cni", "ipam"))  # fmt: skip
    runtime = cri.RuntimeService(args.root_dir, args.container_runtime_endpoint, conf_dir,
                                 args.cni_bin_dir.split(":"), args.image_store,
                                 args.insecure_registry,
                                 dict(args.registry_mirror))  # fmt: skip
    dns = Configurer(tuple(s.strip() for s in args.cluster_dns.split(",") if s.strip()),
                     args.cluster_domain, args.resolv_conf)  # fmt: skip
    return KubeGenericRuntimeManager(runtime, args.root_dir, Backoff(), dns)


async def node_status_loop(agent: nodestatus.NodeAgent, ready) -> None:
    """syncNodeStatus every nodeStatusUpdateFrequency (10 s); it patches only on change
    or after nodeStatusReportFrequency (5 min)."""
    while True:
        await asyncio.sleep(nodestatus.RENEW_INTERVAL)
        try:
            await agent.update_node_status(datetime.now(UTC), time.monotonic(), ready())
        except Exception as err:  # the API server may be briefly away; retry next tick
            log.warning("node status update failed: %s", err)


async def lease_loop(agent: nodestatus.NodeAgent, rng: random.Random) -> None:
    """The lease controller: renew at once, then every renewInterval with 4% jitter."""
    while True:
        try:
            await agent.renew_lease(datetime.now(UTC))
        except Exception as err:  # the API server may be briefly away; retry next tick
            log.warning("failed to update lease: %s", err)
        await asyncio.sleep(
            nodestatus.RENEW_INTERVAL * (1 + nodestatus.RENEW_JITTER * rng.random())
        )


async def housekeeping(kubelet: Kubelet) -> None:
    while True:
        await asyncio.sleep(2)
        try:
            await kubelet.handle_pod_cleanups()
        except Exception as err:
            log.warning("housekeeping failed: %s", err)


async def start_node(args, client: Client, kubelet: Kubelet, port: int, tasks: list) -> None:
    """Register one node's NodeAgent and start its loops (lease + status, pods, cleanups)."""
    manager = kubelet.runtime
    version = (
        "hollow://0.1" if manager is None else await asyncio.to_thread(manager.runtime.version)
    )
    images = None
    if manager is not None:
        service = manager.runtime.images
        images = lambda: nodestatus.node_images(service.list_images())  # noqa: E731
    cap = nodestatus.capacity(pods=args.max_pods)
    agent = nodestatus.NodeAgent(client, kubelet.node_name, args.node_ip, port, version, cap,
                                 args.pod_cidr, images, args.register_with_taints)  # fmt: skip
    await agent.register_with_api_server(lambda: datetime.now(UTC))
    tasks += [
        asyncio.create_task(lease_loop(agent, random.Random())),
        asyncio.create_task(node_status_loop(agent, lambda: True)),
        asyncio.create_task(kubelet.reflector().run()),
    ]
    if manager is not None:  # a hollow node has no runtime to relist or clean up
        tasks += [asyncio.create_task(kubelet.pleg_loop()),
                  asyncio.create_task(housekeeping(kubelet))]  # fmt: skip


def node_names(args: argparse.Namespace) -> list[str]:
    """--hollow-nodes N runs N hollow nodes <hostname>-0 … -N-1 in this one process."""
    if args.hollow and args.hollow_nodes > 1:
        return [f"{args.hostname_override}-{i}" for i in range(args.hollow_nodes)]
    return [args.hostname_override]


async def run(args: argparse.Namespace) -> None:
    manager = None if args.hollow else await asyncio.to_thread(build_runtime, args)
    # One client (HTTP session) per node, as each kubemark hollow node has its own: a shared
    # session's connection pool (100) would be exhausted by the nodes' long-lived watches.
    clients = [Client(build_config_from_flags("", args.kubeconfig)) for _ in node_names(args)]
    for client, name in zip(clients, node_names(args), strict=True):
        client.config.user_agent = f"minikubelet/{name}"
    kubelets = [
        Kubelet(client, name, args.node_ip, manager,
                HollowRuntime(delay=args.hollow_delay) if args.hollow else None, args.max_pods,
                parse_duration(args.sync_frequency) / 1e9)
        for client, name in zip(clients, node_names(args), strict=True)
    ]  # fmt: skip
    # The server is bound before registering so the Node advertises its real port (--port 0).
    runner = web.AppRunner(make_app(kubelets[0]))
    await runner.setup()
    site = web.TCPSite(runner, args.address, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    tasks: list[asyncio.Task] = []
    # Hollow nodes register side by side, as kubemark's separate hollow kubelets do; the
    # bound keeps a thousand of them from all waiting on the API server at once.
    gate = asyncio.Semaphore(REGISTER_CONCURRENCY)

    async def start(kubelet: Kubelet) -> None:
        async with gate:
            await start_node(args, kubelet.client, kubelet, port, tasks)

    await asyncio.gather(*(start(k) for k in kubelets))
    print(f"minikubelet {kubelets[0].node_name}: serving on http://{args.address}:{port}",
          flush=True)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for t in tasks:
        t.cancel()
    for kubelet in kubelets:
        await kubelet.workers.stop()
        kubelet.executor.shutdown(wait=False, cancel_futures=True)
    await runner.cleanup()
    for client in clients:
        await client.close()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.DEBUG if args.v >= 4 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
