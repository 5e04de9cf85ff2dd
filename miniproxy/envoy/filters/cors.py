"""envoy.filters.http.cors: answer CORS preflights and decorate cross-origin responses.

Mirrors source/extensions/filters/http/cors/cors_filter.cc (CorsFilter::decodeHeaders: a
preflight is an OPTIONS request with Origin and Access-Control-Request-Method; an allowed
origin gets a 200 with access-control-allow-* headers and the request stops there;
encodeHeaders adds access-control-allow-origin / -allow-credentials / -expose-headers to the
actual response; stats `http.<prefix>.cors.origin_valid` / `.origin_invalid`). The policy is a
CorsPolicy in the route's or virtual host's typed_per_filter_config; without one the filter does
nothing.
Omitted: the deprecated `cors` fields of RouteAction/VirtualHost, shadow_enabled,
private-network access.
"""

from __future__ import annotations

from miniproxy.envoy.filter import FilterHeadersStatus, StreamFilter
from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.matchers import StringMatcher

FILTER_NAME = "envoy.filters.http.cors"
_DENOM = {0: 100, 1: 10000, 2: 1000000}


class CorsPolicy:
    def __init__(self, pb) -> None:
        self.origins = [StringMatcher(m) for m in pb.allow_origin_string_match]
        self.allow_methods = pb.allow_methods
        self.allow_headers = pb.allow_headers
        self.expose_headers = pb.expose_headers
        self.max_age = pb.max_age
        self.allow_credentials = pb.HasField("allow_credentials") and pb.allow_credentials.value
        self.forward_not_matching_preflights = (
            not pb.HasField("forward_not_matching_preflights")
            or pb.forward_not_matching_preflights.value
        )
        self.enabled = (100, 100)
        if pb.HasField("filter_enabled"):
            d = pb.filter_enabled.default_value
            self.enabled = (d.numerator, _DENOM[d.denominator])

    def allows(self, origin: str) -> bool:
        return any(m.match(origin) or (m.kind == "exact" and m.value == "*") for m in self.origins)


class CorsStats:
    def __init__(self, scope) -> None:
        s = scope.scope("cors.")
        self.origin_valid = s.counter("origin_valid")
        self.origin_invalid = s.counter("origin_invalid")


class CorsFilter(StreamFilter):
    def __init__(self, stats: CorsStats, rng) -> None:
        self.stats = stats
        self.rng = rng
        self.origin: str | None = None
        self.policy: CorsPolicy | None = None

    def decode_headers(self, headers, end_stream: bool) -> FilterHeadersStatus:
        origin = headers.get("origin")
        route = self.callbacks.route()
        policy = route.per_filter_config(FILTER_NAME) if route is not None else None
        if (
            origin is None
            or policy is None
            or self.rng.randrange(policy.enabled[1]) >= policy.enabled[0]
        ):
            return FilterHeadersStatus.Continue
        if not policy.allows(origin):
            self.stats.origin_invalid.inc()
            return FilterHeadersStatus.Continue
        self.stats.origin_valid.inc()
        self.origin, self.policy = origin, policy
        preflight = headers.get(":method") == "OPTIONS" and headers.get(
            "access-control-request-method"
        )
        if not preflight:
            return FilterHeadersStatus.Continue

        def modify(h: HeaderMap) -> None:
            self._allow_origin(h)
            if policy.allow_methods:
                h.set("access-control-allow-methods", policy.allow_methods)
            if policy.allow_headers:
                h.set("access-control-allow-headers", policy.allow_headers)
            if policy.max_age:
                h.set("access-control-max-age", policy.max_age)

        self.callbacks.send_local_reply(200, "", modify_headers=modify, details="cors_response")
        return FilterHeadersStatus.StopIteration

    def _allow_origin(self, h: HeaderMap) -> None:
        h.set("access-control-allow-origin", self.origin)
        if self.policy.allow_credentials:
            h.set("access-control-allow-credentials", "true")

    def encode_headers(self, headers, end_stream: bool) -> FilterHeadersStatus:
        if self.origin is not None and "access-control-allow-origin" not in headers:
            self._allow_origin(headers)
            if self.policy.expose_headers:
                headers.set("access-control-expose-headers", self.policy.expose_headers)
        return FilterHeadersStatus.Continue
