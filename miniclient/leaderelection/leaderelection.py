"""Leader election: at most one candidate acts, and a dead leader is replaced.

Mirrors k8s.io/client-go/tools/leaderelection/leaderelection.go
(LeaderElectionConfig, LeaderElector.Run, acquire, renew, tryAcquireOrRenew,
release). Expiry is judged on this candidate's own clock from when it last saw
the record change (observedTime), never from the timestamps in the record, so
clock skew between machines does not matter. A leader that cannot renew within
renew_deadline stops leading; others take over once lease_duration has passed
without a change.
Omitted: the health-check adaptor, metrics, preferred-holder (coordinated) election.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from miniapi import errors
from miniclient.clock import Clock, RealClock
from miniclient.leaderelection.resourcelock import LeaderElectionRecord, LeaseLock

__all__ = ["LeaderElectionConfig", "LeaderElector", "JITTER_FACTOR", "lease_expired"]

log = logging.getLogger("miniclient.leaderelection")

JITTER_FACTOR = 1.2


def _wall() -> datetime:
    return datetime.now(UTC)


@dataclass
class LeaderElectionConfig:
    """Timings in seconds: lease_duration > renew_deadline > retry_period * JITTER_FACTOR."""

    lock: LeaseLock
    on_started_leading: Callable[[], Awaitable[None]]
    on_stopped_leading: Callable[[], None]
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    on_new_leader: Callable[[str], None] | None = None
    release_on_cancel: bool = False
    name: str = ""
    clock: Clock = field(default_factory=RealClock)
    wall: Callable[[], datetime] = _wall
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("leaseDuration must be greater than renewDeadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ValueError("renewDeadline must be greater than retryPeriod*JitterFactor")


def lease_expired(
    record: LeaderElectionRecord, observed_time: float, now: float, identity: str
) -> bool:
    """May identity take the lease? Yes if unheld, held by itself, or unchanged too long."""
    if not record.holder_identity or record.holder_identity == identity:
        return True
    return observed_time + record.lease_duration_seconds <= now


class LeaderElector:
    """Runs one candidate: acquire, then renew until it fails or is cancelled."""

    def __init__(self, config: LeaderElectionConfig) -> None:
        self.config = config
        self.observed_record = LeaderElectionRecord()
        self.observed_time = 0.0
        self.reported_leader = ""

    def is_leader(self) -> bool:
        return self.observed_record.holder_identity == self.config.lock.identity()

    def get_leader(self) -> str:
        return self.observed_record.holder_identity

    def _observe(self, record: LeaderElectionRecord) -> None:
        self.observed_record = record
        self.observed_time = self.config.clock.now()
        if record.holder_identity != self.reported_leader:
            self.reported_leader = record.holder_identity
            if self.config.on_new_leader and record.holder_identity:
                self.config.on_new_leader(record.holder_identity)

    async def try_acquire_or_renew(self) -> bool:
        """One attempt; True if this candidate holds the lease afterwards."""
        cfg, lock = self.config, self.config.lock
        now_wall = cfg.wall()
        desired = LeaderElectionRecord(
            holder_identity=lock.identity(),
            lease_duration_seconds=int(cfg.lease_duration),
            acquire_time=now_wall,
            renew_time=now_wall,
        )
        try:
            old = await lock.get()
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                log.info("error retrieving lease %s: %s", lock.describe(), e)
                return False
            try:
                await lock.create(desired)
            except errors.StatusError as e2:
                log.info("error initially creating lease %s: %s", lock.describe(), e2)
                return False
            self._observe(desired)
            return True
        if old != self.observed_record:
            self._observe(old)
        if not lease_expired(old, self.observed_time, cfg.clock.now(), lock.identity()):
            return False
        if self.is_leader():
            desired = replace(
                desired, acquire_time=old.acquire_time, leader_transitions=old.leader_transitions
            )
        else:
            desired = replace(desired, leader_transitions=old.leader_transitions + 1)
        try:
            await lock.update(desired)
        except errors.StatusError as e:
            log.info("failed to update lease %s: %s", lock.describe(), e)
            return False
        self._observe(desired)
        return True

    def _jittered(self) -> float:
        period = self.config.retry_period
        return period + self.config.rng.random() * JITTER_FACTOR * period

    async def acquire(self) -> None:
        """Retry (jittered retry_period) until the lease is ours."""
        while not await self._attempt():
            await self.config.clock.sleep(self._jittered())

    async def _attempt(self) -> bool:
        try:
            return await self.try_acquire_or_renew()
        except (TimeoutError, OSError) as e:
            log.info("lease %s: %s", self.config.lock.describe(), e)
            return False

    async def renew(self) -> None:
        """Renew every retry_period; return once renew_deadline passes without success."""
        cfg = self.config
        last_renew = cfg.clock.now()
        while True:
            await cfg.clock.sleep(cfg.retry_period)
            if await self._attempt():
                last_renew = cfg.clock.now()
            elif cfg.clock.now() - last_renew >= cfg.renew_deadline:
                log.info("failed to renew lease %s: timed out", cfg.lock.describe())
                return

    async def release(self) -> None:
        """Give the lease up at once (holder cleared, duration 1s) so others need not wait."""
        if not self.is_leader():
            return
        now_wall = self.config.wall()
        record = LeaderElectionRecord(
            lease_duration_seconds=1,
            acquire_time=now_wall,
            renew_time=now_wall,
            leader_transitions=self.observed_record.leader_transitions,
        )
        try:
            await self.config.lock.update(record)
        except errors.StatusError as e:
            log.info("failed to release lease %s: %s", self.config.lock.describe(), e)
            return
        self._observe(record)

    async def run(self) -> None:
        """acquire, start the leader's work, renew; stop leading when renewing fails."""
        try:
            await self.acquire()
            work = asyncio.ensure_future(self.config.on_started_leading())
            try:
                await self.renew()
            finally:
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
        finally:
            if self.config.release_on_cancel:
                await asyncio.shield(self.release())
            self.config.on_stopped_leading()
