"""The kubelet's pod events (Pulled, Created, Started, Killing, BackOff, Unhealthy).

The reasons of pkg/kubelet/events/event.go, posted through miniclient.record (client-go's
EventRecorder) with the kubelet as source component and the node as host.
"""

from __future__ import annotations

from miniclient import record
from miniclient.rest import Client

PULLED, CREATED, STARTED, KILLING = "Pulled", "Created", "Started", "Killing"
BACK_OFF, UNHEALTHY, FAILED = "BackOff", "Unhealthy", "Failed"


class EventRecorder(record.EventRecorder):
    """client-go's recorder with the kubelet's source: component "kubelet", host = node."""

    def __init__(self, client: Client, node: str) -> None:
        super().__init__(client, "kubelet", node)
