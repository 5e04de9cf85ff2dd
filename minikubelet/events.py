"""Posting the kubelet's pod events (Pulled, Created, Started, Killing, BackOff, Unhealthy).

Mirrors k8s.io/client-go/tools/record (EventRecorder: an Event named
<object>.<unique suffix> in the object's namespace, source component "kubelet" and
the node as host, count 1, first and last timestamps) and the reasons in
pkg/kubelet/events/event.go.
Omitted: the correlator that aggregates repeats into a count, events/v1 series.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from miniapi import errors
from miniapi.core import v1
from miniapi.meta import v1 as metav1
from miniapi.meta.v1.time import truncate_to_second
from miniclient.rest import Client

log = logging.getLogger("minikubelet.events")

PULLED, CREATED, STARTED, KILLING = "Pulled", "Created", "Started", "Killing"
BACK_OFF, UNHEALTHY, FAILED = "BackOff", "Unhealthy", "Failed"


class EventRecorder:
    def __init__(self, client: Client, node: str) -> None:
        self.events = client.resource(v1.Event)
        self.node = node

    async def event(self, pod: v1.Pod, kind: str, reason: str, message: str) -> None:
        now = truncate_to_second(datetime.now(UTC))
        m = pod.metadata
        ev = v1.Event(
            metadata=metav1.ObjectMeta(name=f"{m.name}.{secrets.token_hex(8)}", namespace=m.namespace),
            involved_object=v1.ObjectReference(kind="Pod", namespace=m.namespace, name=m.name,
                                               uid=m.uid, api_version="v1"),
            reason=reason, message=message, type=kind, count=1, first_timestamp=now,
            last_timestamp=now, source=v1.EventSource(component="kubelet", host=self.node),
            reporting_component="kubelet", reporting_instance=self.node,
        )  # fmt: skip
        try:
            await self.events.create(ev)
        except errors.StatusError as err:  # events are best effort, as in client-go
            log.debug("event %s for %s dropped: %s", reason, m.name, err)
