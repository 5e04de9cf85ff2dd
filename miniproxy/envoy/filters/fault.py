"""envoy.filters.http.fault: inject delays and aborts, by percentage or by request header.

Mirrors source/extensions/filters/http/fault/fault_filter.cc (FaultFilter::decodeHeaders:
match `headers`, respect `max_active_faults`, delay first then abort; header-controlled faults
x-envoy-fault-delay-request / x-envoy-fault-abort-request and their -percentage headers) and
source/extensions/filters/common/fault/fault_config.cc. Stats under `http.<prefix>.fault.`:
delays_injected, aborts_injected, active_faults, faults_overflow. Response flags DI and FI.
A route's typed_per_filter_config (an HTTPFault) replaces the listener's config for that route.
Omitted: response rate limiting, gRPC aborts, downstream_nodes, runtime keys.
"""

from __future__ import annotations

from miniproxy.envoy import stream_info as flags
from miniproxy.envoy.filter import FilterDataStatus, FilterHeadersStatus, StreamFilter
from miniproxy.envoy.matchers import HeaderMatcher

FILTER_NAME = "envoy.filters.http.fault"
_DENOM = {0: 100, 1: 10000, 2: 1000000}


def _fraction(pb) -> tuple[int, int]:
    """A FractionalPercent; an unset percentage means 100%."""
    return pb.numerator, _DENOM[pb.denominator]


class FaultConfig:
    def __init__(self, pb) -> None:
        self.pb = pb
        self.headers = [HeaderMatcher(h) for h in pb.headers]
        self.max_active = pb.max_active_faults.value if pb.HasField("max_active_faults") else None
        self.delay = None
        if pb.HasField("delay"):
            d = pb.delay
            pct = _fraction(d.percentage) if d.HasField("percentage") else (100, 100)
            fixed = (
                d.fixed_delay.seconds + d.fixed_delay.nanos / 1e9
                if d.HasField("fixed_delay")
                else None
            )
            self.delay = (fixed, d.HasField("header_delay"), pct)
        self.abort = None
        if pb.HasField("abort"):
            a = pb.abort
            pct = _fraction(a.percentage) if a.HasField("percentage") else (100, 100)
            status = a.http_status if a.WhichOneof("error_type") == "http_status" else None
            self.abort = (status, a.HasField("header_abort"), pct)


class FaultFilterStats:
    def __init__(self, scope) -> None:
        s = scope.scope("fault.")
        self.delays_injected = s.counter("delays_injected")
        self.aborts_injected = s.counter("aborts_injected")
        self.faults_overflow = s.counter("faults_overflow")
        self.active_faults = s.gauge("active_faults")


def _header_pct(headers, name: str, default: tuple[int, int]) -> tuple[int, int]:
    v = headers.get(name)
    if v is not None and v.isdigit():
        return min(int(v), default[1]), default[1]
    return default


class FaultFilter(StreamFilter):
    def __init__(self, config: FaultConfig, stats: FaultFilterStats, rng) -> None:
        self.config = config
        self.stats = stats
        self.rng = rng
        self.timer = None
        self.active = False

    def _enabled(self, pct: tuple[int, int]) -> bool:
        return self.rng.randrange(pct[1]) < pct[0]

    def decode_headers(self, headers, end_stream: bool) -> FilterHeadersStatus:
        route = self.callbacks.route()
        cfg = self.config
        if route is not None:
            cfg = route.per_filter_config(FILTER_NAME) or cfg
        self.effective = cfg
        if not all(m.match(headers) for m in cfg.headers):
            return FilterHeadersStatus.Continue
        if cfg.max_active is not None and self.stats.active_faults.value >= cfg.max_active:
            self.stats.faults_overflow.inc()
            return FilterHeadersStatus.Continue
        delay = self._delay_ms(cfg, headers)
        if delay:
            self._begin_fault()
            self.stats.delays_injected.inc()
            self.callbacks.stream_info.set_response_flag(flags.DELAY_INJECTED)
            self.timer = self.callbacks.loop.call_later(delay / 1000.0, self._post_delay)
            return FilterHeadersStatus.StopIteration
        return self._maybe_abort()

    def _delay_ms(self, cfg: FaultConfig, headers) -> int:
        if cfg.delay is None:
            return 0
        fixed, from_header, pct = cfg.delay
        pct = (
            _header_pct(headers, "x-envoy-fault-delay-request-percentage", pct)
            if from_header
            else pct
        )
        if not self._enabled(pct):
            return 0
        if from_header:
            v = headers.get("x-envoy-fault-delay-request")
            return int(v) if v and v.isdigit() else 0
        return int(fixed * 1000) if fixed else 0

    def _abort_status(self, cfg: FaultConfig, headers) -> int | None:
        if cfg.abort is None:
            return None
        status, from_header, pct = cfg.abort
        pct = (
            _header_pct(headers, "x-envoy-fault-abort-request-percentage", pct)
            if from_header
            else pct
        )
        if not self._enabled(pct):
            return None
        if from_header:
            v = headers.get("x-envoy-fault-abort-request")
            code = int(v) if v and v.isdigit() else 0
            return code if 200 <= code < 600 else None
        return status

    def decode_data(self, data, end_stream: bool) -> FilterDataStatus:
        # While the delay timer runs the body waits here, like StopIterationAndWatermark.
        return (
            FilterDataStatus.StopIterationNoBuffer
            if self.timer is not None
            else FilterDataStatus.Continue
        )

    def _begin_fault(self) -> None:
        if not self.active:
            self.active = True
            self.stats.active_faults.inc()

    def _post_delay(self) -> None:
        self.timer = None
        if self._maybe_abort() is FilterHeadersStatus.Continue:
            self.callbacks.continue_decoding()

    def _maybe_abort(self) -> FilterHeadersStatus:
        status = self._abort_status(self.effective, self.callbacks.request_headers)
        if status is None:
            return FilterHeadersStatus.Continue
        self._begin_fault()
        self.stats.aborts_injected.inc()
        self.callbacks.send_local_reply(
            status, "fault filter abort", details="fault_filter_abort", flag=flags.FAULT_INJECTED
        )
        return FilterHeadersStatus.StopIteration

    def on_destroy(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.active:
            self.active = False
            self.stats.active_faults.dec()
