"""kubeconfig loading: the file kubectl reads, turned into a client config.

Mirrors k8s.io/client-go/tools/clientcmd (loader.go: KUBECONFIG precedence and
merging, the first file to set a value wins; client_config.go: pick the
context, its cluster and user; BuildConfigFromFlags) and rest.Config's TLS and
bearer-token fields. `--kubeconfig` beats `KUBECONFIG`, which beats
~/.kube/config.
Omitted: exec and auth-provider plugins, basic auth, impersonation, proxies,
in-cluster config.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ConfigError",
    "RestConfig",
    "load_kubeconfig",
    "build_config_from_flags",
    "merged_kubeconfig",
]

RECOMMENDED_HOME_FILE = Path.home() / ".kube" / "config"


class ConfigError(ValueError):
    """The kubeconfig does not lead to a usable cluster (clientcmd's error texts)."""


@dataclass
class RestConfig:
    """rest.Config: where the server is and how to authenticate to it."""

    host: str
    bearer_token: str = ""
    ca_data: bytes = b""
    cert_data: bytes = b""
    key_data: bytes = b""
    insecure: bool = False
    user_agent: str = "miniclient"

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS settings for aiohttp; None for plain http."""
        if not self.host.startswith("https"):
            return None
        ctx = ssl.create_default_context(cadata=self.ca_data.decode() if self.ca_data else None)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_data:
            # ssl only loads key pairs from files: write them to a private temp dir.
            with tempfile.TemporaryDirectory() as d:
                cert, key = Path(d, "tls.crt"), Path(d, "tls.key")
                cert.write_bytes(self.cert_data)
                key.write_bytes(self.key_data)
                ctx.load_cert_chain(cert, key)
        return ctx


def _read_data(entry: dict[str, Any], data_key: str, file_key: str, base: Path) -> bytes:
    if entry.get(data_key):
        return base64.b64decode(entry[data_key])
    if entry.get(file_key):
        path = Path(entry[file_key])
        return (path if path.is_absolute() else base / path).read_bytes()
    return b""


def _precedence(explicit: str | None) -> list[Path]:
    if explicit:
        return [Path(explicit)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [RECOMMENDED_HOME_FILE]


def merged_kubeconfig(explicit: str | None = None) -> dict[str, Any]:
    """The merged config; for named lists and current-context the first file wins."""
    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    paths = _precedence(explicit)
    for path in paths:
        if not path.exists():
            if explicit:
                raise ConfigError(f"stat {path}: no such file or directory")
            continue
        doc = yaml.safe_load(path.read_text()) or {}
        for section, inner in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in doc.get(section) or []:
                body = dict(entry.get(inner) or {})
                body["_base"] = path.parent
                merged[section].setdefault(entry["name"], body)
        merged["current-context"] = merged["current-context"] or doc.get("current-context", "")
    return merged


def load_kubeconfig(path: str | None = None, context: str | None = None) -> RestConfig:
    """The RestConfig of the chosen (or current) context."""
    cfg = merged_kubeconfig(path)
    name = context or cfg["current-context"]
    if not name:
        raise ConfigError("invalid configuration: no configuration has been provided")
    ctx = cfg["contexts"].get(name)
    if ctx is None:
        raise ConfigError(f"context was not found for specified context: {name}")
    cluster = cfg["clusters"].get(ctx.get("cluster", ""))
    if cluster is None:
        raise ConfigError(f'cluster "{ctx.get("cluster", "")}" not found')
    user = cfg["users"].get(ctx.get("user", ""), {"_base": Path(".")})
    token = user.get("token", "")
    if not token and user.get("tokenFile"):
        token = Path(user["tokenFile"]).read_text().strip()
    return RestConfig(
        host=cluster.get("server", "").rstrip("/"),
        bearer_token=token,
        ca_data=_read_data(
            cluster, "certificate-authority-data", "certificate-authority", cluster["_base"]
        ),
        cert_data=_read_data(user, "client-certificate-data", "client-certificate", user["_base"]),
        key_data=_read_data(user, "client-key-data", "client-key", user["_base"]),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
    )


def build_config_from_flags(master_url: str = "", kubeconfig_path: str = "") -> RestConfig:
    """clientcmd.BuildConfigFromFlags: the kubeconfig, with --master overriding its server."""
    nothing = not master_url and not kubeconfig_path and not os.environ.get("KUBECONFIG")
    if nothing and not RECOMMENDED_HOME_FILE.exists():
        raise ConfigError("invalid configuration: no configuration has been provided")
    if master_url and not kubeconfig_path:
        return RestConfig(host=master_url.rstrip("/"))
    config = load_kubeconfig(kubeconfig_path or None)
    if master_url:
        config.host = master_url.rstrip("/")
    return config
