"""Defaulting of apps/v1 Deployment and ReplicaSet.

Mirrors kubernetes pkg/apis/apps/v1/defaults.go (SetDefaults_Deployment,
SetDefaults_ReplicaSet): replicas 1, strategy RollingUpdate with 25%/25%,
revisionHistoryLimit 10, progressDeadlineSeconds 600, and the pod template
defaults of core/v1.
Omitted: StatefulSet and DaemonSet defaults.
"""

from __future__ import annotations

from miniapi.apps import v1 as appsv1
from miniapi.base import replace
from miniapi.defaults.core import set_defaults_pod_template

__all__ = ["set_defaults_deployment", "set_defaults_replica_set"]

DEFAULT_MAX_SURGE = "25%"
DEFAULT_MAX_UNAVAILABLE = "25%"
DEFAULT_REVISION_HISTORY_LIMIT = 10
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600


def _strategy(s: appsv1.DeploymentStrategy) -> appsv1.DeploymentStrategy:
    s = replace(s, type=s.type or appsv1.ROLLING_UPDATE_DEPLOYMENT_STRATEGY)
    if s.type != appsv1.ROLLING_UPDATE_DEPLOYMENT_STRATEGY:
        return s
    ru = s.rolling_update or appsv1.RollingUpdateDeployment()
    ru = replace(
        ru,
        max_unavailable=DEFAULT_MAX_UNAVAILABLE
        if ru.max_unavailable is None
        else ru.max_unavailable,
        max_surge=DEFAULT_MAX_SURGE if ru.max_surge is None else ru.max_surge,
    )
    return replace(s, rolling_update=ru)


def set_defaults_deployment(d: appsv1.Deployment) -> appsv1.Deployment:
    """SetDefaults_Deployment."""
    s = d.spec
    s = replace(
        s,
        replicas=1 if s.replicas is None else s.replicas,
        strategy=_strategy(s.strategy),
        revision_history_limit=DEFAULT_REVISION_HISTORY_LIMIT
        if s.revision_history_limit is None
        else s.revision_history_limit,
        progress_deadline_seconds=(
            DEFAULT_PROGRESS_DEADLINE_SECONDS
            if s.progress_deadline_seconds is None
            else s.progress_deadline_seconds
        ),
        template=set_defaults_pod_template(s.template),
    )
    return replace(d, spec=s)


def set_defaults_replica_set(rs: appsv1.ReplicaSet) -> appsv1.ReplicaSet:
    """SetDefaults_ReplicaSet."""
    s = rs.spec
    s = replace(
        s,
        replicas=1 if s.replicas is None else s.replicas,
        template=set_defaults_pod_template(s.template),
    )
    return replace(rs, spec=s)
