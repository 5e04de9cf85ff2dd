"""Route table: RouteConfiguration → virtual host → route entry, as a pure function.

Mirrors source/common/router/config_impl.cc (ConfigImpl, RouteMatcher::findVirtualHost,
VirtualHostImpl::getRouteFromEntries, RouteEntryImplBase::matchRoute, WeightedClusterEntry,
DirectResponseEntry) and source/common/router/router.cc's path rewrite. Domains are searched
exact first, then the longest `*.suffix`, then the longest `prefix.*`, then `*`. Routes
within a virtual host are tried in order; the first match wins.
Omitted: cluster_specifier_plugin, path templates, virtual_clusters, CORS on routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from envoy.config.route.v3 import route_pb2

from miniproxy.envoy.header_parser import HeaderParser
from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.matchers import HeaderMatcher, QueryParameterMatcher, query_params
from miniproxy.envoy.retry_state import RetryPolicy

DEFAULT_TIMEOUT = 15.0


def duration_s(d, default: float) -> float:
    if d is None:
        return default
    return d.seconds + d.nanos / 1e9


@dataclass
class ClusterWeight:
    name: str
    weight: int
    request_headers: HeaderParser
    response_headers: HeaderParser
    per_filter: dict


@dataclass
class RouteEntry:
    """A matched route: what the router and the other filters act on."""

    name: str
    vhost: VirtualHost
    kind: str  # "route" | "redirect" | "direct_response"
    pb: object
    cluster: str = ""
    cluster_header: str = ""
    weighted: list[ClusterWeight] = field(default_factory=list)
    total_weight: int = 0
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy | None = None
    request_headers: HeaderParser | None = None
    response_headers: HeaderParser | None = None
    per_filter: dict = field(default_factory=dict)
    hash_policy: list = field(default_factory=list)
    rewrites: bool = False  # prefix_rewrite, regex_rewrite or host_rewrite_literal is set
    # The non-empty header mutations of route, virtual host and route configuration, in
    # the order the router applies them (set by RouteTable, so the router skips empty ones).
    request_parsers: tuple = ()
    response_parsers: tuple = ()

    def per_filter_config(self, name: str):
        """Most specific typed_per_filter_config: route, then virtual host."""
        if name in self.per_filter:
            return self.per_filter[name]
        return self.vhost.per_filter.get(name)

    def pick_cluster(
        self, headers: HeaderMap, random_value: int
    ) -> tuple[str, ClusterWeight | None]:
        """WeightedClusterEntry selection: random_value % total_weight walks the buckets."""
        if self.cluster_header:
            return headers.get(self.cluster_header) or "", None
        if not self.weighted:
            return self.cluster, None
        point = random_value % self.total_weight
        acc = 0
        for cw in self.weighted:
            acc += cw.weight
            if point < acc:
                return cw.name, cw
        return self.weighted[-1].name, self.weighted[-1]


class _Route:
    """RouteEntryImplBase's matching half."""

    def __init__(self, pb) -> None:
        m = pb.match
        self.kind = m.WhichOneof("path_specifier")
        self.case_sensitive = not m.HasField("case_sensitive") or m.case_sensitive.value
        value = (
            getattr(m, self.kind)
            if self.kind in ("prefix", "path", "path_separated_prefix")
            else ""
        )
        self.value = value if self.case_sensitive else value.lower()
        self.regex = re.compile(m.safe_regex.regex) if self.kind == "safe_regex" else None
        self.headers = [HeaderMatcher(h) for h in m.headers]
        self.query = [QueryParameterMatcher(q) for q in m.query_parameters]
        self.fraction = None
        if m.HasField("runtime_fraction"):
            d = m.runtime_fraction.default_value
            self.fraction = (d.numerator, {0: 100, 1: 10000, 2: 1000000}[d.denominator])

    def matches(self, headers: HeaderMap, random_value: int) -> bool:
        path = (headers.get(":path") or "").split("?", 1)[0]
        cmp = path if self.case_sensitive else path.lower()
        k = self.kind
        if k == "prefix":
            ok = cmp.startswith(self.value)
        elif k == "path":
            ok = cmp == self.value
        elif k == "safe_regex":
            ok = self.regex.fullmatch(path) is not None
        elif k == "path_separated_prefix":
            ok = cmp == self.value or cmp.startswith(self.value + "/")
        else:
            ok = False
        if not ok or (self.headers and not all(h.match(headers) for h in self.headers)):
            return False
        if self.query:
            params = query_params(headers.get(":path") or "")
            if not all(q.match(params) for q in self.query):
                return False
        if self.fraction is not None:
            return random_value % self.fraction[1] < self.fraction[0]
        return True


@dataclass
class VirtualHost:
    name: str
    domains: list[str]
    routes: list[tuple[_Route, RouteEntry]]
    request_headers: HeaderParser
    response_headers: HeaderParser
    per_filter: dict


def _entry(pb, vhost: VirtualHost, unpack_per_filter) -> RouteEntry:
    kind = pb.WhichOneof("action")
    e = RouteEntry(
        name=pb.name, vhost=vhost, kind=kind, pb=pb,
        request_headers=HeaderParser(pb.request_headers_to_add, pb.request_headers_to_remove),
        response_headers=HeaderParser(pb.response_headers_to_add, pb.response_headers_to_remove),
        per_filter=unpack_per_filter(pb.typed_per_filter_config),
    )  # fmt: skip
    if kind != "route":
        return e
    a = pb.route
    spec = a.WhichOneof("cluster_specifier")
    e.cluster = a.cluster if spec == "cluster" else ""
    e.cluster_header = a.cluster_header.lower() if spec == "cluster_header" else ""
    if spec == "weighted_clusters":
        for c in a.weighted_clusters.clusters:
            e.weighted.append(ClusterWeight(
                c.name, c.weight.value,
                HeaderParser(c.request_headers_to_add, c.request_headers_to_remove),
                HeaderParser(c.response_headers_to_add, c.response_headers_to_remove),
                unpack_per_filter(c.typed_per_filter_config),
            ))  # fmt: skip
        e.total_weight = sum(c.weight for c in e.weighted) or 1
    e.timeout = duration_s(a.timeout if a.HasField("timeout") else None, DEFAULT_TIMEOUT)
    retry_pb = a.retry_policy if a.HasField("retry_policy") else vhost_retry(vhost)
    e.retry = RetryPolicy.from_proto(retry_pb) if retry_pb is not None else None
    e.hash_policy = list(a.hash_policy)
    e.rewrites = bool(a.prefix_rewrite or a.HasField("regex_rewrite") or a.host_rewrite_literal)
    return e


def vhost_retry(vhost: VirtualHost):
    return getattr(vhost, "retry_pb", None)


class RouteTable:
    """ConfigImpl: a compiled RouteConfiguration."""

    def __init__(
        self, pb: route_pb2.RouteConfiguration, unpack_per_filter=lambda m: dict(m)
    ) -> None:
        self.pb = pb
        self.name = pb.name
        self.request_headers = HeaderParser(pb.request_headers_to_add, pb.request_headers_to_remove)
        self.response_headers = HeaderParser(
            pb.response_headers_to_add, pb.response_headers_to_remove
        )
        self.ignore_port = pb.ignore_port_in_host_matching
        self.exact: dict[str, VirtualHost] = {}
        self.suffix: list[tuple[str, VirtualHost]] = []
        self.prefix: list[tuple[str, VirtualHost]] = []
        self.default: VirtualHost | None = None
        for vpb in pb.virtual_hosts:
            self._add_vhost(vpb, unpack_per_filter)
        for vh in self.virtual_hosts():
            for _, e in vh.routes:
                req = (e.request_headers, vh.request_headers, self.request_headers)
                e.request_parsers = tuple(p for p in req if p)
                resp = (e.response_headers, vh.response_headers, self.response_headers)
                e.response_parsers = tuple(p for p in resp if p)
        # Longest wildcard first, as findWildcardVirtualHost iterates its maps.
        self.suffix.sort(key=lambda x: -len(x[0]))
        self.prefix.sort(key=lambda x: -len(x[0]))

    def _add_vhost(self, vpb, unpack_per_filter) -> None:
        vh = VirtualHost(
            vpb.name, list(vpb.domains), [],
            HeaderParser(vpb.request_headers_to_add, vpb.request_headers_to_remove),
            HeaderParser(vpb.response_headers_to_add, vpb.response_headers_to_remove),
            unpack_per_filter(vpb.typed_per_filter_config),
        )  # fmt: skip
        vh.retry_pb = vpb.retry_policy if vpb.HasField("retry_policy") else None
        vh.routes = [(_Route(r), _entry(r, vh, unpack_per_filter)) for r in vpb.routes]
        for d in vpb.domains:
            d = d.lower()
            if d == "*":
                if self.default is not None:
                    raise ValueError(
                        f"Only a single wildcard domain is permitted in route {self.name}"
                    )
                self.default = vh
            elif d.startswith("*"):
                self.suffix.append((d[1:], vh))
            elif d.endswith("*"):
                self.prefix.append((d[:-1], vh))
            else:
                if d in self.exact:
                    raise ValueError(
                        f"Only unique values for domains are permitted. Duplicate entry of domain {d} in route {self.name}"
                    )
                self.exact[d] = vh

    def virtual_hosts(self) -> list[VirtualHost]:
        hosts = [*self.exact.values(), *(v for _, v in self.suffix), *(v for _, v in self.prefix)]
        if self.default is not None:
            hosts.append(self.default)
        return list({id(v): v for v in hosts}.values())

    def find_virtual_host(self, host: str) -> VirtualHost | None:
        host = host.lower()
        if self.ignore_port and ":" in host and not host.endswith("]"):
            host = host.rsplit(":", 1)[0]
        if host in self.exact:
            return self.exact[host]
        for suffix, vh in self.suffix:
            if len(host) > len(suffix) and host.endswith(suffix):
                return vh
        for prefix, vh in self.prefix:
            if len(host) > len(prefix) and host.startswith(prefix):
                return vh
        return self.default

    def route(self, headers: HeaderMap, random_value: int) -> RouteEntry | None:
        vh = self.find_virtual_host(headers.get(":authority") or "")
        if vh is None:
            return None
        for matcher, entry in vh.routes:
            if matcher.matches(headers, random_value):
                return entry
        return None


def rewrite_path(entry: RouteEntry, headers: HeaderMap) -> None:
    """RouteEntryImplBase::finalizePathHeader: prefix_rewrite / regex_rewrite."""
    a = entry.pb.route
    path = headers.get(":path") or "/"
    if a.prefix_rewrite and entry.pb.match.WhichOneof("path_specifier") in (
        "prefix",
        "path",
        "path_separated_prefix",
    ):
        m = entry.pb.match
        matched = getattr(m, m.WhichOneof("path_specifier"))
        headers.set("x-envoy-original-path", path)
        headers.set(":path", a.prefix_rewrite + path[len(matched) :])
    elif a.HasField("regex_rewrite"):
        p, _, q = path.partition("?")
        rx = re.compile(a.regex_rewrite.pattern.regex)
        sub = re.sub(r"\\(\d)", r"\\g<\1>", a.regex_rewrite.substitution)
        headers.set("x-envoy-original-path", path)
        headers.set(":path", rx.sub(sub, p) + ("?" + q if q else ""))
    if a.host_rewrite_literal:
        headers.set(":authority", a.host_rewrite_literal)


def redirect_location(entry: RouteEntry, headers: HeaderMap, scheme: str = "http") -> str:
    """RouteEntryImplBase::newUri for a redirect action."""
    r = entry.pb.redirect
    host = r.host_redirect or headers.get(":authority") or ""
    if r.port_redirect:
        host = host.rsplit(":", 1)[0] + f":{r.port_redirect}"
    if r.https_redirect:
        scheme = "https"
    elif r.scheme_redirect:
        scheme = r.scheme_redirect
    path = headers.get(":path") or "/"
    p, _, q = path.partition("?")
    if r.path_redirect:
        p, _, q2 = r.path_redirect.partition("?")
        q = q2 or q
    elif r.prefix_rewrite:
        m = entry.pb.match
        matched = getattr(m, m.WhichOneof("path_specifier"), "")
        p = r.prefix_rewrite + p[len(matched) :]
    if r.strip_query:
        q = ""
    return f"{scheme}://{host}{p}" + (f"?{q}" if q else "")


REDIRECT_CODES = {0: 301, 1: 302, 2: 303, 3: 307, 4: 308}
