"""Leader election on a Lease in miniapiserver (tools/leaderelection leaderelection_test.go)."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest

from miniapi import errors
from miniclient.kubeconfig import load_kubeconfig
from miniclient.leaderelection import (
    LeaderElectionConfig,
    LeaderElectionRecord,
    LeaderElector,
    LeaseLock,
    lease_expired,
)
from miniclient.rest import Client

pytestmark = pytest.mark.tool("etcd")


def test_expiry_is_judged_from_the_local_observation_time():
    held = LeaderElectionRecord(holder_identity="a", lease_duration_seconds=10)
    assert not lease_expired(held, observed_time=100.0, now=109.9, identity="b")
    assert lease_expired(held, observed_time=100.0, now=110.0, identity="b")
    assert lease_expired(held, observed_time=100.0, now=100.0, identity="a")
    assert lease_expired(LeaderElectionRecord(), 0.0, 0.0, "b")


def test_timings_are_validated():
    with pytest.raises(ValueError, match="leaseDuration must be greater than renewDeadline"):
        LeaderElectionConfig(None, None, None, lease_duration=5, renew_deadline=5)
    with pytest.raises(ValueError, match="renewDeadline must be greater than retryPeriod"):
        LeaderElectionConfig(None, None, None, lease_duration=5, renew_deadline=2, retry_period=2)


class Candidate:
    def __init__(self, client: Client, name: str, identity: str, release: bool = False) -> None:
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self.elector = LeaderElector(
            LeaderElectionConfig(
                lock=LeaseLock(client, "default", name, identity),
                on_started_leading=self._lead,
                on_stopped_leading=self.stopped.set,
                lease_duration=2.0,
                renew_deadline=1.5,
                retry_period=0.3,
                release_on_cancel=release,
                rng=random.Random(identity),
            )
        )
        self.task = asyncio.ensure_future(self.elector.run())

    async def _lead(self) -> None:
        self.leading.set()
        await asyncio.Event().wait()


def test_one_leader_at_a_time_and_handover(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            name = f"lock-{uuid.uuid4().hex[:6]}"
            a = Candidate(client, name, "a")
            await asyncio.wait_for(a.leading.wait(), 20)
            b = Candidate(client, name, "b")
            await asyncio.sleep(1.0)
            assert not b.leading.is_set()
            assert b.elector.get_leader() == "a"
            # Kill a without releasing: b must wait out the lease, then take over.
            a.task.cancel()
            killed = asyncio.get_running_loop().time()
            await asyncio.wait_for(b.leading.wait(), 20)
            waited = asyncio.get_running_loop().time() - killed
            assert waited >= 1.0
            lease = await LeaseLock(client, "default", name, "x").get()
            assert (lease.holder_identity, lease.leader_transitions) == ("b", 1)
            # b releases on cancel: c does not have to wait a lease duration.
            b.task.cancel()
            await asyncio.gather(b.task, return_exceptions=True)
            assert b.stopped.is_set()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_released_lease_is_taken_at_once_and_stale_updates_conflict(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            name = f"lock-{uuid.uuid4().hex[:6]}"
            a = Candidate(client, name, "a", release=True)
            await asyncio.wait_for(a.leading.wait(), 20)
            a.task.cancel()
            await asyncio.gather(a.task, return_exceptions=True)
            record = await LeaseLock(client, "default", name, "x").get()
            assert record.holder_identity == ""
            # Two writers from the same read: the second loses on resourceVersion.
            one, two = (LeaseLock(client, "default", name, i) for i in ("1", "2"))
            await one.get()
            await two.get()
            await one.update(LeaderElectionRecord(holder_identity="1", lease_duration_seconds=9))
            with pytest.raises(errors.StatusError) as e:
                await two.update(LeaderElectionRecord(holder_identity="2"))
            assert errors.is_conflict(e.value)

    asyncio.run(asyncio.wait_for(main(), 60))
