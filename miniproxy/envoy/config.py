"""Load Envoy's v3 bootstrap (YAML or JSON) into the real protos, with Envoy's errors.

Mirrors source/common/protobuf/utility.cc (loadFromYaml, unpackTo) and
source/server/options_impl.cc's config path handling. The YAML becomes a dict and then the
`envoy.config.bootstrap.v3.Bootstrap` message through json_format, so field names, `@type`
URLs and unknown-field errors come from Envoy's own protos. Importing the extension modules
below registers their `@type`s; `EXTENSIONS` names the ones the proxy implements, so a known
but unimplemented extension is refused the way Envoy refuses an unregistered factory.
Omitted: protoc-gen-validate rules beyond the checks in `validate_bootstrap`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.access_loggers.file.v3 import file_pb2
from envoy.extensions.access_loggers.stream.v3 import stream_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.fault.v3 import fault_pb2
from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2
from envoy.extensions.filters.http.rbac.v3 import rbac_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

TYPE_PREFIX = "type.googleapis.com/"

# typed_config type → the extension that implements it here.
EXTENSIONS: dict[str, str] = {
    hcm_pb2.HttpConnectionManager.DESCRIPTOR.full_name: "envoy.filters.network.http_connection_manager",
    tcp_proxy_pb2.TcpProxy.DESCRIPTOR.full_name: "envoy.filters.network.tcp_proxy",
    router_pb2.Router.DESCRIPTOR.full_name: "envoy.filters.http.router",
    fault_pb2.HTTPFault.DESCRIPTOR.full_name: "envoy.filters.http.fault",
    local_rate_limit_pb2.LocalRateLimit.DESCRIPTOR.full_name: "envoy.filters.http.local_ratelimit",
    rbac_pb2.RBAC.DESCRIPTOR.full_name: "envoy.filters.http.rbac",
    cors_pb2.Cors.DESCRIPTOR.full_name: "envoy.filters.http.cors",
    cors_pb2.CorsPolicy.DESCRIPTOR.full_name: "envoy.filters.http.cors",
    rbac_pb2.RBACPerRoute.DESCRIPTOR.full_name: "envoy.filters.http.rbac",
    http_protocol_options_pb2.HttpProtocolOptions.DESCRIPTOR.full_name: "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    tls_pb2.DownstreamTlsContext.DESCRIPTOR.full_name: "envoy.transport_sockets.tls",
    tls_pb2.UpstreamTlsContext.DESCRIPTOR.full_name: "envoy.transport_sockets.tls",
    tls_inspector_pb2.TlsInspector.DESCRIPTOR.full_name: "envoy.filters.listener.tls_inspector",
    file_pb2.FileAccessLog.DESCRIPTOR.full_name: "envoy.access_loggers.file",
    stream_pb2.StdoutAccessLog.DESCRIPTOR.full_name: "envoy.access_loggers.stdout",
    stream_pb2.StderrAccessLog.DESCRIPTOR.full_name: "envoy.access_loggers.stderr",
}

RESOURCE_TYPES: dict[str, type[Message]] = {
    TYPE_PREFIX + m.DESCRIPTOR.full_name: m
    for m in (
        listener_pb2.Listener,
        route_pb2.RouteConfiguration,
        cluster_pb2.Cluster,
        endpoint_pb2.ClusterLoadAssignment,
    )
}


class EnvoyException(Exception):
    """Envoy's EnvoyException: a config error whose text is what Envoy would print."""


def parse_dict(data: dict, message: type[Message]) -> Message:
    """ParseDict with Envoy's wording for unknown fields and unknown `@type`s."""
    try:
        return json_format.ParseDict(data, message())
    except json_format.ParseError as e:
        text = str(e)
        name = message.DESCRIPTOR.full_name
        m = re.search(r'has no field named "([^"]+)" at "([^"]+)"', text)
        if m:
            where = m.group(2).partition(".")[2]
            prefix = f"({where}) " if where else ""
            raise EnvoyException(
                f"Protobuf message (type {name} reason INVALID_ARGUMENT:{prefix}{m.group(1)}: "
                "Cannot find field.) has unknown fields"
            ) from None
        m = re.search(r"by type_url: (?:type.googleapis.com/)?(\S+) at (\S+)", text)
        if m:
            raise EnvoyException(
                f"Unable to parse JSON as proto (INVALID_ARGUMENT:({m.group(2)}): invalid value "
                f"Invalid type URL, unknown type: {m.group(1)} for type Any)"
            ) from None
        raise EnvoyException(f"Unable to parse JSON as proto (INVALID_ARGUMENT:{text})") from None


def load_text(text: str, path: str = "") -> dict:
    """YAML (a superset of JSON) into a dict, as MessageUtil::loadFromYaml does."""
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as e:
        raise EnvoyException(f"Unable to convert YAML as JSON: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EnvoyException("Unable to convert YAML as JSON: not a mapping")
    return data


def load_bootstrap(
    path: str | None = None, config_yaml: str | None = None
) -> bootstrap_pb2.Bootstrap:
    """`-c path` and `--config-yaml text`, merged like Envoy (the YAML is merged last)."""
    boot = bootstrap_pb2.Bootstrap()
    if path:
        try:
            text = Path(path).read_text()
        except OSError:
            raise EnvoyException(f"Invalid path: {path}") from None
        boot.MergeFrom(parse_dict(load_text(text, path), bootstrap_pb2.Bootstrap))
    if config_yaml:
        boot.MergeFrom(parse_dict(load_text(config_yaml), bootstrap_pb2.Bootstrap))
    if not path and not config_yaml:
        raise EnvoyException(
            "At least one of --config-path or --config-yaml or Options::configProto() should be non-empty"
        )
    validate_bootstrap(boot)
    return boot


def unpack(any_msg, what: str) -> Message:
    """Config::Utility::translateToFactoryConfig: an Any into its registered message."""
    full = any_msg.type_url.split("/")[-1]
    if full not in EXTENSIONS:
        raise EnvoyException(
            f"Didn't find a registered implementation for '{what}' with type URL: '{full}'"
        )
    from google.protobuf import symbol_database

    cls = symbol_database.Default().GetSymbol(full)
    msg = cls()
    any_msg.Unpack(msg)
    return msg


def _check_listener(lis: listener_pb2.Listener) -> None:
    if not lis.name:
        raise EnvoyException("error adding listener: listener name must not be empty")
    for lf in lis.listener_filters:
        if lf.HasField("typed_config"):
            unpack(lf.typed_config, lf.name)
    for chain in list(lis.filter_chains) + (
        [lis.default_filter_chain] if lis.HasField("default_filter_chain") else []
    ):
        for f in chain.filters:
            if f.HasField("typed_config"):
                unpack(f.typed_config, f.name)
                if f.typed_config.type_url.endswith("HttpConnectionManager"):
                    hcm = unpack(f.typed_config, f.name)
                    for hf in hcm.http_filters:
                        unpack(hf.typed_config, hf.name)


def _check_cluster(c: cluster_pb2.Cluster) -> None:
    if not c.name:
        raise EnvoyException(
            "Proto constraint validation failed (ClusterValidationError.Name: value length must be at least 1 characters)"
        )
    lb_names = cluster_pb2.Cluster.LbPolicy.Name
    supported = {"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV"}
    if lb_names(c.lb_policy) not in supported:
        raise EnvoyException(f"cluster: LB policy {lb_names(c.lb_policy)} is not supported")
    kind = cluster_pb2.Cluster.DiscoveryType.Name(c.type)
    if kind not in ("STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS"):
        raise EnvoyException(f"cluster '{c.name}': discovery type {kind} is not supported")


def validate_bootstrap(boot: bootstrap_pb2.Bootstrap) -> None:
    """The checks Envoy's InstanceImpl/ValidationInstance fail on at startup."""
    names = set()
    for c in boot.static_resources.clusters:
        _check_cluster(c)
        if c.name in names:
            raise EnvoyException(f"cluster manager: duplicate cluster '{c.name}'")
        names.add(c.name)
    seen = set()
    for lis in boot.static_resources.listeners:
        _check_listener(lis)
        if lis.name in seen:
            raise EnvoyException(
                f"error adding listener named '{lis.name}': listener with same name already exists"
            )
        seen.add(lis.name)
