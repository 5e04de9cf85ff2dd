"""The internal (hub) versions of Deployment and ReplicaSet: what apps versions convert through.

Mirrors kubernetes/pkg/apis/apps/types.go (Deployment, DeploymentSpec with replicas as a
plain int and the deprecated RollbackTo, RollbackConfig, ReplicaSet, ReplicaSetSpec).
External versions (apps/v1, apps/v1beta2) never convert into each other directly; see
apps/conversion.py.
Omitted: the internal core types (the pod template, strategy and status reuse the
apps/v1 and core/v1 structs, whose fields are the same), StatefulSet, DaemonSet.
"""

from __future__ import annotations

from miniapi.apps.v1 import DeploymentStatus, DeploymentStrategy, ReplicaSetStatus
from miniapi.base import Struct, field
from miniapi.core.v1 import PodTemplateSpec
from miniapi.meta.v1 import LabelSelector, ObjectMeta

__all__ = ["Deployment", "DeploymentSpec", "ReplicaSet", "ReplicaSetSpec", "RollbackConfig"]


class RollbackConfig(Struct, frozen=True, kw_only=True):
    """The revision a deprecated rollback asked for (0: the last one)."""

    revision: int = 0


class DeploymentSpec(Struct, frozen=True, kw_only=True):
    """The internal spec: replicas defaulted already, rollbackTo kept for old versions."""

    replicas: int = 0
    selector: LabelSelector | None = None
    template: PodTemplateSpec = field(default_factory=PodTemplateSpec)
    strategy: DeploymentStrategy = field(default_factory=DeploymentStrategy)
    min_ready_seconds: int = 0
    revision_history_limit: int | None = None
    paused: bool = False
    rollback_to: RollbackConfig | None = None
    progress_deadline_seconds: int | None = None


class Deployment(Struct, frozen=True, kw_only=True):
    """The internal Deployment (no apiVersion/kind on the wire: it is never serialized)."""

    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: DeploymentSpec = field(default_factory=DeploymentSpec)
    status: DeploymentStatus = field(default_factory=DeploymentStatus)


class ReplicaSetSpec(Struct, frozen=True, kw_only=True):
    """The internal spec: replicas is a plain int."""

    replicas: int = 0
    min_ready_seconds: int = 0
    selector: LabelSelector | None = None
    template: PodTemplateSpec = field(default_factory=PodTemplateSpec)


class ReplicaSet(Struct, frozen=True, kw_only=True):
    """The internal ReplicaSet."""

    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: ReplicaSetSpec = field(default_factory=ReplicaSetSpec)
    status: ReplicaSetStatus = field(default_factory=ReplicaSetStatus)
