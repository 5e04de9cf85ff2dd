"""What an admission plugin is told about one write.

Mirrors k8s.io/apiserver/pkg/admission/interfaces.go (Attributes, Operation) and
attributes.go (attributesRecord), plus errors.go's NewForbidden: the name in a
plugin's 403 is the object's name, or its generateName before one is generated.
Objects are the JSON-shaped dicts the registry writes; a mutating plugin changes
`object` in place or replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from miniapi import errors
from miniapi.runtime import GroupResource
from miniapiserver.auth.authn import UserInfo

CREATE = "CREATE"
UPDATE = "UPDATE"
DELETE = "DELETE"
CONNECT = "CONNECT"

Obj = dict[str, Any]


@dataclass
class Attributes:
    """attributesRecord: the request's operation, target, objects and user."""

    operation: str
    group: str
    version: str
    kind: str
    resource: str
    subresource: str
    namespace: str
    name: str
    object: Obj | None
    old_object: Obj | None
    user: UserInfo
    dry_run: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.resource)

    def is_namespace(self) -> bool:
        return self.group == "" and self.kind == "Namespace"


def new_forbidden(a: Attributes, message: str) -> errors.StatusError:
    """admission.NewForbidden: `<resource> "<name>" is forbidden: <message>`."""
    name = "Unknown"
    meta = (a.object or {}).get("metadata") or {}
    if a.object is not None:
        name = meta.get("name") or meta.get("generateName") or name
    return errors.new_forbidden(a.group_resource, name, message)
