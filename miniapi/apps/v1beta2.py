"""Deployment and ReplicaSet in apps/v1beta2, served beside apps/v1 and stored as apps/v1.

Mirrors k8s.io/api/apps/v1beta2/types.go (Deployment, DeploymentSpec, DeploymentList,
ReplicaSet, ReplicaSetSpec, ReplicaSetList and the DeprecatedRollbackTo annotation). The
field layout is apps/v1's; what differs is the group version, and that a v1beta2 object
reaches v1 only through the internal version.
Omitted: StatefulSet, DaemonSet, ControllerRevision and Scale of v1beta2; the nested
strategy and status structs are apps/v1's (their fields are identical upstream).
"""

from __future__ import annotations

from miniapi.apps.v1 import DeploymentStatus, DeploymentStrategy, ReplicaSetStatus
from miniapi.base import Struct, field
from miniapi.core.v1 import PodTemplateSpec
from miniapi.meta.v1 import LabelSelector, ListMeta, ObjectMeta

__all__ = [
    "DEPRECATED_ROLLBACK_TO",
    "Deployment",
    "DeploymentList",
    "DeploymentSpec",
    "ReplicaSet",
    "ReplicaSetList",
    "ReplicaSetSpec",
]

DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to"


class DeploymentSpec(Struct, frozen=True, kw_only=True):
    """Desired replicas of a pod template, and how to roll out changes."""

    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec = field(default_factory=PodTemplateSpec)
    strategy: DeploymentStrategy = field(default_factory=DeploymentStrategy)
    min_ready_seconds: int = 0
    revision_history_limit: int | None = None
    paused: bool = False
    progress_deadline_seconds: int | None = None


class Deployment(Struct, frozen=True, kw_only=True):
    """A Deployment as apps/v1beta2 clients see it."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: DeploymentSpec = field(default_factory=DeploymentSpec)
    status: DeploymentStatus = field(default_factory=DeploymentStatus)


class DeploymentList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of deployments."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Deployment] = []


class ReplicaSetSpec(Struct, frozen=True, kw_only=True):
    """Keep `replicas` pods matching selector, stamped from template."""

    replicas: int | None = None
    min_ready_seconds: int = 0
    selector: LabelSelector | None = None
    template: PodTemplateSpec = field(default_factory=PodTemplateSpec)


class ReplicaSet(Struct, frozen=True, kw_only=True):
    """A ReplicaSet as apps/v1beta2 clients see it."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: ReplicaSetSpec = field(default_factory=ReplicaSetSpec)
    status: ReplicaSetStatus = field(default_factory=ReplicaSetStatus)


class ReplicaSetList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of replica sets."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[ReplicaSet] = []
