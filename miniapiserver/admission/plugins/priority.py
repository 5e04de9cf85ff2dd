"""Priority: a pod's priority comes from its PriorityClass, never from the pod itself.

Mirrors kubernetes/plugin/pkg/admission/priority/admission.go (Plugin.Admit: admitPod on
pod CREATE resolves spec.priorityClassName, or the globalDefault class when it is empty,
into spec.priority and spec.preemptionPolicy; a pod that already carries a different
value is 403; on UPDATE the old values are kept. Plugin.Validate: validatePriorityClass
refuses a second globalDefault class). The classes are read from the watch cache with a
live read of etcd when a name is missing (the informer lister upstream); the default is
chosen among a live list, so a class created just before the pod is seen.
Omitted: nothing of the plugin's rules (the subresource and group checks included).
"""

from __future__ import annotations

from typing import Any

from miniapi import errors
from miniapi.scheduling import v1 as schedulingv1
from miniapiserver.admission.attributes import CREATE, UPDATE, Attributes, new_forbidden
from miniapiserver.admission.chain import Plugin
from miniapiserver.registry.store import RegistryStore
from miniapiserver.storage.interfaces import SelectionPredicate

PLUGIN_NAME = "Priority"


def default_priority_class(classes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """getDefaultPriorityClass: the globalDefault class (the lowest value if a race made two)."""
    best = None
    for pc in classes:
        if pc.get("globalDefault") and (best is None or best.get("value", 0) > pc.get("value", 0)):
            best = pc
    return best


def resolve(
    class_name: str, found: dict[str, Any] | None, default: dict[str, Any] | None
) -> tuple[str, int, str | None]:
    """establishPriority: (class name, priority, preemptionPolicy) of a new pod.

    found is the named class (None when the name is empty or unknown), default the
    globalDefault class; with neither, priority 0 preempting lower priorities.
    """
    if class_name:
        assert found is not None
        return class_name, int(found.get("value", 0)), found.get("preemptionPolicy")
    if default is not None:
        return (
            default["metadata"]["name"],
            int(default.get("value", 0)),
            default.get("preemptionPolicy"),
        )
    return (
        "",
        schedulingv1.DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS,
        schedulingv1.PREEMPT_LOWER_PRIORITY,
    )


def apply_to_pod(
    a: Attributes, spec: dict[str, Any], name: str, value: int, policy: str | None
) -> None:
    """The rest of admitPod's CREATE branch: refuse differing values, then set them."""
    given = spec.get("priority")
    if given is not None and given != value:
        raise new_forbidden(
            a,
            f"the integer value of priority ({given}) must not be provided in pod spec; "
            f"priority admission controller computed {value} from the given PriorityClass name",
        )
    if name:
        spec["priorityClassName"] = name
    spec["priority"] = value
    if policy is not None:
        given_policy = spec.get("preemptionPolicy")
        if given_policy is not None and given_policy != policy:
            raise new_forbidden(
                a,
                f"the string value of PreemptionPolicy ({given_policy}) must not be provided "
                f"in pod spec; priority admission controller computed {policy} from the given "
                "PriorityClass name",
            )
        spec["preemptionPolicy"] = policy


def keep_on_update(spec: dict[str, Any], old_spec: dict[str, Any]) -> None:
    """admitPod's UPDATE branch: values set at create survive an update that omits them."""
    for key in ("priority", "preemptionPolicy"):
        if spec.get(key) is None and old_spec.get(key) is not None:
            spec[key] = old_spec[key]


def new_plugin(classes: RegistryStore) -> Plugin:
    async def get_class(name: str) -> dict[str, Any] | None:
        key = classes.key("", name)
        found = classes.cacher.cache.get(key)
        return found or await classes.storage.get(key, ignore_not_found=True)

    async def list_classes() -> list[dict[str, Any]]:
        listed = await classes.storage.get_list(classes.collection_key(""), SelectionPredicate())
        return list(listed.items)

    async def admit(a: Attributes) -> None:
        if a.subresource or (a.group, a.resource) != ("", "pods"):
            return
        if not isinstance(a.object, dict):
            raise errors.new_bad_request(
                "resource was marked with kind Pod but was unable to be converted"
            )
        spec = a.object.setdefault("spec", {})
        if a.operation == UPDATE:
            keep_on_update(spec, (a.old_object or {}).get("spec") or {})
            return
        name = spec.get("priorityClassName") or ""
        found = await get_class(name) if name else None
        if name and found is None:
            raise new_forbidden(a, f"no PriorityClass with name {name} was found")
        default = None if name else default_priority_class(await list_classes())
        apply_to_pod(a, spec, *resolve(name, found, default))

    async def validate(a: Attributes) -> None:
        if a.subresource or (a.group, a.resource) != ("scheduling.k8s.io", "priorityclasses"):
            return
        pc = a.object or {}
        if not pc.get("globalDefault"):
            return
        existing = default_priority_class(await list_classes())
        if existing is None:
            return
        mine = pc.get("metadata", {}).get("name")
        if a.operation == CREATE or existing["metadata"]["name"] != mine:
            raise new_forbidden(
                a,
                f"PriorityClass {existing['metadata']['name']} is already marked as default. "
                "Only one default can exist",
            )

    return Plugin(PLUGIN_NAME, frozenset({CREATE, UPDATE}), admit=admit, validate=validate)
