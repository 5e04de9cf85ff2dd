"""`python -m miniapiserver`: kube-apiserver's command line.

Mirrors cmd/kube-apiserver/app/options (the flag names: --etcd-servers,
--etcd-prefix, --etcd-compaction-interval, --bind-address, --secure-port,
--tls-cert-file, --tls-private-key-file, --client-ca-file, --token-auth-file,
--service-cluster-ip-range, --service-node-port-range, --advertise-address,
--max-requests-inflight,
--max-mutating-requests-inflight, --watch-cache-sizes' default size,
--authorization-mode, --encryption-provider-config, --enable-admission-plugins,
--disable-admission-plugins, --default-not-ready-toleration-seconds,
--default-unreachable-toleration-seconds, --service-account-signing-key-file,
--service-account-key-file, --service-account-issuer, --api-audiences,
--service-account-max-token-expiration, --anonymous-auth, --audit-policy-file,
--audit-log-path). On first
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
from typing import Any

from miniapiserver.admission.chain import ORDERED_PLUGINS, check_plugin_names
from miniapiserver.app import Config, Running
from miniapiserver.audit import policy as audit_policy
from miniapiserver.auth import certs
from miniapiserver.auth.authn import Authenticator, anonymous_allowed, load_token_file
from miniapiserver.auth.authorizer import parse_modes
from miniapiserver.registry.service.ipallocator import parse_cidr
from miniapiserver.registry.service.portallocator import parse_port_range
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


def parse_bool(text: str) -> bool:
    """A Go bool flag value: --flag, --flag=true, --flag=false."""
    if text.lower() in ("1", "t", "true"):
        return True
    if text.lower() in ("0", "f", "false"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


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
    p.add_argument(
        "--anonymous-auth",
        type=parse_bool,
        nargs="?",
        const=True,
        default=True,
        help="requests without credentials are system:anonymous (turned off with the "
        "AlwaysAllow authorizer, as upstream)",
    )
    p.add_argument("--audit-policy-file", default="", help="an audit.k8s.io/v1 Policy")
    p.add_argument(
        "--audit-log-path", default="", help='audit Events, one JSON a line ("-": stdout)'
    )
    p.add_argument(
        "--service-cluster-ip-range",
        default="10.0.0.0/24",
        help="CIDR the Services' ClusterIPs are allocated from (its first IP: `kubernetes`)",
    )
    p.add_argument("--service-node-port-range", default="30000-32767")
    p.add_argument(
        "--advertise-address",
        default="",
        help="the IP the `kubernetes` Service's endpoints point at (default: --bind-address)",
    )
    p.add_argument(
        "--kubernetes-service-reconcile-interval",
        type=duration_seconds,
        default=10.0,
        help="how often the `kubernetes` Service and its endpoints are re-checked (minicloud's "
        "knob for upstream's fixed 10s EndpointInterval)",
    )
    p.add_argument("--max-requests-inflight", type=int, default=400)
    p.add_argument("--max-mutating-requests-inflight", type=int, default=200)
    p.add_argument("--default-watch-cache-size", type=int, default=1000)
    p.add_argument(
        "--authorization-mode",
        default="AlwaysAllow",
        help="ordered comma list of AlwaysAllow, Node, RBAC",
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
    p.add_argument(
        "--enable-admission-plugins",
        default="",
        help="admission plugins to enable besides the default ones (comma list; order "
        "does not matter): " + ", ".join(ORDERED_PLUGINS),
    )
    p.add_argument(
        "--disable-admission-plugins",
        default="",
        help="admission plugins to disable, default ones included (comma list)",
    )
    p.add_argument("--default-not-ready-toleration-seconds", type=int, default=300)
    p.add_argument("--default-unreachable-toleration-seconds", type=int, default=300)
    p.add_argument(
        "--service-account-signing-key-file",
        default="",
        help="PEM RSA private key that signs ServiceAccount tokens (default: generated "
        "under <data-dir>/pki/sa.key when --tls-cert-file is not given)",
    )
    p.add_argument(
        "--service-account-key-file",
        action="append",
        default=[],
        help="PEM file of public (or private) keys that verify ServiceAccount tokens; "
        "may be repeated (default: the signing key)",
    )
    p.add_argument(
        "--service-account-issuer",
        action="append",
        default=[],
        help="the iss of issued tokens (first one) and the issuers accepted (all)",
    )
    p.add_argument("--api-audiences", default="", help="comma list (default: the issuers)")
    p.add_argument("--service-account-max-token-expiration", type=duration_seconds, default=0.0)
    p.add_argument("--data-dir", default="./.minicloud")
    p.add_argument("--write-kubeconfig", default="", help="default: <data-dir>/kubeconfig")
    p.add_argument("-v", "--v", type=int, default=0, help="log level")
    return p.parse_args(argv)


def admission_options(args: argparse.Namespace) -> dict[str, Any]:
    """The admission flags, checked as AdmissionOptions.Validate does."""
    enable = [n for n in args.enable_admission_plugins.split(",") if n]
    disable = [n for n in args.disable_admission_plugins.split(",") if n]
    problems = check_plugin_names(enable, disable)
    if problems:
        raise ValueError("; ".join(problems))
    return {
        "enable_admission_plugins": tuple(enable),
        "disable_admission_plugins": tuple(disable),
        "default_not_ready_toleration_seconds": args.default_not_ready_toleration_seconds,
        "default_unreachable_toleration_seconds": args.default_unreachable_toleration_seconds,
    }


def service_account_options(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """The --service-account-* flags; on a first start without them, a generated sa.key."""
    signing_key, key_files = args.service_account_signing_key_file, args.service_account_key_file
    issuers = args.service_account_issuer
    if not signing_key and not key_files and not args.tls_cert_file:
        # The first-start default, like the generated CA: a key that signs and verifies.
        signing_key = str(certs.service_account_key(data / "pki"))
        issuers = issuers or [certs.DEFAULT_ISSUER]
    if signing_key and not key_files:
        key_files = [signing_key]
    if signing_key and not issuers:
        raise ValueError(
            "service-account-issuer is a required flag when using service-account-signing-key-file"
        )
    return {
        "service_account_signing_key_file": signing_key,
        "service_account_key_files": tuple(key_files),
        "service_account_issuers": tuple(issuers),
        "api_audiences": tuple(a for a in args.api_audiences.split(",") if a),
        "service_account_max_token_expiration": int(args.service_account_max_token_expiration),
    }


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
    modes = tuple(parse_modes(args.authorization_mode))
    if args.audit_policy_file:
        audit_policy.load(args.audit_policy_file)  # a bad policy stops the start, as upstream
    parse_cidr(args.service_cluster_ip_range)  # a bad range stops the start, as upstream
    parse_port_range(args.service_node_port_range)
    config = Config(
        etcd_servers=[s for s in args.etcd_servers.split(",") if s],
        bind_address=args.bind_address,
        secure_port=args.secure_port,
        tls_cert_file=cert,
        tls_private_key_file=key,
        client_ca_file=ca_file,
        authenticator=Authenticator(tokens, anonymous_allowed(args.anonymous_auth, modes)),
        etcd_prefix=args.etcd_prefix,
        etcd_compaction_interval=args.etcd_compaction_interval,
        watch_cache_capacity=args.default_watch_cache_size,
        bookmark_interval=args.watch_bookmark_interval,
        max_requests_inflight=args.max_requests_inflight,
        max_mutating_requests_inflight=args.max_mutating_requests_inflight,
        authorization_modes=modes,
        service_cluster_ip_range=args.service_cluster_ip_range,
        service_node_port_range=args.service_node_port_range,
        advertise_address=args.advertise_address,
        kubernetes_service_interval=args.kubernetes_service_reconcile_interval,
        **admission_options(args),
        **service_account_options(args, data),
        audit_policy_file=args.audit_policy_file,
        audit_log_path=args.audit_log_path,
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
