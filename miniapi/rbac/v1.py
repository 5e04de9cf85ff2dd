"""Role-based access control (rbac.authorization.k8s.io/v1).

Mirrors k8s.io/api/rbac/v1/types.go (PolicyRule, Subject, RoleRef, Role,
RoleBinding, ClusterRole, AggregationRule, ClusterRoleBinding and the lists).
The API server's authorizer evaluates these.
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1 import LabelSelector, ListMeta, ObjectMeta

__all__ = [
    "AggregationRule",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "ClusterRoleList",
    "PolicyRule",
    "Role",
    "RoleBinding",
    "RoleBindingList",
    "RoleList",
    "RoleRef",
    "Subject",
    "GROUP_NAME",
    "SERVICE_ACCOUNT_KIND",
    "USER_KIND",
    "GROUP_KIND",
    "VERB_ALL",
    "API_GROUP_ALL",
    "RESOURCE_ALL",
    "NON_RESOURCE_ALL",
]

GROUP_NAME = "rbac.authorization.k8s.io"
SERVICE_ACCOUNT_KIND = "ServiceAccount"
USER_KIND = "User"
GROUP_KIND = "Group"
VERB_ALL = "*"
API_GROUP_ALL = "*"
RESOURCE_ALL = "*"
NON_RESOURCE_ALL = "*"


class PolicyRule(Struct, frozen=True, kw_only=True):
    """Verbs allowed on resources of API groups, or on non-resource URLs."""

    verbs: list[str] = []
    api_groups: list[str] = []
    resources: list[str] = []
    resource_names: list[str] = []
    non_resource_urls: list[str] = field(default_factory=list, name="nonResourceURLs")


class Subject(Struct, frozen=True, kw_only=True):
    """A user, group or service account a binding grants to."""

    kind: str = ""
    api_group: str = ""
    name: str = ""
    namespace: str = ""


class RoleRef(Struct, frozen=True, kw_only=True):
    """The Role or ClusterRole a binding refers to."""

    api_group: str = ""
    kind: str = ""
    name: str = ""


class AggregationRule(Struct, frozen=True, kw_only=True):
    """ClusterRoles whose rules are merged into this one."""

    cluster_role_selectors: list[LabelSelector] = []


class Role(Struct, frozen=True, kw_only=True):
    """Namespaced rules."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    rules: list[PolicyRule] = []


class ClusterRole(Struct, frozen=True, kw_only=True):
    """Cluster-wide rules, possibly aggregated from other ClusterRoles."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    rules: list[PolicyRule] = []
    aggregation_rule: AggregationRule | None = None


class RoleBinding(Struct, frozen=True, kw_only=True):
    """Grants a Role (or ClusterRole) to subjects within a namespace."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    subjects: list[Subject] = []
    role_ref: RoleRef = field(default_factory=RoleRef)


class ClusterRoleBinding(Struct, frozen=True, kw_only=True):
    """Grants a ClusterRole to subjects cluster-wide."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    subjects: list[Subject] = []
    role_ref: RoleRef = field(default_factory=RoleRef)


class RoleList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of roles."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Role] = []


class ClusterRoleList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of cluster roles."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[ClusterRole] = []


class RoleBindingList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of role bindings."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[RoleBinding] = []


class ClusterRoleBindingList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of cluster role bindings."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[ClusterRoleBinding] = []
