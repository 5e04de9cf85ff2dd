"""An EventRecorder: components tell users what they did through core/v1 Events.

Mirrors k8s.io/client-go/tools/record (event.go: EventRecorder.Eventf and the
broadcaster's sink; the Event is named `<object>.<unix nanoseconds in
hex>` in the object's namespace) and reference.GetReference (the involved
object's kind and apiVersion come from the scheme). `kubectl describe` lists
these under "Events:".
Best effort, as upstream: a failed post is logged at debug and dropped, never
raised into the controller's sync. Omitted: the correlator that merges
repeats into one Event with a count, rate limiting, events.k8s.io/v1 series.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from miniapi import errors
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniapi.scheme import with_type_meta
from miniclient.rest import Client

__all__ = ["EVENT_TYPE_NORMAL", "EVENT_TYPE_WARNING", "EventRecorder"]

log = logging.getLogger("miniclient.record")

EVENT_TYPE_NORMAL = "Normal"
EVENT_TYPE_WARNING = "Warning"


def get_reference(obj: Any) -> corev1.ObjectReference:
    """reference.GetReference: who the Event is about."""
    typed = with_type_meta(obj)
    m = obj.metadata
    return corev1.ObjectReference(
        kind=typed.kind,
        api_version=typed.api_version,
        namespace=m.namespace,
        name=m.name,
        uid=m.uid,
        resource_version=m.resource_version,
    )


class EventRecorder:
    """record.EventRecorder for one component (source.component) on one host."""

    def __init__(self, client: Client, component: str, host: str = "") -> None:
        self.events = client.resource(corev1.Event)
        self.component = component
        self.host = host

    async def eventf(self, obj: Any, event_type: str, reason: str, fmt: str, *args: Any) -> None:
        """Eventf with Python's %-formatting, which matches Go's %s/%d for these uses."""
        await self.event(obj, event_type, reason, fmt % args if args else fmt)

    async def event(
        self, obj: Any, event_type: str, reason: str, message: str, action: str = ""
    ) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        ref = get_reference(obj)
        namespace = ref.namespace or metav1.NAMESPACE_DEFAULT
        ev = corev1.Event(
            metadata=metav1.ObjectMeta(name=f"{ref.name}.{time.time_ns():x}", namespace=namespace),
            involved_object=ref,
            reason=reason,
            message=message,
            type=event_type,
            count=1,
            first_timestamp=now,
            last_timestamp=now,
            source=corev1.EventSource(component=self.component, host=self.host),
            reporting_component=self.component,
            reporting_instance=self.host,
            action=action,
        )
        try:
            await self.events.create(ev)
        except (errors.StatusError, OSError) as err:
            log.debug("event %s for %s dropped: %s", reason, ref.name, err)
