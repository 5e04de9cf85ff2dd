"""Workqueue metrics: depth, adds, retries, queue latency and work duration.

Mirrors k8s.io/client-go/util/workqueue/metrics.go (queueMetrics, the
MetricsProvider hook). The numbers are kept in plain fields so a component can
export them (minicontroller's /metrics renders them under upstream's names
workqueue_depth, workqueue_adds_total, workqueue_retries_total,
workqueue_queue_duration_seconds, workqueue_work_duration_seconds).
Omitted: histograms' buckets (sums and counts only), unfinished-work gauges.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

__all__ = ["QueueMetrics"]


class QueueMetrics:
    """Per-queue counters; times come from the queue's injected clock."""

    def __init__(self, name: str, now: Callable[[], float]) -> None:
        self.name = name
        self._now = now
        self.depth = 0
        self.adds_total = 0
        self.retries_total = 0
        self.queue_duration_sum = 0.0
        self.queue_duration_count = 0
        self.work_duration_sum = 0.0
        self.work_duration_count = 0
        self._added_at: dict[Hashable, float] = {}
        self._started_at: dict[Hashable, float] = {}

    def add(self, item: Hashable) -> None:
        self.adds_total += 1
        self.depth += 1
        self._added_at.setdefault(item, self._now())

    def get(self, item: Hashable) -> None:
        self.depth -= 1
        now = self._now()
        self._started_at[item] = now
        if item in self._added_at:
            self.queue_duration_sum += now - self._added_at.pop(item)
            self.queue_duration_count += 1

    def done(self, item: Hashable) -> None:
        if item in self._started_at:
            self.work_duration_sum += self._now() - self._started_at.pop(item)
            self.work_duration_count += 1

    def retry(self) -> None:
        self.retries_total += 1
