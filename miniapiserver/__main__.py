"""`python -m miniapiserver`: kube-apiserver's command line.

Mirrors cmd/kube-apiserver/app/options (the flag names: --etcd-servers,
--etcd-prefix, --etcd-compaction-interval, --bind-address, --secure-port,
--tls-cert-file, --tls-private-key-file, --client-ca-file, --token-auth-file,
--service-cluster-ip-range, --max-requests-inflight,
--max-mutating-requests-inflight, --watch-cache-sizes' default size,
--authorization-mode, --encryption-provider-config). On first
start without certificates it generates a CA, a serving certificate and an
admin token under --data-dir and writes a kubeconfig (--write-kubeconfig).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from pathlib import Path

from miniapiserver.app import Config, Running
from miniapiserver.auth import certs
from miniapiserver.auth.authn import Authenticator, load_token_file
from miniapiserver.auth.authorizer import parse_modes
from miniapiserver.storage.value import encryptionconfig


def duration_seconds(text: str) -> float:
    """A Go duration flag value ("5m", "30s", "1h0m0s", "0") in seconds."""
    if text == "0":
        return 0.0
    total, matched = 0.0, ""
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
        matched += number + unit
    if matched != text:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
    return total


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="miniapiserver", description="A Kubernetes API server over the etcd v3 API."
    )
    p.add_argument(
        "--etcd-servers",
        default="",
        help="comma-separated etcd URLs (default: an embedded miniraft)",
    )
    p.add_argument("--etcd-prefix", default="/registry")
    p.add_argument("--etcd-compaction-interval", type=duration_seconds, default=300.0)
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--secure-port", type=int, default=6443)
    p.add_argument("--tls-cert-file", default="")
    p.add_argument("--tls-private-key-file", default="")
    p.add_argument("--client-ca-file", default="")
    p.add_argument("--token-auth-file", default="")
    p.add_argument("--service-cluster-ip-range", default="10.96.0.0/12")
    p.add_argument("--max-requests-inflight", type=int, default=400)
    p.add_argument("--max-mutating-requests-inflight", type=int, default=200)
    p.add_argument("--default-watch-cache-size", type=int, default=1000)
    p.add_argument(
        "--authorization-mode",
        default="AlwaysAllow",
        help="ordered comma list of AlwaysAllow, RBAC",
    )
    p.add_argument(
        "--encryption-provider-config",
        default="",
        help="an EncryptionConfiguration file: how resources are encrypted in etcd",
    )
    p.add_argument(
        "--watch-bookmark-interval",
        type=duration_seconds,
        default=60.0,
        help="how often watchers that allow bookmarks get one (minicloud's knob for "
        "upstream's fixed one-minute bookmarkFrequency)",
    )
    p.add_argument("--data-dir", default="./.minicloud")
    p.add_argument("--write-kubeconfig", default="", help="default: <data-dir>/kubeconfig")
    p.add_argument("-v", "--v", type=int, default=0, help="log level")
    return p.parse_args(argv)


def build_config(args: argparse.Namespace) -> tuple[Config, str]:
    """The Config, generating credentials under --data-dir when none are given."""
    data = Path(args.data_dir)
    token_file, ca_file = args.token_auth_file, args.client_ca_file
    cert, key, token = args.tls_cert_file, args.tls_private_key_file, ""
    if not cert:
        creds = certs.generate(data / "pki")
        cert, key, token = str(creds.cert_file), str(creds.key_file), creds.token
        token_file = token_file or str(creds.token_file)
        ca_file = ca_file or str(creds.ca_file)
    tokens = load_token_file(token_file) if token_file else {}
    config = Config(
        etcd_servers=[s for s in args.etcd_servers.split(",") if s],
        bind_address=args.bind_address,
        secure_port=args.secure_port,
        tls_cert_file=cert,
        tls_private_key_file=key,
        client_ca_file=ca_file,
        authenticator=Authenticator(tokens),
        etcd_prefix=args.etcd_prefix,
        etcd_compaction_interval=args.etcd_compaction_interval,
        watch_cache_capacity=args.default_watch_cache_size,
        bookmark_interval=args.watch_bookmark_interval,
        max_requests_inflight=args.max_requests_inflight,
        max_mutating_requests_inflight=args.max_mutating_requests_inflight,
        authorization_modes=tuple(parse_modes(args.authorization_mode)),
        encryption=(
            encryptionconfig.load(args.encryption_provider_config)
            if args.encryption_provider_config
            else None
        ),
    )
    return config, token


async def run(args: argparse.Namespace) -> int:
    try:
        config, token = build_config(args)
    except (ValueError, OSError) as e:  # a bad flag or config file: upstream's "Error: ..." exit
        print(f"Error: {e}", file=sys.stderr)
        return 1
    store = None
    if not config.etcd_servers:
        from miniapiserver import embedded  # miniraft is loaded only when it is the store

        store, url = await embedded.start(Path(args.data_dir))
        config.etcd_servers = [url]
        print(f"miniapiserver: embedded miniraft member at {url}", flush=True)
    running = Running(config)
    await running.start()
    if token:
        path = Path(args.write_kubeconfig or Path(args.data_dir) / "kubeconfig")
        host = "127.0.0.1" if config.bind_address in ("0.0.0.0", "::") else config.bind_address
        server = f"https://{host}:{running.port}"
        path.write_text(certs.kubeconfig(server, Path(config.client_ca_file), token))
        print(f"miniapiserver: serving on {server}; kubeconfig at {path}", flush=True)
    else:
        print(f"miniapiserver: serving on {config.bind_address}:{running.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop()
    if store is not None:
        await store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.v >= 4 else logging.INFO if args.v else logging.WARNING
    )
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
