"""LimitRanger: container resource defaults and bounds from the namespace's LimitRanges.

Mirrors kubernetes/plugin/pkg/admission/limitranger/admission.go (SupportsAttributes:
pods on create only, no subresources; Admit: defaultContainerResourceRequirements and
mergePodResourceRequirements, recording what it set in the kubernetes.io/limit-ranger
annotation; Validate: minConstraint, maxConstraint, limitRequestRatioConstraint for each
container, every violation aggregated into one 403) and SetDefaults_LimitRangeItem
(a Container item's default falls back to max, its defaultRequest to default, then min).
LimitRanges come from the API server's watch cache.
Omitted: "Pod"-type items (sums over the containers) and PersistentVolumeClaim items,
the in-place resize subresource.
"""

from __future__ import annotations

from typing import Any

from miniapi.resource import Quantity, parse_quantity
from miniapiserver.admission.attributes import CREATE, Attributes, new_forbidden
from miniapiserver.admission.chain import Plugin
from miniapiserver.registry.store import RegistryStore

PLUGIN_NAME = "LimitRanger"
ANNOTATION = "kubernetes.io/limit-ranger"
CONTAINER = "Container"
MAX_MILLI_VALUE = (1 << 63) // 1000  # resource.MaxMilliValue


def item_with_defaults(item: dict[str, Any]) -> dict[str, Any]:
    """SetDefaults_LimitRangeItem for a Container item."""
    item = dict(item)
    if item.get("type") == CONTAINER:
        default = {**(item.get("max") or {}), **(item.get("default") or {})}
        request = {**(item.get("min") or {}), **default, **(item.get("defaultRequest") or {})}
        item["default"], item["defaultRequest"] = default, request
    return item


def container_items(limit_ranges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        item_with_defaults(i)
        for lr in limit_ranges
        for i in (lr.get("spec") or {}).get("limits") or []
        if i.get("type") == CONTAINER
    ]


def _merge(container: dict[str, Any], default: dict[str, str], request: dict[str, str]) -> str:
    """mergeContainerResources: fill what the container leaves unset; say what was set."""
    res = container.setdefault("resources", {})
    limits, requests = res.setdefault("limits", {}), res.setdefault("requests", {})
    set_requests = sorted(k for k in request if k not in requests)
    set_limits = sorted(k for k in default if k not in limits)
    for k in set_requests:
        requests[k] = request[k]
    for k in set_limits:
        limits[k] = default[k]
    notes = []
    if set_requests:
        notes.append(f"{', '.join(set_requests)} request for container {container.get('name')}")
    if set_limits:
        notes.append(f"{', '.join(set_limits)} limit for container {container.get('name')}")
    return "; ".join(notes)


def mutate_pod(pod: dict[str, Any], limit_ranges: list[dict[str, Any]]) -> None:
    """PodMutateLimitFunc: the Container items' defaults merged into every container."""
    default: dict[str, str] = {}
    request: dict[str, str] = {}
    for item in container_items(limit_ranges):
        request.update(item["defaultRequest"])
        default.update(item["default"])
    if not default and not request:
        return
    spec = pod.setdefault("spec", {})
    notes = [_merge(c, default, request) for c in spec.get("initContainers") or []]
    notes += [_merge(c, default, request) for c in spec.get("containers") or []]
    notes = [n for n in notes if n]
    if notes:
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _values(req: Quantity | None, lim: Quantity | None, enforced: Quantity) -> tuple[int, int, int]:
    """requestLimitEnforcedValues: milli-units unless the bound is too big for them."""
    qs = [req or Quantity(), lim or Quantity(), enforced]
    if enforced.value() > MAX_MILLI_VALUE:
        return qs[0].value(), qs[1].value(), qs[2].value()
    return qs[0].milli_value(), qs[1].milli_value(), qs[2].milli_value()


def _check(
    kind: str, name: str, bound: Quantity, req: Quantity | None, lim: Quantity | None
) -> str:
    """One constraint (min, max or maxLimitRequestRatio) on one resource; "" when met."""
    req_v, lim_v, bound_v = _values(req, lim, bound)
    what = f"{name} usage per {CONTAINER} is {bound}"
    if kind == "min":
        if req is None:
            return f"minimum {what}.  No request is specified"
        if req_v < bound_v:
            return f"minimum {what}, but request is {req}"
        return f"minimum {what}, but limit is {lim}" if lim is not None and lim_v < bound_v else ""
    if kind == "max":
        if lim is None:
            return f"maximum {what}.  No limit is specified"
        if lim_v > bound_v:
            return f"maximum {what}, but limit is {lim}"
        return (
            f"maximum {what}, but request is {req}" if req is not None and req_v > bound_v else ""
        )
    ratio = f"{name} max limit to request ratio per {CONTAINER} is {bound}"
    if req is None or req.is_zero():
        return f"{ratio}, but no request is specified or request is 0"
    if lim is None or lim.is_zero():
        return f"{ratio}, but no limit is specified or limit is 0"
    observed = lim.milli_value() / req.milli_value()
    return (
        f"{ratio}, but provided ratio is {observed:f}"
        if observed * 1000 > bound.milli_value()
        else ""
    )


def validate_pod(pod: dict[str, Any], limit_ranges: list[dict[str, Any]]) -> list[str]:
    """PodValidateLimitFunc for Container items: every violation, in order."""
    errs: list[str] = []
    spec = pod.get("spec") or {}
    for item in container_items(limit_ranges):
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            res = c.get("resources") or {}
            for kind, field in (("min", "min"), ("max", "max"), ("ratio", "maxLimitRequestRatio")):
                for name, bound in sorted((item.get(field) or {}).items()):
                    req, lim = (
                        (res.get("requests") or {}).get(name),
                        (res.get("limits") or {}).get(name),
                    )
                    err = _check(
                        kind, name, parse_quantity(str(bound)),
                        parse_quantity(str(req)) if req is not None else None,
                        parse_quantity(str(lim)) if lim is not None else None,
                    )  # fmt: skip
                    if err:
                        errs.append(err)
    return errs


def aggregate(errs: list[str]) -> str:
    """utilerrors.NewAggregate's message: one error as is, more in brackets."""
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"


def new_plugin(limit_ranges: RegistryStore) -> Plugin:
    def ranges(namespace: str) -> list[dict[str, Any]]:
        return limit_ranges.cacher.cache.list(limit_ranges.collection_key(namespace))

    def supports(a: Attributes) -> bool:
        return a.group == "" and a.resource == "pods" and not a.subresource and a.object is not None

    async def admit(a: Attributes) -> None:
        if supports(a):
            mutate_pod(a.object, ranges(a.namespace))  # type: ignore[arg-type]

    async def validate(a: Attributes) -> None:
        if supports(a):
            errs = validate_pod(a.object, ranges(a.namespace))  # type: ignore[arg-type]
            if errs:
                raise new_forbidden(a, aggregate(errs))

    return Plugin(PLUGIN_NAME, frozenset({CREATE}), admit=admit, validate=validate)
