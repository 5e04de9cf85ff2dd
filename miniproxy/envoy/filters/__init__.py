"""HTTP filter factories: a filter's config proto → a function that makes one filter per stream.

Mirrors each extension's config.cc (createFilterFactoryFromProtoTyped and
createRouteSpecificFilterConfigTyped). The table below is the whole list of HTTP filters this
proxy knows; an `http_filters` entry of any other type is refused at config load.
"""

from __future__ import annotations

import time

from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.fault.v3 import fault_pb2
from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2
from envoy.extensions.filters.http.rbac.v3 import rbac_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2

from miniproxy.envoy.config import EnvoyException, unpack
from miniproxy.envoy.filters.cors import CorsFilter, CorsPolicy, CorsStats
from miniproxy.envoy.filters.fault import FaultConfig, FaultFilter, FaultFilterStats
from miniproxy.envoy.filters.local_ratelimit import LocalRateLimitConfig, LocalRateLimitFilter
from miniproxy.envoy.filters.rbac import RbacConfig, RbacFilter, RbacPerRoute
from miniproxy.envoy.filters.router import Router


def create_filter_factory(pb, hcm):
    """One `http_filters` entry → a zero-argument factory (FilterFactoryCb)."""
    cfg = unpack(pb.typed_config, pb.name)
    server = hcm.server
    if isinstance(cfg, router_pb2.Router):
        return lambda: Router(cfg, hcm)
    if isinstance(cfg, fault_pb2.HTTPFault):
        fc, stats = FaultConfig(cfg), FaultFilterStats(hcm.stats)
        return lambda: FaultFilter(fc, stats, server.rng)
    if isinstance(cfg, local_rate_limit_pb2.LocalRateLimit):
        lc = LocalRateLimitConfig(cfg, server.store, time.monotonic(), server.shared_bucket)
        return lambda: LocalRateLimitFilter(lc, server.rng)
    if isinstance(cfg, rbac_pb2.RBAC):
        rc = RbacConfig(cfg, hcm.stats)
        return lambda: RbacFilter(rc)
    if isinstance(cfg, cors_pb2.Cors):
        cs = CorsStats(hcm.stats)
        return lambda: CorsFilter(cs, server.rng)
    raise EnvoyException(
        f"Didn't find a registered implementation for '{pb.name}' with type URL: '{cfg.DESCRIPTOR.full_name}'"
    )


def route_specific_config(name: str, any_msg, store, shared_bucket=None):
    """typed_per_filter_config entry → the filter's compiled per-route config
    (`shared_bucket`: a worker's lookup of shared token buckets)."""
    cfg = unpack(any_msg, name)
    if isinstance(cfg, fault_pb2.HTTPFault):
        return FaultConfig(cfg)
    if isinstance(cfg, local_rate_limit_pb2.LocalRateLimit):
        return LocalRateLimitConfig(cfg, store, time.monotonic(), shared_bucket)
    if isinstance(cfg, rbac_pb2.RBACPerRoute):
        return RbacPerRoute(cfg)
    if isinstance(cfg, cors_pb2.CorsPolicy):
        return CorsPolicy(cfg)
    raise EnvoyException(f"Didn't find a registered route-specific implementation for '{name}'")
