"""ResourceQuota: refuse what would exceed a namespace's quotas, else charge it to them.

Mirrors kubernetes/staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/
controller.go (CheckRequest: the quotas whose scopes match, the resources they constrain,
"failed quota" when a container does not name a constrained cpu/memory, "status unknown
for quota" until status.hard and status.used are filled, "exceeded quota: <name>,
requested: ..., used: ..., limited: ..." when used + requested > hard, else the new
usage written to the quota's status with optimistic concurrency) and admission.go (the
validating phase, creates only here). Usage comes from quota_usage.py.
Usage only grows here: giving it back when objects go, and filling status.hard from
spec.hard, is the ResourceQuota controller's job in kube-controller-manager.
Omitted: updates (pod resize), LimitedResources configuration, the batching of
quota writes across concurrent requests.
"""

from __future__ import annotations

from typing import Any

from miniapi import errors
from miniapiserver.admission.attributes import CREATE, Attributes, new_forbidden
from miniapiserver.admission.chain import Plugin
from miniapiserver.admission.plugins import quota_usage as qu
from miniapiserver.registry.store import RegistryStore

PLUGIN_NAME = "ResourceQuota"
POD_RESOURCES = frozenset(
    {"pods", "count/pods", "cpu", "memory", "ephemeral-storage"}
    | {f"{p}.{r}" for p in ("requests", "limits") for r in ("cpu", "memory", "ephemeral-storage")}
)


def matching_resources(group: str, resource: str, hard: list[str]) -> list[str]:
    """Evaluator.MatchingResources: which of the quota's names this object can use."""
    known = {qu.count_name(group, resource)}
    if group == "" and resource in qu.LEGACY_COUNT_NAMES:
        known.add(resource)
    if (group, resource) == ("", "pods"):
        known |= POD_RESOURCES
    return sorted(n for n in hard if n in known)


def charge(quota: dict[str, Any], a: Attributes) -> qu.Usage | None:
    """CheckRequest for one quota: the new status.used, or None when it does not apply.

    Raises the 403 of a failed constraint, unknown status or exceeded quota.
    """
    obj = a.object or {}
    name = quota["metadata"]["name"]
    if not qu.matches(quota, a.group, a.resource, obj):
        return None
    status = quota.get("status") or {}
    hard = {k: qu.quantity(v) for k, v in (status.get("hard") or {}).items()}
    used = {k: qu.quantity(v) for k, v in (status.get("used") or {}).items()}
    restricted = matching_resources(a.group, a.resource, list(hard))
    if not restricted:
        return None
    if (a.group, a.resource) == ("", "pods"):
        err = qu.constraints(restricted, obj)
        if err:
            raise new_forbidden(a, f"failed quota: {name}: {err}")
    if any(r not in used for r in restricted):
        raise new_forbidden(
            a, f"status unknown for quota: {name}, resources: {','.join(restricted)}"
        )
    delta = {k: v for k, v in qu.usage(a.group, a.resource, obj).items() if not v.is_zero()}
    requested = {k: v for k, v in delta.items() if k in hard}
    if not requested:
        return None
    new_used = qu.add(used, requested)
    exceeded = sorted(k for k in requested if new_used[k].cmp(hard[k]) > 0)
    if exceeded:
        raise new_forbidden(
            a,
            f"exceeded quota: {name}, requested: {qu.pretty({k: requested[k] for k in exceeded})}, "
            f"used: {qu.pretty({k: used[k] for k in exceeded})}, "
            f"limited: {qu.pretty({k: hard[k] for k in exceeded})}",
        )
    return new_used


def new_plugin(quotas: RegistryStore) -> Plugin:
    async def validate(a: Attributes) -> None:
        if a.subresource or not a.namespace or a.object is None:
            return
        for cached in quotas.cacher.cache.list(quotas.collection_key(a.namespace)):
            if charge(cached, a) is None:
                continue
            if a.dry_run:
                continue  # a dry run is checked but not charged

            def updater(current: dict[str, Any] | None) -> dict[str, Any]:
                # Re-checked on the stored quota at each attempt of the optimistic loop.
                new_used = charge(current or {}, a) if current else None
                if current is not None and new_used is not None:
                    status = current.setdefault("status", {})
                    status["used"] = {
                        **status.get("used", {}),
                        **{k: str(v) for k, v in new_used.items()},
                    }
                return current or {}

            try:
                await quotas.update(
                    a.namespace, cached["metadata"]["name"], updater, subresource="status"
                )
            except errors.StatusError as e:
                if e.code != 404:
                    raise  # a quota deleted meanwhile no longer applies

    return Plugin(PLUGIN_NAME, frozenset({CREATE}), validate=validate)
