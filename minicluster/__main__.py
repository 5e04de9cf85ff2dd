"""`python -m minicluster up|down|status|demo`: the toy cluster on one machine.

Wiring only, like kind's main.go dispatching to its create/delete/get commands;
`supervise` is the background process that `up` starts (not for users).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from minicluster.state import Options


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default="mc", help="cluster name: prefix of its netns and links")
    p.add_argument("--data-dir", default=".minicloud", help="state, logs, kubeconfig")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m minicluster", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the control plane and the nodes")
    demo = sub.add_parser("demo", help="up, run the narrated demo, down")
    for q in (up, demo):
        _common(q)
        q.add_argument("--nodes", type=int, default=2)
        q.add_argument("--runtime", choices=("minicontainer", "runc"), default="minicontainer")
        q.add_argument("--etcd-members", type=int, choices=(1, 3), default=1)
        q.add_argument("--hollow-nodes", type=int, default=0)
        q.add_argument("--processes", action="store_true", help="one OS process per component")
    demo.add_argument("--keep", action="store_true", help="leave the cluster up at the end")
    for name, text in (("down", "remove everything up made"), ("status", "components, nodes, pods"),
                       ("supervise", "(internal) the background process of up")):  # fmt: skip
        _common(sub.add_parser(name, help=text))
    return p


def options(args: argparse.Namespace) -> Options:
    return Options(
        name=args.name,
        nodes=getattr(args, "nodes", 2),
        runtime=getattr(args, "runtime", "minicontainer"),
        etcd_members=getattr(args, "etcd_members", 1),
        hollow_nodes=getattr(args, "hollow_nodes", 0),
        processes=getattr(args, "processes", False),
        data_dir=os.path.abspath(args.data_dir),
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    opts = options(args)
    from minicluster import cli, topology

    try:
        topology.validate_name(opts.name)
    except ValueError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 2
    if args.command == "up":
        return cli.up(opts)
    if args.command == "down":
        return cli.down(opts)
    if args.command == "status":
        return cli.status(opts)
    if args.command == "demo":
        from minicluster import demo

        return demo.main(opts, keep=args.keep)
    return supervise(opts)


def supervise(opts: Options) -> int:
    from minicluster import state, supervisor

    st = state.load(opts.data_dir, opts.name)
    if st is None:
        print("minicluster supervise: no state; run `python -m minicluster up`", file=sys.stderr)
        return 1
    st.supervisor_pid = os.getpid()
    state.save(st)
    return asyncio.run(supervisor.run(st))


if __name__ == "__main__":
    sys.exit(main())
