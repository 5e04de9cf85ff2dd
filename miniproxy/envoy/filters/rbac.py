"""envoy.filters.http.rbac: allow or deny requests by policies over headers, paths and IPs.

Mirrors source/extensions/filters/http/rbac/rbac_filter.cc (RoleBasedAccessControlFilter::
decodeHeaders: 403 `RBAC: access denied`, stats `http.<prefix>.rbac.allowed` / `.denied`) and
source/extensions/filters/common/rbac/matchers.cc (a policy matches when any permission and
any principal match; and/or/not rules; header, url_path, destination_port, any; source_ip /
direct_remote_ip / remote_ip CIDR ranges). ALLOW lets only matching requests through, DENY
stops matching ones. A route's RBACPerRoute replaces the config (an empty one disables it).
Omitted: shadow rules, metadata and authenticated principals, CEL conditions, LOG action.
"""

from __future__ import annotations

import ipaddress

from envoy.config.rbac.v3 import rbac_pb2

from miniproxy.envoy.filter import FilterHeadersStatus, StreamFilter
from miniproxy.envoy.matchers import HeaderMatcher, StringMatcher

FILTER_NAME = "envoy.filters.http.rbac"


def _cidr(pb) -> ipaddress._BaseNetwork:
    return ipaddress.ip_network(
        f"{pb.address_prefix}/{pb.prefix_len.value if pb.HasField('prefix_len') else (32 if '.' in pb.address_prefix else 128)}",
        strict=False,
    )


def compile_permission(pb):
    kind = pb.WhichOneof("rule")
    if kind == "any":
        return lambda r: True
    if kind == "header":
        m = HeaderMatcher(pb.header)
        return lambda r: m.match(r["headers"])
    if kind == "url_path":
        sm = StringMatcher(pb.url_path.path)
        return lambda r: sm.match((r["headers"].get(":path") or "").split("?", 1)[0])
    if kind == "destination_port":
        port = pb.destination_port
        return lambda r: r["local_port"] == port
    if kind in ("and_rules", "or_rules"):
        subs = [compile_permission(p) for p in getattr(pb, kind).rules]
        agg = all if kind == "and_rules" else any
        return lambda r: agg(s(r) for s in subs)
    if kind == "not_rule":
        sub = compile_permission(pb.not_rule)
        return lambda r: not sub(r)
    raise ValueError(f"RBAC permission rule {kind} is not supported")


def compile_principal(pb):
    kind = pb.WhichOneof("identifier")
    if kind == "any":
        return lambda r: True
    if kind == "header":
        m = HeaderMatcher(pb.header)
        return lambda r: m.match(r["headers"])
    if kind in ("source_ip", "direct_remote_ip", "remote_ip"):
        net = _cidr(getattr(pb, kind))
        return lambda r: r["ip"] is not None and r["ip"] in net
    if kind == "url_path":
        sm = StringMatcher(pb.url_path.path)
        return lambda r: sm.match((r["headers"].get(":path") or "").split("?", 1)[0])
    if kind in ("and_ids", "or_ids"):
        subs = [compile_principal(p) for p in getattr(pb, kind).ids]
        agg = all if kind == "and_ids" else any
        return lambda r: agg(s(r) for s in subs)
    if kind == "not_id":
        sub = compile_principal(pb.not_id)
        return lambda r: not sub(r)
    raise ValueError(f"RBAC principal identifier {kind} is not supported")


class RbacEngine:
    """RoleBasedAccessControlEngineImpl: `allowed(request)` for one RBAC message."""

    def __init__(self, rules: rbac_pb2.RBAC) -> None:
        self.action = rbac_pb2.RBAC.Action.Name(rules.action)
        self.policies = [
            (
                name,
                [compile_permission(p) for p in pol.permissions],
                [compile_principal(p) for p in pol.principals],
            )
            for name, pol in sorted(rules.policies.items())
        ]

    def matched_policy(self, request: dict) -> str | None:
        for name, perms, principals in self.policies:
            if any(p(request) for p in perms) and any(p(request) for p in principals):
                return name
        return None

    def allowed(self, request: dict) -> tuple[bool, str | None]:
        name = self.matched_policy(request)
        if self.action == "ALLOW":
            return name is not None, name
        if self.action == "DENY":
            return name is None, name
        return True, name


class RbacConfig:
    def __init__(self, pb, scope) -> None:
        self.engine = RbacEngine(pb.rules) if pb.HasField("rules") else None
        s = scope.scope(f"{pb.rules_stat_prefix}rbac.")
        self.allowed = s.counter("allowed")
        self.denied = s.counter("denied")


class RbacPerRoute:
    def __init__(self, pb) -> None:
        self.engine = (
            RbacEngine(pb.rbac.rules) if pb.HasField("rbac") and pb.rbac.HasField("rules") else None
        )


class RbacFilter(StreamFilter):
    def __init__(self, config: RbacConfig) -> None:
        self.config = config

    def decode_headers(self, headers, end_stream: bool) -> FilterHeadersStatus:
        engine = self.config.engine
        route = self.callbacks.route()
        if route is not None:
            override = route.per_filter_config(FILTER_NAME)
            if override is not None:
                engine = override.engine
        if engine is None:
            return FilterHeadersStatus.Continue
        info = self.callbacks.stream_info
        ip_text, _, _ = info.downstream_remote.rpartition(":")
        port = info.downstream_local.rpartition(":")[2]
        try:
            ip = ipaddress.ip_address(ip_text.strip("[]"))
        except ValueError:
            ip = None
        request = {"headers": headers, "ip": ip, "local_port": int(port) if port.isdigit() else 0}
        ok, policy = engine.allowed(request)
        if ok:
            self.config.allowed.inc()
            return FilterHeadersStatus.Continue
        self.config.denied.inc()
        details = f"rbac_access_denied_matched_policy[{policy or 'none'}]"
        self.callbacks.send_local_reply(403, "RBAC: access denied", details=details)
        return FilterHeadersStatus.StopIteration
