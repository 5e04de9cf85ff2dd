"""Outlier detection: eject hosts after consecutive errors, return them after a back-off.

Mirrors source/common/upstream/outlier_detection_impl.cc (DetectorImpl,
DetectorHostMonitorImpl::putHttpResponseCode, ejectHost, checkHostForUneject,
onIntervalTimer). A host is ejected after `consecutive_5xx` 5xx responses (or
`consecutive_gateway_failure` 502/503/504s, enforced at `enforcing_*` percent), unless that
would push the ejected share past `max_ejection_percent`. On each interval tick an ejected host
returns once min(base_ejection_time × ejection back-off, max_ejection_time) has passed; a
healthy host's back-off shrinks by one per tick. Pure: `now` (seconds) and the rng are given.
Omitted: success-rate and failure-percentage detection, local-origin split, jitter > 0,
event logging.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from miniproxy.envoy.host import FAILED_OUTLIER_CHECK, Host
from miniproxy.envoy.stats import Scope


def _wrapped(pb, name: str, default: int) -> int:
    return getattr(pb, name).value if pb.HasField(name) else default


def _ms(pb, name: str, default: int) -> int:
    if not pb.HasField(name):
        return default
    d = getattr(pb, name)
    return d.seconds * 1000 + d.nanos // 1_000_000


@dataclass(frozen=True)
class DetectorConfig:
    interval_ms: int = 10000
    base_ejection_time_ms: int = 30000
    max_ejection_time_ms: int = 300000
    consecutive_5xx: int = 5
    consecutive_gateway_failure: int = 5
    max_ejection_percent: int = 10
    enforcing_consecutive_5xx: int = 100
    enforcing_consecutive_gateway_failure: int = 0

    @staticmethod
    def from_proto(pb) -> DetectorConfig:
        base = _ms(pb, "base_ejection_time", 30000)
        cfg = DetectorConfig(
            interval_ms=_ms(pb, "interval", 10000),
            base_ejection_time_ms=base,
            max_ejection_time_ms=_ms(pb, "max_ejection_time", max(300000, base)),
            consecutive_5xx=_wrapped(pb, "consecutive_5xx", 5),
            consecutive_gateway_failure=_wrapped(pb, "consecutive_gateway_failure", 5),
            max_ejection_percent=_wrapped(pb, "max_ejection_percent", 10),
            enforcing_consecutive_5xx=_wrapped(pb, "enforcing_consecutive_5xx", 100),
            enforcing_consecutive_gateway_failure=_wrapped(
                pb, "enforcing_consecutive_gateway_failure", 0
            ),
        )
        if cfg.max_ejection_time_ms < cfg.base_ejection_time_ms:
            raise ValueError(
                "outlier detector's max_ejection_time cannot be smaller than base_ejection_time"
            )
        return cfg


class HostMonitor:
    """DetectorHostMonitorImpl: one host's consecutive-error counters and ejection history."""

    def __init__(self) -> None:
        self.consecutive_5xx = 0
        self.consecutive_gateway_failure = 0
        self.num_ejections = 0
        self.eject_time_backoff = 0
        self.last_ejection_time: float | None = None
        self.last_unejection_time: float | None = None


class Detector:
    """DetectorImpl for one cluster. Call put_http_response_code per response, tick per interval."""

    def __init__(self, config: DetectorConfig, scope: Scope, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.monitors: dict[Host, HostMonitor] = {}
        self.callbacks: list = []  # fn(host) on every eject/uneject, to refresh balancers
        s = scope.scope("outlier_detection.")
        self.ejections_active = s.gauge("ejections_active")
        self.stats = {
            name: s.counter(name)
            for name in (
                "ejections_total", "ejections_overflow", "ejections_enforced_total",
                "ejections_enforced_consecutive_5xx", "ejections_detected_consecutive_5xx",
                "ejections_enforced_consecutive_gateway_failure",
                "ejections_detected_consecutive_gateway_failure", "ejections_consecutive_5xx",
            )
        }  # fmt: skip

    def set_hosts(self, hosts: list[Host]) -> None:
        """Member update: add monitors for new hosts, drop removed ones."""
        keep = {}
        for h in hosts:
            keep[h] = self.monitors.get(h) or HostMonitor()
        for h in self.monitors:
            if h not in keep and h.health_flag_get(FAILED_OUTLIER_CHECK):
                self.ejections_active.dec()
        self.monitors = keep

    def put_http_response_code(self, host: Host, code: int, now: float) -> None:
        m = self.monitors.get(host)
        if m is None:
            return
        if 500 <= code < 600:
            if code in (502, 503, 504):
                m.consecutive_gateway_failure += 1
                if m.consecutive_gateway_failure == self.config.consecutive_gateway_failure:
                    self._on_consecutive_error(host, "consecutive_gateway_failure", now)
            else:
                m.consecutive_gateway_failure = 0
            m.consecutive_5xx += 1
            if m.consecutive_5xx == self.config.consecutive_5xx:
                self._on_consecutive_error(host, "consecutive_5xx", now)
        else:
            m.consecutive_5xx = 0
            m.consecutive_gateway_failure = 0

    def put_connect_failure(self, host: Host, now: float) -> None:
        """Without split_external_local_origin_errors a connect failure counts as a 503."""
        self.put_http_response_code(host, 503, now)

    def put_timeout(self, host: Host, now: float) -> None:
        self.put_http_response_code(host, 504, now)

    def _on_consecutive_error(self, host: Host, kind: str, now: float) -> None:
        """onConsecutiveErrorWorker: count the detection, try to eject, reset the counter."""
        if host.health_flag_get(FAILED_OUTLIER_CHECK):
            return
        self.stats[f"ejections_detected_{kind}"].inc()
        self._eject_host(host, kind, now)
        m = self.monitors[host]
        if kind == "consecutive_5xx":
            m.consecutive_5xx = 0
        else:
            m.consecutive_gateway_failure = 0

    def _enforced(self, kind: str) -> bool:
        pct = getattr(self.config, f"enforcing_{kind}")
        return self.rng.randrange(100) < pct

    def _eject_host(self, host: Host, kind: str, now: float) -> None:
        cfg = self.config
        max_pct = min(100, cfg.max_ejection_percent)
        ejected_pct = 100.0 * (self.ejections_active.value + 1) / len(self.monitors)
        if ejected_pct > max_pct:
            self.stats["ejections_overflow"].inc()
            return
        if kind == "consecutive_5xx":
            self.stats["ejections_total"].inc()
            self.stats["ejections_consecutive_5xx"].inc()
        if not self._enforced(kind):
            return
        self.ejections_active.inc()
        self.stats["ejections_enforced_total"].inc()
        self.stats[f"ejections_enforced_{kind}"].inc()
        m = self.monitors[host]
        host.health_flag_set(FAILED_OUTLIER_CHECK)
        m.num_ejections += 1
        m.last_ejection_time = now
        if (
            m.eject_time_backoff * cfg.base_ejection_time_ms
            < cfg.max_ejection_time_ms + cfg.base_ejection_time_ms
        ):
            m.eject_time_backoff += 1
        self._run_callbacks(host)

    def on_interval_timer(self, now: float) -> None:
        """Every `interval`: uneject hosts whose time is up, decay the back-off of healthy ones."""
        cfg = self.config
        for host, m in self.monitors.items():
            if host.health_flag_get(FAILED_OUTLIER_CHECK):
                eject_ms = min(
                    cfg.base_ejection_time_ms * m.eject_time_backoff, cfg.max_ejection_time_ms
                )
                if eject_ms / 1000.0 <= now - m.last_ejection_time:
                    self._uneject_host(host, now)
            elif m.eject_time_backoff > 0 and (
                m.last_unejection_time is None
                or now - m.last_unejection_time >= cfg.interval_ms / 1000.0
            ):
                m.eject_time_backoff -= 1

    def _uneject_host(self, host: Host, now: float) -> None:
        self.ejections_active.dec()
        host.health_flag_clear(FAILED_OUTLIER_CHECK)
        m = self.monitors[host]
        m.consecutive_5xx = 0
        m.consecutive_gateway_failure = 0
        m.last_unejection_time = now
        self._run_callbacks(host)

    def _run_callbacks(self, host: Host) -> None:
        for cb in self.callbacks:
            cb(host)
