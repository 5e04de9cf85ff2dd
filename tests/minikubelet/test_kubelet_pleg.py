"""The PLEG's relist diff, the pod workers' requeue, the lease controller's renewals over a
real API server, --register-with-taints and the lean shim's flags."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapi.core import v1
from miniapi.meta import v1 as metav1
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client
from minikubelet import nodestatus, pleg
from minikubelet.kubelet import converged
from minikubelet.pod_workers import PodWorkers
from minikubelet.shim import parse_flags

STATES = (pleg.RUNNING, pleg.EXITED, pleg.CREATED, pleg.UNKNOWN)


# -- GenericPLEG (pkg/kubelet/pleg/generic.go) -------------------------------------------
def test_generate_events_table() -> None:
    def kinds(old: str, new: str) -> list[str]:
        return [e.type for e in pleg.generate_events("u", "c", old, new)]

    assert kinds(pleg.NON_EXISTENT, pleg.RUNNING) == [pleg.CONTAINER_STARTED]
    assert kinds(pleg.RUNNING, pleg.EXITED) == [pleg.CONTAINER_DIED]
    assert kinds(pleg.NON_EXISTENT, pleg.CREATED) == [pleg.CONTAINER_CHANGED]
    assert kinds(pleg.EXITED, pleg.NON_EXISTENT) == [pleg.CONTAINER_REMOVED]
    # Gone while running: it died first, then it was removed.
    assert kinds(pleg.RUNNING, pleg.NON_EXISTENT) == [pleg.CONTAINER_DIED, pleg.CONTAINER_REMOVED]
    assert kinds(pleg.RUNNING, pleg.RUNNING) == []


pod_states = st.dictionaries(
    st.sampled_from(["p1", "p2", "p3"]),
    st.dictionaries(st.sampled_from(["a", "b", "s"]), st.sampled_from(STATES), max_size=3),
    max_size=3,
)


@given(st.lists(pod_states, min_size=1, max_size=6))
def test_relist_reports_exactly_the_pods_whose_containers_changed(sequence) -> None:
    g = pleg.GenericPLEG()
    before: pleg.PodStates = {}
    for current in sequence:
        events = g.relist(current)
        changed = {uid for uid in before.keys() | current.keys()
                   if before.get(uid, {}) != current.get(uid, {})}  # fmt: skip
        # Every change of a pod's containers is an event for that pod, and nothing else is.
        assert {e.id for e in events} == changed
        assert g.records == current
        for e in events:
            assert e.type != pleg.CONTAINER_STARTED or current[e.id][e.data] == pleg.RUNNING
        before = current


# -- pod workers (pod_workers.go's completeWork requeue) ---------------------------------
def test_requeue_after_jitters_the_resync_and_keeps_a_sooner_wish() -> None:
    w = PodWorkers(lambda pod: None, resync=60.0, rng=random.Random(7))  # type: ignore[arg-type,return-value]
    delays = [w.requeue_after(0) for _ in range(50)]
    assert all(60.0 <= d <= 90.0 for d in delays) and len(set(delays)) > 1
    assert w.requeue_after(1.0) == 1.0


def test_a_converged_pod_waits_for_a_poke_and_a_finished_one_ends() -> None:
    async def scenario() -> list[str]:
        calls: list[str] = []

        async def sync(pod: v1.Pod) -> float | None:
            calls.append(pod.metadata.name)
            return None if pod.metadata.name == "done" else 0

        w = PodWorkers(sync, resync=3600.0)
        pod = v1.Pod(metadata=metav1.ObjectMeta(name="p", uid="u1"))
        w.update_pod(pod)
        await asyncio.sleep(0.05)
        assert calls == ["p"]  # converged: no second sync without news
        w.poke("u1")  # a PLEG event
        await asyncio.sleep(0.05)
        w.update_pod(v1.Pod(metadata=metav1.ObjectMeta(name="done", uid="u1")))
        await asyncio.sleep(0.05)
        assert w.known() == set()
        return calls

    assert asyncio.run(scenario()) == ["p", "p", "done"]


def test_converged_means_no_container_waits() -> None:
    waiting = v1.ContainerStatus(name="c", ready=False, restart_count=0, image="busybox", image_id="", state=v1.ContainerState(
        waiting=v1.ContainerStateWaiting(reason="CrashLoopBackOff")))  # fmt: skip
    running = v1.ContainerStatus(name="c", ready=True, restart_count=0, image="busybox", image_id="", state=v1.ContainerState(
        running=v1.ContainerStateRunning()))  # fmt: skip
    assert converged(v1.PodStatus(phase="Running", container_statuses=[running]))
    assert not converged(v1.PodStatus(phase="Running", container_statuses=[waiting]))
    assert not converged(v1.PodStatus(phase="Pending", container_statuses=[running]))


# -- --register-with-taints and the shim's flags -----------------------------------------
def test_parse_taints() -> None:
    assert nodestatus.parse_taints("a.io/x=true:NoSchedule,b:NoExecute") == [
        v1.Taint(key="a.io/x", value="true", effect="NoSchedule"),
        v1.Taint(key="b", value="", effect="NoExecute"),
    ]
    assert nodestatus.parse_taints("") == []
    for bad in ("a=b", "a=b:Sometimes", ":NoSchedule"):
        with pytest.raises(ValueError, match="invalid taint spec"):
            nodestatus.parse_taints(bad)


def test_shim_flags() -> None:
    argv = ["--runtime", '["runc"]', "--root", "/r", "--id", "c1", "--bundle", "/b",
            "--log", "/l", "--state", "/s"]  # fmt: skip
    assert parse_flags(argv)["id"] == "c1"
    assert parse_flags([*argv, "--memory-cgroup", "/m"])["memory-cgroup"] == "/m"
    with pytest.raises(SystemExit):
        parse_flags(argv[:-2])  # --state missing
    with pytest.raises(SystemExit):
        parse_flags([*argv, "--bogus", "x"])


# -- the lease controller against miniapiserver ------------------------------------------
class CountingClient(Client):
    """A real client that also counts the verbs it sent (a spy, not a stand-in)."""

    def __init__(self, config) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config)
        self.verbs: list[str] = []

    async def request(self, method: str, path: str, *args, **kw):  # type: ignore[no-untyped-def]
        if "/leases" in path:
            self.verbs.append(method)
        return await super().request(method, path, *args, **kw)


def test_lease_renewals_put_the_held_lease_without_a_get(cluster) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with CountingClient(load_kubeconfig(cluster.kubeconfig)) as client:
            name = f"lease-node-{random.randrange(1 << 30)}"
            agent = nodestatus.NodeAgent(client, name, "127.0.0.1", 10250, "hollow://0",
                                         nodestatus.capacity())  # fmt: skip
            t = datetime(2026, 1, 1, tzinfo=UTC)
            await agent.register_with_api_server(lambda: t)  # the Lease is owned by its Node
            first = await agent.renew_lease(t)
            assert client.verbs == ["GET", "POST"]  # ensureLease: not found, so created
            second = await agent.renew_lease(t + timedelta(seconds=10))
            assert client.verbs[2:] == ["PUT"]
            assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
            # Someone else wrote the Lease: the PUT conflicts, ensureLease takes it again.
            spec = msgspec.structs.replace(second.spec, holder_identity="intruder")
            other = await client.resource(type(first)).update(
                msgspec.structs.replace(second, spec=spec))  # fmt: skip
            assert other.metadata.resource_version != second.metadata.resource_version
            third = await agent.renew_lease(t + timedelta(seconds=20))
            # the intruder's PUT, ours refused with a conflict, then ensureLease's GET + PUT
            assert client.verbs[3:] == ["PUT", "PUT", "GET", "PUT"]
            assert third.spec.holder_identity == name
            assert third.spec.renew_time.second == 20
            await client.resource(type(first)).delete(name, nodestatus.NODE_LEASE_NAMESPACE)
            await client.resource(v1.Node).delete(name)

    asyncio.run(scenario())
