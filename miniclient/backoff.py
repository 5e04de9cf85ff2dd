"""Exponential backoff with jitter, for the reflector's retries.

Mirrors k8s.io/apimachinery/pkg/util/wait (Backoff.Step, Jitter) and the
exponentialBackoffManager the reflector uses (800ms initial, x2, 30s cap,
reset after 2 minutes without failures, jitter factor 1.0). Pure: the caller
supplies the time and a seeded random.Random.
Omitted: the Go timer plumbing (the caller sleeps on its clock).
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """next(now) -> seconds to wait; the base doubles per failure, reset after quiet time."""

    def __init__(
        self,
        rng: random.Random,
        initial: float = 0.8,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
    ) -> None:
        self.rng = rng
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.reset_after = reset_after
        self._duration = initial
        self._last: float | None = None

    def next(self, now: float) -> float:
        """The wait before the next attempt: duration * (1 + jitter * U[0,1))."""
        if self._last is not None and now - self._last > self.reset_after:
            self._duration = self.initial
        self._last = now
        base = self._duration
        self._duration = min(self._duration * self.factor, self.cap)
        return base + self.rng.random() * self.jitter * base
