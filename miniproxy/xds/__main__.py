"""`python -m miniproxy.xds --resources DIR | --kubeconfig K [--port 18000]`: an ADS server.

The folder holds files in Envoy's file-based dynamic configuration form (`resources:` lists
of Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, each with its `"@type"`).
The folder is polled; when a file changes, a new snapshot is pushed to every subscribed
client. A file that fails to parse is reported and the previous snapshot stays in force.
With --kubeconfig it watches Services, EndpointSlices, Pods (and, when their CRDs are
installed, Istio VirtualServices and DestinationRules) and serves their translation
(kube_controller.py, translator.py). With neither it serves an empty snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

import aiohttp

from miniapi import errors
from miniclient.kubeconfig import ConfigError, build_config_from_flags
from miniclient.rest import Client
from miniproxy.envoy.config import EnvoyException
from miniproxy.xds.kube_controller import KubeController, istio_served
from miniproxy.xds.resources import fingerprint, load_folder
from miniproxy.xds.server import XdsServer
from miniproxy.xds.translator import TranslateOptions

log = logging.getLogger("miniproxy.xds.main")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="miniproxy.xds",
        description="An ADS (xDS) control plane serving a folder of Envoy v3 resources",
    )
    p.add_argument(
        "--resources", default="", help="folder of YAML/JSON files with `resources:` lists"
    )
    p.add_argument("--kubeconfig", default="", help="watch this cluster (Kubernetes mode)")
    p.add_argument(
        "--listener-address",
        default="0.0.0.0",
        help="Kubernetes mode: address the outbound listeners <address>_<port> bind",
    )
    p.add_argument(
        "--proxy-namespace",
        default="default",
        help="Kubernetes mode: namespace whose services are also reachable by bare name",
    )
    p.add_argument(
        "--namespace",
        default="",
        help="Kubernetes mode: watch only this namespace (default: all namespaces)",
    )
    p.add_argument("--address", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=18000, help="gRPC port (0: pick a free one)")
    p.add_argument("--poll-interval", type=float, default=0.5, help="seconds between folder scans")
    p.add_argument("--port-file", default="", help="write the bound port to this file")
    p.add_argument(
        "-l", "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    return p.parse_args(argv)


async def watch_folder(server: XdsServer, folder: Path, interval: float) -> None:
    seen = None
    while True:
        fp = fingerprint(folder)
        if fp != seen:
            seen = fp
            try:
                snap = server.set_resources(load_folder(folder))
                log.info(
                    "snapshot versions %s",
                    {t.rsplit(".", 1)[-1]: v for t, v in snap.versions.items()},
                )
            except (EnvoyException, ValueError) as e:
                log.error("keeping the previous snapshot: %s", e)
        await asyncio.sleep(interval)


async def watch_cluster(server: XdsServer, args: argparse.Namespace, stop: asyncio.Event) -> int:
    """Run the KubeController until stopped; 1 (and stop set) if the cluster is unusable."""
    try:
        client = Client(build_config_from_flags("", args.kubeconfig))
    except ConfigError as e:
        log.critical("%s", e)
        stop.set()
        return 1
    try:
        istio = await istio_served(client)
        log.info("networking.istio.io/v1 %s", "served" if istio else "not served: Services only")
        opts = TranslateOptions(args.listener_address, args.proxy_namespace)
        await KubeController(client, server, opts, istio=istio, namespace=args.namespace).run(stop)
        return 0
    except (aiohttp.ClientError, errors.StatusError) as e:
        log.critical("cannot reach the API server: %s", e)
        stop.set()
        return 1
    finally:
        await client.close()


async def serve(args: argparse.Namespace) -> int:
    server = XdsServer()
    try:
        port = await server.start(args.address, args.port)
    except (OSError, RuntimeError) as e:
        log.critical("cannot listen on %s:%d: %s", args.address, args.port, e)
        return 1
    log.info("ADS server listening on %s:%d", args.address, port)
    if args.port_file:
        Path(args.port_file).write_text(f"{port}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = []
    if args.resources:
        tasks.append(
            loop.create_task(watch_folder(server, Path(args.resources), args.poll_interval))
        )
    kube = loop.create_task(watch_cluster(server, args, stop)) if args.kubeconfig else None
    await stop.wait()
    rc = 0
    for t in tasks:
        t.cancel()
    if kube is not None:
        rc = await kube  # it ends by itself once stop is set
    await server.stop()
    return rc


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="[%(asctime)s][%(levelname)s][%(name)s] %(message)s"
    )
    if args.resources and args.kubeconfig:
        log.critical("--resources and --kubeconfig are exclusive")
        return 1
    if args.resources and not Path(args.resources).is_dir():
        log.critical("--resources %s is not a directory", args.resources)
        return 1
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
