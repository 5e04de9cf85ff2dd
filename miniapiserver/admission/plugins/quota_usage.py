"""What one object costs against a ResourceQuota, and whether a quota covers it.

Mirrors kubernetes/pkg/quota/v1/evaluator/core/pods.go (PodUsageFunc: pods and count/pods,
requests.*/limits.* and the bare cpu/memory names, containers summed and init containers
maxed, terminal pods free; Constraints: a quota on cpu or memory makes every container
name that resource; podMatchesScopeFunc for Terminating, NotTerminating, BestEffort,
NotBestEffort and PriorityClass), apiserver/pkg/quota/v1/generic/evaluator.go (the
object-count evaluator: count/<resource>[.<group>], plus the legacy bare names of
core/v1 objects) and apiserver/pkg/quota/v1/resources.go (Add, Mask, LessThanOrEqual).
Pure: objects and quotas are dicts, quantities miniapi's.
Omitted: services.nodeports / services.loadbalancers, persistentvolumeclaims' storage,
pod overhead, extended resources and hugepages.
"""

from __future__ import annotations

from typing import Any

from miniapi.resource import Quantity, parse_quantity

Obj = dict[str, Any]
Usage = dict[str, Quantity]

ONE = parse_quantity("1")
# Core kinds whose count quota also has a bare name (resources.go's legacy names).
LEGACY_COUNT_NAMES = (
    "configmaps", "persistentvolumeclaims", "replicationcontrollers", "resourcequotas",
    "secrets", "services",
)  # fmt: skip
COMPUTE = ("cpu", "memory", "ephemeral-storage")
VALIDATION_SET = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
POD_SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass")


def count_name(group: str, resource: str) -> str:
    """ObjectCountQuotaResourceNameFor: count/<resource> or count/<resource>.<group>."""
    return f"count/{resource}" if not group else f"count/{resource}.{group}"


def quantity(value: Any) -> Quantity:
    return value if isinstance(value, Quantity) else parse_quantity(str(value))


def add(a: Usage, b: Usage) -> Usage:
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k].add(v) if k in out else v
    return out


def _resources(pod: Obj, kind: str) -> Usage:
    """PodRequests / PodLimits: containers summed, then each init container as a floor."""
    spec = pod.get("spec") or {}
    total: Usage = {}
    for c in spec.get("containers") or []:
        part = ((c.get("resources") or {}).get(kind)) or {}
        total = add(total, {k: quantity(v) for k, v in part.items() if k in COMPUTE})
    for c in spec.get("initContainers") or []:
        part = ((c.get("resources") or {}).get(kind)) or {}
        for k, v in part.items():
            if k in COMPUTE and (k not in total or quantity(v).cmp(total[k]) > 0):
                total[k] = quantity(v)
    return total


def _compute_usage(requests: Usage, limits: Usage) -> Usage:
    """podComputeUsageHelper: pods=1 plus request, bare and limit names."""
    usage: Usage = {"pods": ONE}
    for k, v in requests.items():
        usage[f"requests.{k}"] = v
        if k in ("cpu", "memory"):
            usage[k] = v
    for k, v in limits.items():
        usage[f"limits.{k}"] = v
    return usage


def usage(group: str, resource: str, obj: Obj) -> Usage:
    """Evaluator.Usage of one new object."""
    out: Usage = {count_name(group, resource): ONE}
    if group == "" and resource in LEGACY_COUNT_NAMES:
        out[resource] = ONE
    if group == "" and resource == "pods":
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return out  # terminal pods keep only their object count
        out = add(out, _compute_usage(_resources(obj, "requests"), _resources(obj, "limits")))
    return out


def constraints(required: list[str], pod: Obj) -> str:
    """podEvaluator.Constraints: "" or "must specify <res> for: <containers>; ..."."""
    wanted = sorted(set(required) & set(VALIDATION_SET))
    missing: dict[str, list[str]] = {}
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        res = c.get("resources") or {}
        have = _compute_usage(
            {k: quantity(v) for k, v in (res.get("requests") or {}).items()},
            {k: quantity(v) for k, v in (res.get("limits") or {}).items()},
        )
        for r in wanted:
            if r not in have:
                missing.setdefault(r, []).append(c.get("name", ""))
    if not missing:
        return ""
    parts = [f"{r} for: {','.join(sorted(set(names)))}" for r, names in sorted(missing.items())]
    return "must specify " + "; ".join(parts)


def _is_best_effort(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        res = c.get("resources") or {}
        if any(
            k in ("cpu", "memory") for k in (res.get("requests") or {}) | (res.get("limits") or {})
        ):
            return False
    return True


def _scope_matches(req: dict[str, Any], pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    name, op = req.get("scopeName", ""), req.get("operator", "Exists")
    if name == "Terminating":
        return (spec.get("activeDeadlineSeconds") or -1) >= 0
    if name == "NotTerminating":
        return (spec.get("activeDeadlineSeconds") or -1) < 0
    if name in ("BestEffort", "NotBestEffort"):
        return _is_best_effort(pod) == (name == "BestEffort")
    if name == "PriorityClass":
        pc = spec.get("priorityClassName", "")
        return {"In": pc in (req.get("values") or []), "NotIn": pc not in (req.get("values") or []),
                "Exists": pc != "", "DoesNotExist": pc == ""}.get(op, False)  # fmt: skip
    return False


def scope_selectors(quota: Obj) -> list[dict[str, Any]]:
    """getScopeSelectorsFromQuota: spec.scopes as Exists requirements, plus scopeSelector."""
    spec = quota.get("spec") or {}
    reqs = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or []]
    return reqs + list(((spec.get("scopeSelector") or {}).get("matchExpressions")) or [])


def matches(quota: Obj, group: str, resource: str, obj: Obj) -> bool:
    """Evaluator.Matches: every scope must match (and only pods have scopes)."""
    selectors = scope_selectors(quota)
    if not selectors:
        return True
    if (group, resource) != ("", "pods"):
        return False
    return all(_scope_matches(r, obj) for r in selectors)


def pretty(u: Usage) -> str:
    """prettyPrint: name=value, sorted, comma-separated."""
    return ",".join(f"{k}={v}" for k, v in sorted(u.items()))
