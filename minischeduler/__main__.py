"""python -m minischeduler: run against an API server, or explain a placement.

Mirrors cmd/kube-scheduler (flags --kubeconfig, --config). `python -m minischeduler
--kubeconfig K [--config FILE]` watches pods and nodes and binds pods; with
--debug-port it also serves GET /debug/explain?pod=NAMESPACE/NAME (the pod's last
attempt). `python -m minischeduler explain (--cluster FILE... | --kubeconfig K) POD`
replays one scheduling attempt of POD over manifests or over the live cluster's nodes
and pods, with the real plugins, and prints each node's verdict and scores.
With --leader-elect, only the holder of the kube-system/kube-scheduler Lease schedules
(cmd/kube-scheduler/app/server.go: informers first, then leaderelection.RunOrDie with
ReleaseOnCancel); a standby keeps its cache warm and takes over when the lease lapses.
Omitted: --secure-port / metrics. Unlike upstream, --leader-elect defaults to false so
that a bare `python -m minischeduler` works without a second replica in mind.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import socket
import sys
import uuid
from pathlib import Path

from miniapi.base import replace
from miniapi.core.v1 import Node, Pod
from miniapi.manifests import load_objects
from miniapi.meta.v1.duration import duration_flag
from minischeduler.config import ConfigError, KubeSchedulerConfiguration, load
from minischeduler.explain import explain_to_dict, format_explain
from minischeduler.inprocess import InProcessCluster


def _default_namespace(obj):
    if isinstance(obj, Pod) and not obj.metadata.namespace:
        return replace(obj, metadata=replace(obj.metadata, namespace="default"))
    return obj


def _config(path: str | None) -> KubeSchedulerConfiguration:
    return load(Path(path).read_text() if path else None)


async def _live_objects(kubeconfig: str, key: str) -> list:
    from miniclient.kubeconfig import load_kubeconfig
    from miniclient.rest import Client

    async with Client(load_kubeconfig(kubeconfig)) as client:
        nodes = (await client.resource(Node, namespaced=False).list()).items
        pods = (await client.resource(Pod).list()).items
    out: list = list(nodes)
    for p in pods:
        if f"{p.metadata.namespace}/{p.metadata.name}" == key:
            # Replay the attempt: the pod as if it were still pending.
            p = replace(p, spec=replace(p.spec, node_name=""))
        elif not p.spec.node_name or p.status.phase in ("Succeeded", "Failed"):
            continue
        out.append(p)
    return out


def _explain(args: argparse.Namespace) -> int:
    try:
        cfg = _config(args.config)
    except (OSError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    key = args.pod if "/" in args.pod else f"default/{args.pod}"
    if args.kubeconfig:
        from miniclient.kubeconfig import ConfigError as KubeconfigError

        try:
            objects = asyncio.run(_live_objects(args.kubeconfig, key))
        except (KubeconfigError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    else:
        objects = [_default_namespace(obj) for _, obj in load_objects(args.cluster)]
    c = InProcessCluster(cfg, seed=args.seed, explain=True)
    c.load([o for o in objects if isinstance(o, Node | Pod)])
    c.run(args.seconds)
    ex = c.scheduler.explanations.get(key)
    if ex is None:
        print(f'error: pod "{key}" was not scheduled by this scheduler', file=sys.stderr)
        return 1
    out = json.dumps(explain_to_dict(ex), indent=2) if args.output == "json" else None
    print(out or format_explain(ex))
    return 0


def _bool_flag(text: str) -> bool:
    """pflag's bool syntax: --leader-elect, --leader-elect=true, --leader-elect=false."""
    if text.lower() in ("1", "t", "true"):
        return True
    if text.lower() in ("0", "f", "false"):
        return False
    raise argparse.ArgumentTypeError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


async def _lead(args: argparse.Namespace, client, server, stop: asyncio.Event) -> None:
    """leaderelection.RunOrDie around sched.Run; a lost lease ends the process."""
    from miniclient.leaderelection import LeaderElectionConfig, LeaderElector, LeaseLock

    identity = f"{socket.gethostname()}_{uuid.uuid4()}"
    lost = asyncio.Event()

    async def started_leading() -> None:
        print(f"minischeduler: {identity} is the leader: scheduling", flush=True)
        await server.schedule(stop)

    elector = LeaderElector(
        LeaderElectionConfig(
            lock=LeaseLock(
                client,
                args.leader_elect_resource_namespace,
                args.leader_elect_resource_name,
                identity,
            ),
            on_started_leading=started_leading,
            on_stopped_leading=lost.set,
            lease_duration=args.leader_elect_lease_duration,
            renew_deadline=args.leader_elect_renew_deadline,
            retry_period=args.leader_elect_retry_period,
            on_new_leader=lambda who: print(f"minischeduler: leader is {who}", flush=True),
            release_on_cancel=True,
            name="kube-scheduler",
        )
    )
    print(f"minischeduler: attempting to acquire leader lease as {identity}", flush=True)
    run = asyncio.ensure_future(elector.run())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([run, stopped], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not run.done():
        run.cancel()  # SIGTERM: give the lease up (ReleaseOnCancel) before exiting
    await asyncio.gather(run, return_exceptions=True)
    if lost.is_set() and not stop.is_set():
        # Like kube-scheduler's OnStoppedLeading: klog "leaderelection lost", exit 1.
        raise SystemExit("minischeduler: leaderelection lost")


async def _serve(args: argparse.Namespace, cfg: KubeSchedulerConfiguration) -> None:
    from aiohttp import web

    from miniclient.kubeconfig import load_kubeconfig
    from miniclient.rest import Client
    from minischeduler.server import SchedulerServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Client(load_kubeconfig(args.kubeconfig)) as client:
        server = SchedulerServer(client, cfg, args.seed, explain=args.debug_port is not None)
        runner = None
        if args.debug_port is not None:

            async def explain(request: web.Request) -> web.Response:
                body = server.debug_explain(request.query.get("pod", ""))
                if body is None:
                    return web.json_response({"message": "no attempt recorded"}, status=404)
                return web.json_response(body)

            app = web.Application()
            app.router.add_get("/debug/explain", explain)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", args.debug_port)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]
            print(f"debug endpoint on http://127.0.0.1:{port}/debug/explain", flush=True)
        try:
            await server.start()
            # The synced nodes and pods live as long as the process: take them out of
            # the cyclic collector's generations, or every full collection walks them.
            gc.freeze()
            if args.leader_elect:
                await _lead(args, client, server, stop)
            else:
                print("minischeduler: scheduling", flush=True)
                await server.schedule(stop)
        finally:
            await server.shutdown()
            if runner is not None:
                await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["explain"]:
        p = argparse.ArgumentParser(
            prog="minischeduler explain",
            description="why a pod landed where it did, or why it is pending",
        )
        p.add_argument("pod", metavar="NAMESPACE/POD")
        src = p.add_mutually_exclusive_group(required=True)
        src.add_argument(
            "--cluster",
            action="append",
            help="manifest file or directory with Nodes and Pods (repeatable)",
        )
        src.add_argument("--kubeconfig", help="replay over the live cluster's nodes and pods")
        p.add_argument("--config", help="KubeSchedulerConfiguration YAML")
        p.add_argument("--seed", type=int, default=0, help="seed of the tie-breaking RNG")
        p.add_argument(
            "--seconds",
            type=float,
            default=0.0,
            help="simulated seconds to run (backoff, preemption retries)",
        )
        p.add_argument("-o", "--output", choices=["text", "json"], default="text")
        return _explain(p.parse_args(argv[1:]))
    p = argparse.ArgumentParser(prog="minischeduler", description=__doc__.split("\n")[0])
    p.add_argument(
        "--kubeconfig", help="path to a kubeconfig (default: $KUBECONFIG, ~/.kube/config)"
    )
    p.add_argument("--config", help="KubeSchedulerConfiguration YAML")
    p.add_argument("--seed", type=int, default=None, help="seed of the tie-breaking RNG")
    p.add_argument(
        "--debug-port",
        type=int,
        default=None,
        help="serve /debug/explain on 127.0.0.1:PORT (0: any free port)",
    )
    le = p.add_argument_group("leader election (kube-scheduler's flags)")
    le.add_argument(
        "--leader-elect",
        type=_bool_flag,
        nargs="?",
        const=True,
        default=False,
        help="schedule only while holding the leader Lease",
    )
    le.add_argument("--leader-elect-lease-duration", type=duration_flag, default=15.0)
    le.add_argument("--leader-elect-renew-deadline", type=duration_flag, default=10.0)
    le.add_argument("--leader-elect-retry-period", type=duration_flag, default=2.0)
    le.add_argument("--leader-elect-resource-namespace", default="kube-system")
    le.add_argument("--leader-elect-resource-name", default="kube-scheduler")
    args = p.parse_args(argv)
    try:
        cfg = _config(args.config)
    except (OSError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    from miniclient.kubeconfig import ConfigError as KubeconfigError

    try:
        asyncio.run(_serve(args, cfg))
    except (KubeconfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
