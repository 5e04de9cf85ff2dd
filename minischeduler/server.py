"""The running scheduler: informers in, bindings, events and pod status out.

Mirrors cmd/kube-scheduler/app/server.go (Run: informers, WaitForCacheSync,
sched.Run), scheduler.go (the ScheduleOne loop, flushBackoffQCompleted every
second, flushUnschedulablePodsLeftover every 30 s, cache cleanup) and the API side
of schedule_one.go: POST pods/<name>/binding (DefaultBinder), Events with reasons
Scheduled / FailedScheduling, the PodScheduled=False condition with reason
Unschedulable and status.nominatedNodeName (updatePod), DELETE of preemption victims.
The pure Scheduler decides; this adapter starts its requests after each decision in
background tasks (upstream's binding goroutine and event broadcaster), one pod's in
order, and reports a failed binding back (forget the assumed pod, requeue).
Leader election wraps `schedule` (see __main__.py).
Omitted: events.k8s.io/v1 (core/v1 Events are written), metrics.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

from miniapi import errors
from miniapi.base import replace
from miniapi.core.v1 import (
    Binding,
    Namespace,
    Node,
    ObjectReference,
    Pod,
    Service,
)
from miniapi.meta.v1 import ObjectMeta
from miniapi.scheme import to_json
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.informers import SharedInformerFactory
from miniclient.record import EventRecorder
from miniclient.rest import STRATEGIC_MERGE_PATCH, Client
from minischeduler.config import KubeSchedulerConfiguration
from minischeduler.framework.status import Status
from minischeduler.scheduler import Scheduler

COMPONENT = "default-scheduler"
MAX_IN_FLIGHT = 32  # pods whose API requests may be outstanding at once


def _terminal(pod: Pod) -> bool:
    return pod.status.phase in ("Succeeded", "Failed")


class SchedulerServer:
    def __init__(
        self,
        client: Client,
        cfg: KubeSchedulerConfiguration,
        seed: int | None = None,
        explain: bool = False,
    ) -> None:
        self.client = client
        self.recorder = EventRecorder(client, COMPONENT)
        self.pending: list = []  # API requests decided by the core, performed in order
        self.scheduler = Scheduler(
            cfg,
            random.Random(seed),
            time.monotonic,
            bind=self._bind,
            delete_pod=lambda pod: self.pending.append(("delete", pod)),
            record_event=lambda pod, typ, reason, msg: self.pending.append(
                ("event", pod, typ, reason, msg)
            ),
            update_status=lambda pod, reason, msg, nominated: self.pending.append(
                ("status", pod, reason, msg, nominated)
            ),
            # Recording every node's verdicts costs about as much as deciding: only when
            # /debug/explain is served.
            explain=explain,
        )
        self.factory = SharedInformerFactory(client)
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tails: dict[str, asyncio.Future] = {}  # pod uid -> its latest request task

    def _bind(self, pod: Pod, node: str) -> Status | None:
        self.pending.append(("bind", pod, node))
        return None

    def _wire_informers(self) -> None:
        s = self.scheduler
        pods = self.factory.for_resource(Pod)
        nodes = self.factory.for_resource(Node, namespaced=False)

        def pod_add(p: Pod) -> None:
            if not _terminal(p):
                s.on_pod_add(p)

        def pod_update(old: Pod, new: Pod) -> None:
            if _terminal(new):
                s.on_pod_delete(old)
            else:
                s.on_pod_update(old, new)

        pods.add_event_handler(ResourceEventHandlerFuncs(pod_add, pod_update, s.on_pod_delete))
        nodes.add_event_handler(
            ResourceEventHandlerFuncs(s.on_node_add, s.on_node_update, s.on_node_delete)
        )
        self.factory.for_resource(Namespace, namespaced=False).add_event_handler(
            ResourceEventHandlerFuncs(
                s.on_namespace, lambda old, new: s.on_namespace(new, old), s.on_namespace_delete
            )
        )
        self.factory.for_resource(Service).add_event_handler(
            ResourceEventHandlerFuncs(
                s.on_service, lambda old, new: s.on_service(new), s.on_service_delete
            )
        )

    def debug_explain(self, key: str) -> dict | None:
        """The /debug/explain body for namespace/name, or None."""
        from minischeduler.explain import explain_to_dict

        ex = self.scheduler.explanations.get(key)
        return explain_to_dict(ex) if ex else None

    async def start(self) -> None:
        """Start the informers and wait for their caches, as Run does before electing.

        A standby scheduler (leader election) keeps a warm cache this way, so it can
        schedule the moment it takes the lease.
        """
        self._wire_informers()
        self.factory.start()
        await self.factory.wait_for_cache_sync()

    async def shutdown(self) -> None:
        await self.drain()
        await self.factory.shutdown()

    async def schedule(self, stop: asyncio.Event) -> None:
        """sched.Run: ScheduleOne until stop, flushing the queues every second."""
        q = self.scheduler.queue
        last_flush = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now - last_flush >= 1.0:
                q.flush_backoff_q_completed()
                q.flush_unschedulable_pods_left_over()
                self.scheduler.cache.cleanup_assumed_pods(now)
                last_flush = now
            outcome = self.scheduler.schedule_one()
            await self.perform()
            # Yield every cycle: the informers and the requests in flight run meanwhile.
            await asyncio.sleep(0.05 if outcome is None else 0)

    async def run(self, stop: asyncio.Event) -> None:
        """Without leader election: start, then schedule until stop."""
        await self.start()
        try:
            await self.schedule(stop)
        finally:
            await self.shutdown()

    async def perform(self) -> None:
        """Start the requests the last decision asked for, without awaiting their answers.

        As upstream runs the binding cycle in a goroutine and sends events through an
        asynchronous broadcaster, the next pod is scheduled while these requests are in
        flight (at most MAX_IN_FLIGHT). One pod's requests keep their order: a pod's
        task waits for its previous one, and a failed bind drops that pod's event.
        """
        groups: dict[str, list] = {}
        for item in self.pending:
            groups.setdefault(item[1].metadata.uid, []).append(item)
        self.pending.clear()
        for uid, items in groups.items():
            await self._slots.acquire()
            task = asyncio.ensure_future(self._perform_in_order(items, self._tails.get(uid)))
            self._tails[uid] = task
            task.add_done_callback(lambda t, uid=uid: self._finished(uid, t))

    def _finished(self, uid: str, task: asyncio.Future) -> None:
        self._slots.release()
        if self._tails.get(uid) is task:
            del self._tails[uid]

    async def drain(self) -> None:
        """Wait for every request in flight (on shutdown or loss of leadership)."""
        while self._tails:
            await asyncio.gather(*self._tails.values(), return_exceptions=True)

    async def _perform_in_order(self, items: list, previous: asyncio.Future | None) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        failed = False
        for item, *args in items:
            if item == "bind":
                pod, node = args
                try:
                    await self._post_binding(pod, node)
                except (errors.StatusError, OSError, TimeoutError) as e:
                    failed = True
                    self._binding_failed(pod)
                    await self._event(pod, "Warning", "FailedScheduling", f"Binding rejected: {e}")
            elif item == "event":
                if not failed:
                    await self._event(*args)
            elif item == "status":
                await self._pod_condition(*args)
            elif item == "delete":
                try:
                    await self.client.resource(Pod).delete(
                        args[0].metadata.name, args[0].metadata.namespace
                    )
                except errors.StatusError:
                    pass  # already gone: the victim's deletion is what we wanted

    def _binding_failed(self, pod: Pod) -> None:
        """handleBindingCycleError: forget the assumed pod and queue it again."""
        if self.scheduler.cache.is_assumed_pod(pod):
            self.scheduler.cache.forget_pod(pod)
        self.scheduler.queue.add(replace(pod, spec=replace(pod.spec, node_name="")))

    async def _post_binding(self, pod: Pod, node: str) -> None:
        binding = Binding(
            api_version="v1",
            kind="Binding",
            metadata=ObjectMeta(
                name=pod.metadata.name, namespace=pod.metadata.namespace, uid=pod.metadata.uid
            ),
            target=ObjectReference(kind="Node", name=node),
        )
        path = self.client.resource(Pod).path(pod.metadata.namespace, pod.metadata.name, "binding")
        await self.client.request("POST", path, body=to_json(binding))

    async def _event(self, pod: Pod, typ: str, reason: str, msg: str) -> None:
        action = "Scheduling" if reason == "FailedScheduling" else "Binding"
        await self.recorder.event(pod, typ, reason, msg, action)

    async def _pod_condition(self, pod: Pod, reason: str, msg: str, nominated: str) -> None:
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        status: dict = {
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": reason,
                    "message": msg,
                    "lastTransitionTime": now,
                }
            ]
        }
        if nominated:
            status["nominatedNodeName"] = nominated
        try:
            await self.client.resource(Pod).patch(
                pod.metadata.name,
                {"status": status},
                STRATEGIC_MERGE_PATCH,
                pod.metadata.namespace,
                "status",
            )
        except errors.StatusError:
            pass  # the pod may be gone; the next attempt writes again
