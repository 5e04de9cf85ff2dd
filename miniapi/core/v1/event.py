"""Event (core/v1): a report of something that happened to an object.

Mirrors k8s.io/api/core/v1/types.go (Event, EventSource, EventSeries,
EventList). eventTime and series.lastObservedTime are MicroTime upstream
(microsecond precision); firstTimestamp/lastTimestamp are Time.
Omitted: the events.k8s.io/v1 variant of Event.
"""

from __future__ import annotations

from datetime import datetime

from miniapi.base import Struct, field
from miniapi.core.v1.common import ObjectReference
from miniapi.meta.v1 import ListMeta, MicroTime, ObjectMeta

__all__ = [
    "Event",
    "EventList",
    "EventSeries",
    "EventSource",
    "EVENT_TYPE_NORMAL",
    "EVENT_TYPE_WARNING",
]

EVENT_TYPE_NORMAL = "Normal"
EVENT_TYPE_WARNING = "Warning"


class EventSource(Struct, frozen=True, kw_only=True):
    """The component (and host) that reported the event."""

    component: str = ""
    host: str = ""


class EventSeries(Struct, frozen=True, kw_only=True):
    """A run of identical events, counted instead of repeated."""

    count: int = 0
    last_observed_time: MicroTime | None = None


class Event(Struct, frozen=True, kw_only=True):
    """Something that happened to involvedObject: reason, message, counts, times."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    involved_object: ObjectReference = field(default_factory=ObjectReference)
    reason: str = ""
    message: str = ""
    source: EventSource = field(default_factory=EventSource)
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    count: int = 0
    type: str = ""
    event_time: MicroTime | None = None
    series: EventSeries | None = None
    action: str = ""
    related: ObjectReference | None = None
    reporting_component: str = ""
    reporting_instance: str = ""


class EventList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of events."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Event] = []
