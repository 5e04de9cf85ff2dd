"""`python -m miniproxy.envoy -c envoy.yaml`: the envoy command line.

Mirrors source/server/options_impl.cc (flag names: -c/--config-path, --config-yaml,
--mode serve|validate|init_only, -l/--log-level, --concurrency, --base-id, --service-cluster,
--service-node, --admin-address-path, --disable-hot-restart) and source/exe/main_common.cc
(validate prints `configuration '<path>' OK` and exits 0; a bad config logs
`error initializing configuration '<path>': <reason>` and exits 1).
With no arguments it serves an embedded config: a listener on 127.0.0.1:10000 answering
from a direct response, and the admin on 127.0.0.1:9901.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
import time

from miniproxy.envoy.config import EnvoyException, load_bootstrap

DEFAULT_CONFIG = """
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 9901}}}
static_resources:
  listeners:
  - name: listener_0
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: local
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                direct_response: {status: 200, body: {inline_string: "hello from miniproxy.envoy\\n"}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
"""


class EnvoyFormatter(logging.Formatter):
    """Envoy's default log format: [time][thread][level][logger] message."""

    def format(self, record: logging.LogRecord) -> str:
        t = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        name = record.name.rsplit(".", 1)[-1]
        return f"[{t}.{int(record.msecs):03d}][{record.thread % 100000}][{record.levelname.lower()}][{name}] {record.getMessage()}"


LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "warn": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL, "off": logging.CRITICAL + 10}  # fmt: skip


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="envoy",
        description="miniproxy.envoy: an Envoy-like L7 proxy configured with Envoy's v3 bootstrap",
    )
    p.add_argument("-c", "--config-path", default="", help="Path to configuration file")
    p.add_argument("--config-yaml", default="", help="YAML string for a bootstrap configuration")
    p.add_argument(
        "--mode",
        default="serve",
        choices=["serve", "validate", "init_only"],
        help="One of 'serve' (default; validate configs and then serve traffic normally) or 'validate' (validate configs and exit).",
    )
    p.add_argument("-l", "--log-level", default="info", choices=sorted(LEVELS), help="Log levels")
    p.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 1,
        help="# of workers to run (here worker processes; 1 serves from the main process)",
    )
    p.add_argument(
        "--base-id",
        type=int,
        default=0,
        help="Base ID so that multiple envoys can run on the same host if needed (accepted, no hot restart)",
    )
    p.add_argument("--service-cluster", default="", help="Cluster name")
    p.add_argument("--service-node", default="", help="Node identifier")
    p.add_argument("--service-zone", default="", help="Zone name")
    p.add_argument("--admin-address-path", default="", help="Admin address path")
    p.add_argument(
        "--disable-hot-restart", action="store_true", help="Disable hot restart functionality"
    )
    p.add_argument("--seed", type=int, default=None, help="seed the proxy's random source (tests)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EnvoyFormatter())
    logging.basicConfig(level=LEVELS[args.log_level], handlers=[handler], force=True)
    log = logging.getLogger("miniproxy.envoy.main")
    path = args.config_path
    config_yaml = args.config_yaml or (DEFAULT_CONFIG if not path else "")
    try:
        boot = load_bootstrap(path or None, config_yaml or None)
        if args.service_cluster:
            boot.node.cluster = args.service_cluster
        if args.service_node:
            boot.node.id = args.service_node
        if args.mode in ("validate", "init_only"):
            from miniproxy.envoy.server import Server

            Server(boot, args.concurrency).load_static()
            if args.mode == "validate":
                print(f"configuration '{path}' OK")
            return 0
    except (EnvoyException, ValueError) as e:
        log.critical("error initializing configuration '%s': %s", path, e)
        return 1
    return asyncio.run(_serve(boot, args, path, log))


async def _serve(boot, args, path: str, log) -> int:
    import random

    from miniproxy.envoy.server import Server

    server = Server(boot, max(1, args.concurrency), random.Random(args.seed), args.log_level)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.shutdown_event.set)
    try:
        await server.start()
    except (EnvoyException, ValueError) as e:
        log.critical("error initializing configuration '%s': %s", path, e)
        server.stop()
        return 1
    # Everything built so far (modules, protos, the config) lives as long as the process: move
    # it out of the collector's generations so a full collection only scans per-request objects.
    gc.freeze()
    if server.admin is not None:
        log.info("admin address: %s:%d", server.admin.host, server.admin.port)
        if args.admin_address_path:
            with open(args.admin_address_path, "w") as f:
                f.write(f"{server.admin.host}:{server.admin.port}\n")
    for name, lis in server.listener_manager.listeners.items():
        log.info("listener '%s' on %s:%d", name, lis.host, lis.port)
    log.info("starting main dispatch loop")
    await server.shutdown_event.wait()
    log.info("exiting")
    server.stop()
    if server.admin is not None:
        await server.admin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
