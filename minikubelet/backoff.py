"""Per-container restart back-off: CrashLoopBackOff's timer.

Mirrors k8s.io/client-go/util/flowcontrol/backoff.go (Backoff: Next, Get,
IsInBackOffSince, the entry that expires after 2 * maxDuration without an update)
as pkg/kubelet/kuberuntime/kuberuntime_container.go's doBackOff and
pkg/kubelet/images' image pull back-off use it, with the kubelet's 10 s initial and
300 s maximum. A pure core: `now` is passed in (seconds).
Omitted: jitter, GC of expired entries on a timer (gc() runs after a good pull).
"""

from __future__ import annotations

from dataclasses import dataclass

INITIAL = 10.0
MAX = 300.0


@dataclass
class _Entry:
    backoff: float
    last_update: float


class Backoff:
    """Back-off per key: 10 s, doubling to 300 s, reset after 600 s without a failure."""

    def __init__(self, initial: float = INITIAL, maximum: float = MAX) -> None:
        self.initial, self.maximum = initial, maximum
        self._entries: dict[str, _Entry] = {}

    def _has_expired(self, entry: _Entry, now: float) -> bool:
        return now - entry.last_update > 2 * self.maximum

    def next(self, key: str, now: float) -> None:
        """Record a restart: start at `initial`, or double (capped) the current back-off."""
        entry = self._entries.get(key)
        if entry is None or self._has_expired(entry, now):
            self._entries[key] = _Entry(self.initial, now)
            return
        entry.backoff = min(entry.backoff * 2, self.maximum)
        entry.last_update = now

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.backoff if entry else 0.0

    def is_in_back_off_since(self, key: str, event_time: float, now: float) -> bool:
        """True while `now` is within the back-off window that starts at `event_time`."""
        entry = self._entries.get(key)
        if entry is None or self._has_expired(entry, now):
            return False
        return now - event_time < entry.backoff

    def is_in_back_off_since_update(self, key: str, now: float) -> bool:
        """True while `now` is within the back-off window that starts at the last next()."""
        entry = self._entries.get(key)
        if entry is None or self._has_expired(entry, now):
            return False
        return now - entry.last_update < entry.backoff

    def last_update(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.last_update if entry else 0.0

    def gc(self, now: float) -> None:
        """Drop entries idle for longer than 2 * maximum (Backoff.GC)."""
        for key in [k for k, e in self._entries.items() if self._has_expired(e, now)]:
            del self._entries[key]

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)
