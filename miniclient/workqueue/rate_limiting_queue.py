"""A delaying queue whose retry delays come from a rate limiter.

Mirrors k8s.io/client-go/util/workqueue/rate_limiting_queue.go
(RateLimitingInterface: AddRateLimited, Forget, NumRequeues).
A controller calls add_rate_limited(key) when a sync fails, and forget(key)
when it succeeds so the next failure starts again from the base delay.
Omitted: nothing of the interface.
"""

from __future__ import annotations

from collections.abc import Hashable

from miniclient.clock import Clock
from miniclient.workqueue.default_rate_limiters import (
    RateLimiter,
    default_controller_rate_limiter,
)
from miniclient.workqueue.delaying_queue import DelayingQueue

__all__ = ["RateLimitingQueue"]


class RateLimitingQueue(DelayingQueue):
    """DelayingQueue + a RateLimiter (the default controller limiter unless given)."""

    def __init__(
        self,
        rate_limiter: RateLimiter | None = None,
        name: str = "",
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name, clock)
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(self.clock.now)

    def add_rate_limited(self, item: Hashable) -> None:
        """Queue item after the delay the limiter grants it (counted as a retry)."""
        self.metrics.retry()
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: Hashable) -> None:
        """Stop tracking item's failures (it succeeded, or the controller gave up)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return self.rate_limiter.num_requeues(item)
