"""Server-side printing: objects -> a meta.k8s.io/v1 Table.

Mirrors k8s.io/apiserver/pkg/registry/rest/table.go (the default convertor:
Name and Created At) and kubernetes/pkg/printers/tablegenerator.go (rows
with cells and the object as PartialObjectMetadata, per includeObject), with
the per-kind columns of printers/columns.py and
k8s.io/apimachinery/pkg/util/duration (HumanDuration, for the Age column).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from miniapi.runtime import ResourceInfo
from miniapiserver.printers import columns

META_API_VERSION = "meta.k8s.io/v1"


def human_duration(seconds: float) -> str:
    """duration.HumanDuration: the short ages kubectl shows (5s, 3m20s, 5h, 12d)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def age(ts: str | None, now: datetime) -> str:
    """translateTimestampSince: "<unknown>" for a missing timestamp."""
    t = _parse(ts)
    if t is None:
        return "<unknown>"
    return human_duration((now - t).total_seconds())


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "Object":
        return obj
    if include == "None":
        return None
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": META_API_VERSION,
        "metadata": obj.get("metadata", {}),
    }


def to_table(
    info: ResourceInfo,
    items: list[dict[str, Any]],
    list_meta: dict[str, Any],
    include_object: str = "Metadata",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A Table with the kind's columns; includeObject is None, Metadata (default) or Object."""
    now = now or datetime.now(UTC)
    include = include_object if include_object in ("None", "Object") else "Metadata"
    # A custom resource carries its CRD's additionalPrinterColumns (apiextensions/crdinfo.py).
    defs, printer = getattr(info, "table", None) or columns.for_kind(info.gvk.kind)
    rows = []
    for obj in items:
        row: dict[str, Any] = {"cells": printer(obj, now, age)}
        ro = _row_object(obj, include)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    column_defs = [
        {"name": n, "type": t, "format": f, "description": d, "priority": p}
        for n, t, f, d, p in defs
    ]
    return {
        "kind": "Table",
        "apiVersion": META_API_VERSION,
        "metadata": dict(list_meta),
        "columnDefinitions": column_defs,
        "rows": rows,
    }
