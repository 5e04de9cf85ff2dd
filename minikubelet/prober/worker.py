"""One probe's state machine: when to probe and what the thresholds make of the results.

Mirrors pkg/kubelet/prober/worker.go (doProbe: initialDelaySeconds, the
resultRun counter against successThreshold / failureThreshold, the initial
results Failure for readiness and Unknown for startup and liveness, a liveness or
startup failure resetting the counter once acted on) and results/results_manager.go
(Success / Failure / Unknown). Pure: the adapter passes the seconds since the
container started and the outcome of each probe it ran.
Omitted: probe-level terminationGracePeriodSeconds, the per-worker jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

SUCCESS, FAILURE, UNKNOWN = "Success", "Failure", "Unknown"
LIVENESS, READINESS, STARTUP = "Liveness", "Readiness", "Startup"


@dataclass(frozen=True)
class ProbeSpec:
    """The timing fields of a v1.Probe, defaulted as the API server does."""

    initial_delay_seconds: int = 0
    timeout_seconds: int = 1
    period_seconds: int = 10
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def from_probe(cls, probe) -> ProbeSpec:
        return cls(
            initial_delay_seconds=probe.initial_delay_seconds or 0,
            timeout_seconds=probe.timeout_seconds or 1,
            period_seconds=probe.period_seconds or 10,
            success_threshold=probe.success_threshold or 1,
            failure_threshold=probe.failure_threshold or 3,
        )


class Worker:
    """The result of one probe on one container instance (a new instance needs a new worker)."""

    def __init__(self, probe_type: str, spec: ProbeSpec) -> None:
        self.probe_type, self.spec = probe_type, spec
        self.result = FAILURE if probe_type == READINESS else UNKNOWN
        self.last_result = UNKNOWN
        self.result_run = 0
        self.on_hold = False

    def should_probe(self, seconds_since_start: float) -> bool:
        """initialDelaySeconds gates the first probe; a worker on hold probes no more."""
        return not self.on_hold and seconds_since_start >= self.spec.initial_delay_seconds

    def observe(self, outcome: str) -> str:
        """Feed one probe outcome (Success/Failure); returns the (possibly new) result."""
        if outcome == self.last_result:
            self.result_run += 1
        else:
            self.last_result, self.result_run = outcome, 1
        threshold = (
            self.spec.failure_threshold if outcome == FAILURE else self.spec.success_threshold
        )
        if self.result_run < threshold:
            return self.result
        self.result = outcome
        if outcome == FAILURE and self.probe_type in (LIVENESS, STARTUP):
            # The container will be restarted: stop until a new instance brings a new worker,
            # and start counting afresh (upstream resets resultRun here).
            self.result_run = 0
            self.on_hold = True
        return self.result
