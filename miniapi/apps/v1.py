"""Deployment and ReplicaSet (apps/v1).

Mirrors k8s.io/api/apps/v1/types.go (Deployment, DeploymentSpec,
DeploymentStrategy, RollingUpdateDeployment, DeploymentStatus,
DeploymentCondition, ReplicaSet, ReplicaSetSpec, ReplicaSetStatus,
ReplicaSetCondition and the lists). maxSurge/maxUnavailable are IntOrString
upstream, `int | str` here ("25%").
Omitted: StatefulSet, DaemonSet, ControllerRevision.
"""

from __future__ import annotations

from datetime import datetime

from miniapi.base import Struct, field
from miniapi.core.v1 import PodTemplateSpec
from miniapi.meta.v1 import LabelSelector, ListMeta, ObjectMeta

__all__ = [
    "Deployment",
    "DeploymentCondition",
    "DeploymentList",
    "DeploymentSpec",
    "DeploymentStatus",
    "DeploymentStrategy",
    "ReplicaSet",
    "ReplicaSetCondition",
    "ReplicaSetList",
    "ReplicaSetSpec",
    "ReplicaSetStatus",
    "RollingUpdateDeployment",
    "RECREATE_DEPLOYMENT_STRATEGY",
    "ROLLING_UPDATE_DEPLOYMENT_STRATEGY",
    "DEPLOYMENT_AVAILABLE",
    "DEPLOYMENT_PROGRESSING",
    "DEPLOYMENT_REPLICA_FAILURE",
    "REPLICA_SET_REPLICA_FAILURE",
    "DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY",
]

RECREATE_DEPLOYMENT_STRATEGY = "Recreate"
ROLLING_UPDATE_DEPLOYMENT_STRATEGY = "RollingUpdate"
DEPLOYMENT_AVAILABLE = "Available"
DEPLOYMENT_PROGRESSING = "Progressing"
DEPLOYMENT_REPLICA_FAILURE = "ReplicaFailure"
REPLICA_SET_REPLICA_FAILURE = "ReplicaFailure"
DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY = "pod-template-hash"


class RollingUpdateDeployment(Struct, frozen=True, kw_only=True):
    """How many pods may be missing or extra during a rolling update."""

    max_unavailable: int | str | None = None
    max_surge: int | str | None = None


class DeploymentStrategy(Struct, frozen=True, kw_only=True):
    """Recreate or RollingUpdate."""

    type: str = ""
    rolling_update: RollingUpdateDeployment | None = None


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


class DeploymentCondition(Struct, frozen=True, kw_only=True):
    """Available, Progressing or ReplicaFailure."""

    type: str = ""
    status: str = ""
    last_update_time: datetime | None = None
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


class DeploymentStatus(Struct, frozen=True, kw_only=True):
    """Observed replica counts and conditions."""

    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    terminating_replicas: int | None = None
    conditions: list[DeploymentCondition] = []
    collision_count: int | None = None


class Deployment(Struct, frozen=True, kw_only=True):
    """Declarative updates for pods through ReplicaSets."""

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


class ReplicaSetCondition(Struct, frozen=True, kw_only=True):
    """ReplicaFailure."""

    type: str = ""
    status: str = ""
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


class ReplicaSetStatus(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """Observed replica counts.

    Written in full: replicas has no omitempty upstream and clients require it.
    """

    replicas: int = 0
    fully_labeled_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    terminating_replicas: int | None = None
    observed_generation: int = 0
    conditions: list[ReplicaSetCondition] = []


class ReplicaSet(Struct, frozen=True, kw_only=True):
    """Keeps a stable set of replica pods running."""

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
