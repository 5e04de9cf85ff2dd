"""Outlier detection, retry back-off, circuit breakers and the token bucket, on injected time.

Reference: Envoy docs arch_overview/upstream/outlier ("ejection time = base_ejection_time ×
number of times ejected", max_ejection_percent), http/http_routing (retry back-off: 25 ms base,
full jitter, capped at 10× base), upstream/circuit_breaking (defaults 1024/1024/1024/3),
http_filters/local_rate_limit_filter (token bucket).
"""

from __future__ import annotations

import random

from envoy.config.cluster.v3 import outlier_detection_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from miniproxy.envoy.circuit_breaker import ResourceManager
from miniproxy.envoy.filters.local_ratelimit import TokenBucket
from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.host import FAILED_OUTLIER_CHECK, Host
from miniproxy.envoy.outlier_detection import Detector, DetectorConfig
from miniproxy.envoy.retry_state import RetryPolicy, RetryState
from miniproxy.envoy.stats import Store


def detector(n_hosts=4, **cfg):
    pb = outlier_detection_pb2.OutlierDetection()
    for k, v in cfg.items():
        f = getattr(pb, k)
        if hasattr(f, "seconds"):
            f.FromMilliseconds(v)
        else:
            f.value = v
    store = Store()
    d = Detector(DetectorConfig.from_proto(pb), store.scope("cluster.c."), random.Random(0))
    hs = [Host(f"10.0.0.{i}", 80) for i in range(n_hosts)]
    d.set_hosts(hs)
    return d, hs, store


def test_defaults_are_envoys():
    c = DetectorConfig.from_proto(outlier_detection_pb2.OutlierDetection())
    assert (c.interval_ms, c.base_ejection_time_ms, c.max_ejection_time_ms) == (
        10000,
        30000,
        300000,
    )
    assert (c.consecutive_5xx, c.max_ejection_percent, c.enforcing_consecutive_5xx) == (5, 10, 100)
    assert c.enforcing_consecutive_gateway_failure == 0


def test_consecutive_5xx_ejects_and_a_success_resets_the_count():
    d, hs, store = detector(consecutive_5xx=3, max_ejection_percent=100)
    for code in (500, 500, 200, 500, 500):
        d.put_http_response_code(hs[0], code, now=0)
    assert not hs[0].health_flag_get(FAILED_OUTLIER_CHECK)
    d.put_http_response_code(hs[0], 503, now=0)
    assert hs[0].health_flag_get(FAILED_OUTLIER_CHECK)
    assert store.value("cluster.c.outlier_detection.ejections_active") == 1


def test_ejection_time_grows_with_ejection_count_and_decays_when_healthy():
    d, hs, _ = detector(
        consecutive_5xx=1, base_ejection_time=1000, interval=100, max_ejection_percent=100
    )
    h = hs[0]
    d.put_http_response_code(h, 500, now=0.0)
    d.on_interval_timer(0.9)
    assert h.health_flag_get(FAILED_OUTLIER_CHECK)
    d.on_interval_timer(1.0)  # base × 1
    assert not h.health_flag_get(FAILED_OUTLIER_CHECK)
    d.put_http_response_code(h, 500, now=1.0)
    d.on_interval_timer(2.9)
    assert h.health_flag_get(FAILED_OUTLIER_CHECK)
    d.on_interval_timer(3.0)  # base × 2
    assert not h.health_flag_get(FAILED_OUTLIER_CHECK)
    for t in range(4, 10):  # healthy intervals shrink the back-off back to zero
        d.on_interval_timer(float(t))
    assert d.monitors[h].eject_time_backoff == 0


def test_max_ejection_percent_caps_ejections():
    d, hs, store = detector(n_hosts=4, consecutive_5xx=1, max_ejection_percent=50)
    for h in hs:
        d.put_http_response_code(h, 500, now=0)
    assert sum(h.health_flag_get(FAILED_OUTLIER_CHECK) for h in hs) == 2
    assert store.value("cluster.c.outlier_detection.ejections_overflow") == 2


def test_gateway_failure_is_detected_but_not_enforced_by_default():
    d, hs, store = detector(
        consecutive_gateway_failure=2, consecutive_5xx=100, max_ejection_percent=100
    )
    d.put_http_response_code(hs[0], 502, 0)
    d.put_http_response_code(hs[0], 504, 0)
    assert (
        store.value("cluster.c.outlier_detection.ejections_detected_consecutive_gateway_failure")
        == 1
    )
    assert not hs[0].health_flag_get(FAILED_OUTLIER_CHECK)


class OutlierMachine(RuleBasedStateMachine):
    """Random responses and ticks: gauges agree with flags, the percent cap always holds."""

    def __init__(self) -> None:
        super().__init__()
        self.d, self.hosts, self.store = detector(
            n_hosts=5, consecutive_5xx=2, base_ejection_time=500, max_ejection_percent=40
        )
        self.now = 0.0

    @rule(i=st.integers(0, 4), code=st.sampled_from([200, 500, 503]))
    def respond(self, i, code):
        self.d.put_http_response_code(self.hosts[i], code, self.now)

    @rule(dt=st.floats(0.05, 2.0))
    def tick(self, dt):
        self.now += dt
        self.d.on_interval_timer(self.now)

    @invariant()
    def consistent(self):
        ejected = sum(h.health_flag_get(FAILED_OUTLIER_CHECK) for h in self.hosts)
        assert ejected == self.store.value("cluster.c.outlier_detection.ejections_active")
        assert ejected <= 2  # 40% of 5


TestOutlierMachine = OutlierMachine.TestCase
TestOutlierMachine.settings = settings(max_examples=20, stateful_step_count=25, deadline=None)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 8))
def test_backoff_is_full_jitter_capped_at_ten_times_base(seed, n):
    pol = RetryPolicy(retry_on=frozenset({"5xx"}), num_retries=n)
    rs = RetryState.create(pol, HeaderMap(), random.Random(seed))
    for attempt in range(1, n + 1):
        ms = rs.next_backoff_ms()
        assert 0 <= ms < min((2**attempt - 1) * 25, 250) or ms == 250


def test_retry_on_headers_and_budget():
    rs = RetryState.create(
        None,
        HeaderMap([("x-envoy-retry-on", "gateway-error"), ("x-envoy-max-retries", "2")]),
        random.Random(0),
    )
    assert rs.would_retry_status(503) and not rs.would_retry_status(500)
    assert rs.would_retry_reset("connect_failure")
    assert rs.take_retry() and rs.take_retry() and not rs.take_retry()
    assert RetryState.create(None, HeaderMap(), random.Random(0)) is None
    codes = RetryState.create(
        RetryPolicy(frozenset({"retriable-status-codes"}), 1, 0, frozenset({418})),
        HeaderMap(),
        random.Random(0),
    )
    assert codes.would_retry_status(418) and not codes.would_retry_status(500)


def test_circuit_breaker_defaults_and_open_gauge():
    store = Store()
    rm = ResourceManager(None, store.scope("cluster.c."))
    assert (rm.connections.max, rm.pending_requests.max, rm.requests.max, rm.retries.max) == (
        1024,
        1024,
        1024,
        3,
    )
    for _ in range(3):
        assert rm.retries.can_create()
        rm.retries.inc()
    assert not rm.retries.can_create()
    assert store.value("cluster.c.circuit_breakers.default.rq_retry_open") == 1
    rm.retries.dec()
    assert store.value("cluster.c.circuit_breakers.default.rq_retry_open") == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=60))
def test_token_bucket_never_grants_more_than_capacity_plus_fills(gaps):
    tb = TokenBucket(max_tokens=3, tokens_per_fill=2, fill_interval=1.0, now=0.0)
    now, granted = 0.0, 0
    for g in gaps:
        now += g
        granted += tb.consume(now)
    assert granted <= 3 + 2 * int(now / 1.0)
    assert 0 <= tb.tokens <= 3
