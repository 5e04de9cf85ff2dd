"""The garbage collector (pkg/controller/garbagecollector)."""

from minicontroller.garbagecollector.garbagecollector import GarbageCollector

__all__ = ["GarbageCollector"]
