"""python -m minicontroller: the controller manager process.

Mirrors cmd/kube-controller-manager/app/controllermanager.go (Run: build the
client and the shared informer factory, optionally win leader election on the
kube-system/kube-controller-manager Lease, then start the selected controllers
and the factory) and its flags (--kubeconfig, --master, --controllers,
--leader-elect*, --concurrent-deployment-syncs, --concurrent-replicaset-syncs,
--concurrent-service-endpoint-syncs, --max-endpoints-per-slice,
--use-service-account-credentials: each controller's client is its own ServiceAccount,
see clientbuilder.py), plus /healthz and /metrics
(workqueue metrics under upstream's names) on --bind-address/--port.
Controllers available: deployment, endpointslice, replicaset,
garbage-collector-controller (--concurrent-gc-syncs), namespace-controller
(--concurrent-namespace-syncs), node-lifecycle-controller (--node-monitor-period,
--node-monitor-grace-period, as Go durations like 5s), serviceaccount-controller,
root-ca-certificate-publisher-controller (--root-ca-file).
Omitted: the secure serving port, the service-account token controller and every other
controller.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
import uuid

from aiohttp import web

from miniapi.meta.v1.duration import duration_flag
from miniclient.informers import SharedInformerFactory
from miniclient.kubeconfig import ConfigError, build_config_from_flags
from miniclient.leaderelection import LeaderElectionConfig, LeaderElector, LeaseLock
from miniclient.rest import Client
from minicontroller.clientbuilder import SAControllerClientBuilder
from minicontroller.deployment import DeploymentController
from minicontroller.endpointslice import EndpointSliceController
from minicontroller.garbagecollector import GarbageCollector
from minicontroller.namespace import NamespaceController
from minicontroller.nodelifecycle import NodeLifecycleController
from minicontroller.replicaset import ReplicaSetController
from minicontroller.rootcacertpublisher import Publisher
from minicontroller.serviceaccount import ServiceAccountsController

KNOWN_CONTROLLERS = (
    "deployment",
    "endpointslice",
    "replicaset",
    "garbage-collector-controller",
    "namespace-controller",
    "node-lifecycle-controller",
    "serviceaccount-controller",
    "root-ca-certificate-publisher-controller",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="minicontroller", description=__doc__.split("\n\n")[0])
    p.add_argument("--kubeconfig", default="", help="path to a kubeconfig (else $KUBECONFIG)")
    p.add_argument("--master", default="", help="API server URL (overrides the kubeconfig)")
    p.add_argument("--controllers", default="*", help="comma list; '*' means all")
    p.add_argument("--leader-elect", action="store_true")
    p.add_argument("--leader-elect-lease-duration", type=duration_flag, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=duration_flag, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=duration_flag, default=2.0)
    p.add_argument("--leader-elect-resource-namespace", default="kube-system")
    p.add_argument("--leader-elect-resource-name", default="kube-controller-manager")
    p.add_argument("--concurrent-replicaset-syncs", type=int, default=5)
    p.add_argument("--concurrent-service-endpoint-syncs", type=int, default=5)
    p.add_argument("--concurrent-deployment-syncs", type=int, default=5)
    p.add_argument("--max-endpoints-per-slice", type=int, default=100)
    p.add_argument("--concurrent-gc-syncs", type=int, default=20)
    p.add_argument("--concurrent-namespace-syncs", type=int, default=10)
    p.add_argument("--node-monitor-period", type=duration_flag, default=5.0)
    # 50s since v1.32 (it was 40s before), the version /version reports.
    p.add_argument("--node-monitor-grace-period", type=duration_flag, default=50.0)
    p.add_argument(
        "--use-service-account-credentials",
        action="store_true",
        help="run each controller with the token of its own ServiceAccount in kube-system",
    )
    p.add_argument(
        "--root-ca-file",
        default="",
        help="the CA bundle published as each namespace's kube-root-ca.crt ConfigMap",
    )
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="/healthz and /metrics (0: off)")
    p.add_argument("-v", "--v", type=int, default=0, help="log verbosity")
    return p.parse_args(argv)


def selected(spec: str) -> list[str]:
    """--controllers: '*', names, and '-name' to disable one (upstream's syntax)."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        if n != "*" and n.lstrip("-") not in KNOWN_CONTROLLERS:
            raise SystemExit(
                f'minicontroller: "{n.lstrip("-")}" is not in the list of known controllers'
            )
    chosen = list(KNOWN_CONTROLLERS) if "*" in names else []
    chosen += [n for n in names if n in KNOWN_CONTROLLERS and n not in chosen]
    return [c for c in chosen if f"-{c}" not in names]


def metrics_text(controllers: list) -> str:
    lines = []
    for name, attr in (
        ("workqueue_depth", "depth"),
        ("workqueue_adds_total", "adds_total"),
        ("workqueue_retries_total", "retries_total"),
        ("workqueue_queue_duration_seconds_sum", "queue_duration_sum"),
        ("workqueue_queue_duration_seconds_count", "queue_duration_count"),
        ("workqueue_work_duration_seconds_sum", "work_duration_sum"),
        ("workqueue_work_duration_seconds_count", "work_duration_count"),
    ):
        for c in controllers:
            m = c.queue.metrics
            lines.append(f'{name}{{name="{m.name}"}} {getattr(m, attr)}')
    return "\n".join(lines) + "\n"


async def serve(args: argparse.Namespace, controllers: list) -> web.AppRunner | None:
    if not args.port:
        return None
    app = web.Application()
    app.router.add_get("/healthz", lambda r: web.Response(text="ok"))
    app.router.add_get("/metrics", lambda r: web.Response(text=metrics_text(controllers)))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, args.bind_address, args.port).start()
    return runner


async def run(args: argparse.Namespace) -> None:
    names = selected(args.controllers)
    config = build_config_from_flags(args.master, args.kubeconfig)
    async with Client(config) as root:
        # The shared informers list and watch with the manager's own identity, as upstream's.
        factory = SharedInformerFactory(root)
        builder = SAControllerClientBuilder(root, config)
        clients = {n: root for n in names}
        if args.use_service_account_credentials:
            clients = {n: await builder.client(n) for n in names}
        controllers = []
        workers = []
        if "deployment" in names:
            dc = DeploymentController(clients["deployment"], factory)
            controllers.append(dc)
            workers.append((dc, args.concurrent_deployment_syncs))
        if "endpointslice" in names:
            eps = EndpointSliceController(
                clients["endpointslice"], factory, args.max_endpoints_per_slice
            )
            controllers.append(eps)
            workers.append((eps, args.concurrent_service_endpoint_syncs))
        if "replicaset" in names:
            rs = ReplicaSetController(clients["replicaset"], factory)
            controllers.append(rs)
            workers.append((rs, args.concurrent_replicaset_syncs))
        if "garbage-collector-controller" in names:
            gc = GarbageCollector(clients["garbage-collector-controller"], factory)
            controllers.append(gc)
            workers.append((gc, args.concurrent_gc_syncs))
        if "namespace-controller" in names:
            nc = NamespaceController(clients["namespace-controller"], factory)
            controllers.append(nc)
            workers.append((nc, args.concurrent_namespace_syncs))
        if "node-lifecycle-controller" in names:
            nlc = NodeLifecycleController(
                clients["node-lifecycle-controller"],
                factory,
                args.node_monitor_period,
                args.node_monitor_grace_period,
            )
            controllers.append(nlc)
            # Upstream's taint eviction runs its node-update workers in parallel too.
            workers.append((nlc, 8))
        if "serviceaccount-controller" in names:
            sac = ServiceAccountsController(clients["serviceaccount-controller"], factory)
            controllers.append(sac)
            workers.append((sac, 1))  # startServiceAccountController runs one worker
        # Upstream starts the publisher only when it has a root CA to publish.
        if "root-ca-certificate-publisher-controller" in names and args.root_ca_file:
            with open(args.root_ca_file) as f:
                pub = Publisher(
                    clients["root-ca-certificate-publisher-controller"], factory, f.read()
                )
            controllers.append(pub)
            workers.append((pub, 1))
        runner = await serve(args, controllers)

        async def start_controllers() -> None:
            factory.start()
            print(f"minicontroller: started {','.join(names)}", flush=True)
            work = [c.run(n) for c, n in workers]
            await asyncio.gather(*work)

        try:
            if not args.leader_elect:
                await start_controllers()
                return
            identity = f"{socket.gethostname()}_{uuid.uuid4()}"
            elector = LeaderElector(
                LeaderElectionConfig(
                    lock=LeaseLock(
                        root,
                        args.leader_elect_resource_namespace,
                        args.leader_elect_resource_name,
                        identity,
                    ),
                    on_started_leading=start_controllers,
                    on_stopped_leading=lambda: print(
                        "minicontroller: leaderelection lost", flush=True
                    ),
                    lease_duration=args.leader_elect_lease_duration,
                    renew_deadline=args.leader_elect_renew_deadline,
                    retry_period=args.leader_elect_retry_period,
                    on_new_leader=lambda who: print(f"minicontroller: leader is {who}", flush=True),
                )
            )
            print(f"minicontroller: attempting to acquire leader lease as {identity}", flush=True)
            await elector.run()
            # Like kube-controller-manager: a lost lease ends the process (klog.Fatalf).
            raise SystemExit("minicontroller: leaderelection lost")
        finally:
            await factory.shutdown()
            await builder.close()
            if runner is not None:
                await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.v > 0 else logging.WARNING)
    try:
        asyncio.run(run(args))
    except ConfigError as e:
        print(f"minicontroller: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
