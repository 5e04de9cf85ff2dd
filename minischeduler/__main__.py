"""python -m minischeduler: run against an API server, or explain a placement.

Mirrors cmd/kube-scheduler (flags --kubeconfig, --config). `python -m minischeduler
--kubeconfig K [--config FILE]` watches pods and nodes and binds pods; with
--debug-port it also serves GET /debug/explain?pod=NAMESPACE/NAME (the pod's last
attempt). `python -m minischeduler explain (--cluster FILE... | --kubeconfig K) POD`
replays one scheduling attempt of POD over manifests or over the live cluster's nodes
and pods, with the real plugins, and prints each node's verdict and scores.
Omitted: --leader-elect, --secure-port / metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from miniapi.base import replace
from miniapi.core.v1 import Node, Pod
from miniapi.manifests import load_objects
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
        server = SchedulerServer(client, cfg, args.seed)
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
        print("minischeduler: scheduling", flush=True)
        try:
            await server.run(stop)
        finally:
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
