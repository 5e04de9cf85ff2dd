"""Active HTTP health checking: a per-host state machine and the asyncio prober around it.

Mirrors source/common/upstream/health_checker_impl.cc (HealthCheckerImplBase::
ActiveHealthCheckSession::handleSuccess/handleFailure) and
source/extensions/health_checkers/http/health_checker_impl.cc: a host turns unhealthy after
`unhealthy_threshold` failed checks and healthy again after `healthy_threshold` successes; a
new host starts with FAILED_ACTIVE_HC set and its first check alone decides. Stats: `health_check.attempt`, `.success`,
`.failure`, `.healthy`. The state machine (`HostHealth.observe`) is pure; `HttpHealthChecker`
sends `GET <path>` with the cluster's hosts and feeds the results in.
Omitted: TCP/gRPC checkers, interval jitter, no_traffic_interval, expected_statuses ranges
other than the default 200.
"""

from __future__ import annotations

import asyncio
import logging

from miniproxy.envoy.host import FAILED_ACTIVE_HC, Host
from miniproxy.envoy.stats import Scope

log = logging.getLogger("miniproxy.envoy.health_checker")


class HostHealth:
    """One host's consecutive results; `observe` returns True when the host's health flipped."""

    def __init__(self, healthy_threshold: int, unhealthy_threshold: int) -> None:
        self.healthy_threshold = healthy_threshold
        self.unhealthy_threshold = unhealthy_threshold
        self.num_healthy = 0
        self.num_unhealthy = 0
        self.first_check = True

    def observe(self, host: Host, ok: bool) -> bool:
        was = host.health_flag_get(FAILED_ACTIVE_HC)
        if ok:
            self.num_unhealthy = 0
            self.num_healthy += 1
            if was and (self.first_check or self.num_healthy >= self.healthy_threshold):
                host.health_flag_clear(FAILED_ACTIVE_HC)
        else:
            self.num_healthy = 0
            self.num_unhealthy += 1
            if not was and (self.first_check or self.num_unhealthy >= self.unhealthy_threshold):
                host.health_flag_set(FAILED_ACTIVE_HC)
        self.first_check = False
        return was != host.health_flag_get(FAILED_ACTIVE_HC)


def _seconds(d) -> float:
    return d.seconds + d.nanos / 1e9


class HttpHealthChecker:
    """HttpHealthCheckerImpl: probes every host each `interval` on the server's event loop."""

    def __init__(self, pb, scope: Scope, on_change) -> None:
        self.interval = _seconds(pb.interval) or 5.0
        self.timeout = _seconds(pb.timeout) or 1.0
        self.path = pb.http_health_check.path or "/"
        self.host_header = pb.http_health_check.host
        self.healthy_threshold = pb.healthy_threshold.value or 1
        self.unhealthy_threshold = pb.unhealthy_threshold.value or 1
        s = scope.scope("health_check.")
        self.attempt, self.success, self.failure = (
            s.counter(n) for n in ("attempt", "success", "failure")
        )
        self.healthy_gauge = s.gauge("healthy")
        self.on_change = on_change
        self.sessions: dict[Host, HostHealth] = {}
        self.task: asyncio.Task | None = None

    def set_hosts(self, hosts: list[Host]) -> None:
        fresh = {}
        for h in hosts:
            if h not in self.sessions:
                h.health_flag_set(FAILED_ACTIVE_HC)  # hosts start unhealthy until checked
            fresh[h] = self.sessions.get(h) or HostHealth(
                self.healthy_threshold, self.unhealthy_threshold
            )
        self.sessions = fresh

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.gather(*(self._check(h) for h in list(self.sessions)))
            self.healthy_gauge.set(
                sum(1 for h in self.sessions if not h.health_flag_get(FAILED_ACTIVE_HC))
            )
            await asyncio.sleep(self.interval)

    async def _check(self, host: Host) -> None:
        self.attempt.inc()
        ok = await self._probe(host)
        (self.success if ok else self.failure).inc()
        session = self.sessions.get(host)
        if session is not None and session.observe(host, ok):
            log.info(
                "health check: host %s is now %s",
                host.address_string,
                "healthy" if ok else "unhealthy",
            )
            self.on_change(host)

    async def _probe(self, host: Host) -> bool:
        authority = self.host_header or host.address_string
        req = f"GET {self.path} HTTP/1.1\r\nhost: {authority}\r\nuser-agent: Envoy/HC\r\nconnection: close\r\n\r\n"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host.address, host.port), self.timeout
            )
        except (TimeoutError, OSError):
            return False
        try:
            writer.write(req.encode())
            line = await asyncio.wait_for(reader.readline(), self.timeout)
            parts = line.split()
            return len(parts) >= 2 and parts[1] == b"200"
        except (TimeoutError, OSError):
            return False
        finally:
            writer.close()
