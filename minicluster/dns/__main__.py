"""`python -m minicluster.dns`: run cluster DNS against an API server.

Plays the part of the `coredns` binary with kubeadm's Corefile (see server.py):
`--kubeconfig` names the API server and credentials (without it: KUBECONFIG,
then ~/.kube/config, as clientcmd does), `--listen` the UDP+TCP address (CoreDNS
listens on :53), `--cluster-domain` the zone (the kubelet's flag of that name).
Omitted: Corefile parsing; every knob is a flag here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from miniclient.kubeconfig import ConfigError
from minicluster.dns.server import run_dns


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT or [V6]:PORT -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid --listen {text!r}: want HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m minicluster.dns", description=__doc__.split("\n")[0]
    )
    p.add_argument("--kubeconfig", default=None, help="path to a kubeconfig file")
    p.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 53), help="HOST:PORT")
    p.add_argument("--cluster-domain", default="cluster.local", help="the cluster's DNS zone")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    host, port = args.listen
    ready = asyncio.Event()

    async def run() -> None:
        task = asyncio.ensure_future(
            run_dns(args.kubeconfig, host, port, args.cluster_domain, ready)
        )
        # SIGTERM (what `minicluster down` and kill send) stops the informers cleanly.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            print(
                f"cluster DNS serving on udp+tcp {host}:{port} for {args.cluster_domain}",
                flush=True,
            )
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: listen {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
