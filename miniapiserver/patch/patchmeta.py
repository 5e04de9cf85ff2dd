"""Per-field patch strategies: the `patchStrategy`/`patchMergeKey` struct tags.

Mirrors k8s.io/apimachinery/pkg/util/strategicpatch/meta.go (LookupPatchMeta,
PatchMetaFromStruct) fed by the tags in k8s.io/api's types.go. Go reads the
tags by reflection; here they are one table: type name -> field -> (the field's
type, its strategy, its merge key). A field not in the table merges as a map
or is replaced as a list, which is also what upstream does for fields without
tags. Omitted: fields of alpha APIs.
"""

from __future__ import annotations

from dataclasses import dataclass

# type -> field -> (field type, strategy, merge key). Strategy "merge" merges a
# list; "retainKeys" only shapes patches that kubectl computes, so applying one
# merges a map as usual.
FIELDS: dict[str, dict[str, tuple[str, str, str]]] = {
    "ObjectMeta": {
        "finalizers": ("", "merge", ""),
        "ownerReferences": ("", "merge", "uid"),
    },
    "PodTemplateSpec": {"metadata": ("ObjectMeta", "", ""), "spec": ("PodSpec", "", "")},
    "PodSpec": {
        "volumes": ("", "merge", "name"),
        "initContainers": ("Container", "merge", "name"),
        "containers": ("Container", "merge", "name"),
        "ephemeralContainers": ("Container", "merge", "name"),
        "imagePullSecrets": ("", "merge", "name"),
        "hostAliases": ("", "merge", "ip"),
        "topologySpreadConstraints": ("", "merge", "topologyKey"),
        "schedulingGates": ("", "merge", "name"),
        "resourceClaims": ("", "merge", "name"),
    },
    "Container": {
        "ports": ("", "merge", "containerPort"),
        "env": ("", "merge", "name"),
        "volumeMounts": ("", "merge", "mountPath"),
        "volumeDevices": ("", "merge", "devicePath"),
    },
    "PodStatus": {
        "conditions": ("", "merge", "type"),
        "podIPs": ("", "merge", "ip"),
        "hostIPs": ("", "merge", "ip"),
    },
    "ServiceSpec": {"ports": ("", "merge", "port")},
    "ServiceAccount": {"secrets": ("", "merge", "name")},
    "NodeSpec": {"podCIDRs": ("", "merge", "")},
    "NodeStatus": {"conditions": ("", "merge", "type"), "addresses": ("", "merge", "type")},
    "NamespaceStatus": {"conditions": ("", "merge", "type")},
    "ConditionsStatus": {"conditions": ("", "merge", "type")},
    "WorkloadSpec": {
        "template": ("PodTemplateSpec", "", ""),
        "jobTemplate": ("JobTemplate", "", ""),
    },
    "JobTemplate": {"metadata": ("ObjectMeta", "", ""), "spec": ("WorkloadSpec", "", "")},
}

# kind -> the types of its top-level spec and status (metadata is ObjectMeta for all).
KINDS: dict[str, tuple[str, str]] = {
    "Pod": ("PodSpec", "PodStatus"),
    "PodTemplate": ("", ""),
    "Service": ("ServiceSpec", ""),
    "Node": ("NodeSpec", "NodeStatus"),
    "Namespace": ("", "NamespaceStatus"),
    "Deployment": ("WorkloadSpec", "ConditionsStatus"),
    "ReplicaSet": ("WorkloadSpec", "ConditionsStatus"),
    "StatefulSet": ("WorkloadSpec", "ConditionsStatus"),
    "DaemonSet": ("WorkloadSpec", "ConditionsStatus"),
    "ReplicationController": ("WorkloadSpec", "ConditionsStatus"),
    "Job": ("WorkloadSpec", "ConditionsStatus"),
    "CronJob": ("WorkloadSpec", ""),
}


@dataclass(frozen=True)
class PatchSchema:
    """LookupPatchMeta for one type: what to do with each of its fields."""

    name: str
    kind: str = ""

    def lookup(self, key: str) -> tuple[PatchSchema, str, str]:
        if self.kind:
            spec, status = KINDS.get(self.kind, ("", ""))
            child = {"metadata": "ObjectMeta", "spec": spec, "status": status}.get(key, "")
            if key == "template" and self.kind == "PodTemplate":
                child = "PodTemplateSpec"
            extra = FIELDS.get(self.kind, {}).get(key)
            if extra:
                return PatchSchema(extra[0]), extra[1], extra[2]
            return PatchSchema(child), "", ""
        child, strategy, merge_key = FIELDS.get(self.name, {}).get(key, ("", "", ""))
        return PatchSchema(child), strategy, merge_key


def schema_for_kind(kind: str) -> PatchSchema:
    return PatchSchema(kind, kind=kind)
