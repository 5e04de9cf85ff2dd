"""Conversions of Deployment and ReplicaSet between apps/v1, apps/v1beta2 and internal.

Mirrors kubernetes/pkg/apis/apps/v1/conversion.go and v1beta2/conversion.go
(Convert_<v>_Deployment_To_apps_Deployment: the deprecated.deployment.rollback.to
annotation becomes spec.rollbackTo and leaves the metadata; Convert_apps_Deployment_To_<v>:
the way back) and the generated DeploymentSpec conversions of zz_generated.conversion.go
(a nil replicas pointer is 0 internally; every field copied; ReplicaSet has nothing
else to convert). `add_conversion_funcs`
registers one function per (from, to) pair, as the generated RegisterConversions does.
Omitted: StatefulSet, DaemonSet and Scale conversions.
"""

from __future__ import annotations

from typing import Any

from miniapi.apps import internal, v1beta2
from miniapi.apps import v1 as appsv1
from miniapi.base import replace
from miniapi.conversion import ConversionError, Converter

__all__ = [
    "add_conversion_funcs",
    "convert_apps_deployment_to_v1_deployment",
    "convert_apps_deployment_to_v1beta2_deployment",
    "convert_v1_deployment_to_apps_deployment",
    "convert_v1beta2_deployment_to_apps_deployment",
]

# appsv1.DeprecatedRollbackTo and appsv1beta2.DeprecatedRollbackTo are the same key.
DEPRECATED_ROLLBACK_TO = v1beta2.DEPRECATED_ROLLBACK_TO


def _spec_to_internal(spec: Any) -> internal.DeploymentSpec:
    """Convert_<v>_DeploymentSpec_To_apps_DeploymentSpec (generated: field by field)."""
    return internal.DeploymentSpec(
        replicas=spec.replicas if spec.replicas is not None else 0,
        selector=spec.selector,
        template=spec.template,
        strategy=spec.strategy,
        min_ready_seconds=spec.min_ready_seconds,
        revision_history_limit=spec.revision_history_limit,
        paused=spec.paused,
        progress_deadline_seconds=spec.progress_deadline_seconds,
    )


def _spec_from_internal(spec: internal.DeploymentSpec, out_type: type) -> Any:
    """Convert_apps_DeploymentSpec_To_<v>_DeploymentSpec: replicas becomes a pointer again."""
    return out_type(
        replicas=spec.replicas,
        selector=spec.selector,
        template=spec.template,
        strategy=spec.strategy,
        min_ready_seconds=spec.min_ready_seconds,
        revision_history_limit=spec.revision_history_limit,
        paused=spec.paused,
        progress_deadline_seconds=spec.progress_deadline_seconds,
    )


def _to_internal(d: Any) -> internal.Deployment:
    """The shared body of Convert_v1_/v1beta2_Deployment_To_apps_Deployment."""
    spec = _spec_to_internal(d.spec)
    meta = d.metadata
    revision = meta.annotations.get(DEPRECATED_ROLLBACK_TO, "")
    if revision:
        try:
            spec = replace(spec, rollback_to=internal.RollbackConfig(revision=int(revision, 10)))
        except ValueError:
            raise ConversionError(
                f"failed to parse annotation[{DEPRECATED_ROLLBACK_TO}]={revision} as int64: "
                f'strconv.ParseInt: parsing "{revision}": invalid syntax'
            ) from None
        rest = {k: v for k, v in meta.annotations.items() if k != DEPRECATED_ROLLBACK_TO}
        meta = replace(meta, annotations=rest)
    return internal.Deployment(metadata=meta, spec=spec, status=d.status)


def _from_internal(d: internal.Deployment, out_type: type, spec_type: type) -> Any:
    """The shared body of Convert_apps_Deployment_To_v1_/v1beta2_Deployment."""
    meta = d.metadata
    annotations = {k: v for k, v in meta.annotations.items() if k != DEPRECATED_ROLLBACK_TO}
    if d.spec.rollback_to is not None:
        annotations[DEPRECATED_ROLLBACK_TO] = str(d.spec.rollback_to.revision)
    return out_type(
        metadata=replace(meta, annotations=annotations),
        spec=_spec_from_internal(d.spec, spec_type),
        status=d.status,
    )


def convert_v1_deployment_to_apps_deployment(d: appsv1.Deployment) -> internal.Deployment:
    return _to_internal(d)


def convert_apps_deployment_to_v1_deployment(d: internal.Deployment) -> appsv1.Deployment:
    return _from_internal(d, appsv1.Deployment, appsv1.DeploymentSpec)


def convert_v1beta2_deployment_to_apps_deployment(d: v1beta2.Deployment) -> internal.Deployment:
    return _to_internal(d)


def convert_apps_deployment_to_v1beta2_deployment(d: internal.Deployment) -> v1beta2.Deployment:
    return _from_internal(d, v1beta2.Deployment, v1beta2.DeploymentSpec)


def _replica_set_to_internal(rs: Any) -> internal.ReplicaSet:
    """Convert_<v>_ReplicaSet_To_apps_ReplicaSet (generated)."""
    s = rs.spec
    spec = internal.ReplicaSetSpec(
        replicas=s.replicas if s.replicas is not None else 0,
        min_ready_seconds=s.min_ready_seconds,
        selector=s.selector,
        template=s.template,
    )
    return internal.ReplicaSet(metadata=rs.metadata, spec=spec, status=rs.status)


def _replica_set_from_internal(rs: internal.ReplicaSet, out_type: type, spec_type: type) -> Any:
    """Convert_apps_ReplicaSet_To_<v>_ReplicaSet (generated)."""
    s = rs.spec
    spec = spec_type(
        replicas=s.replicas,
        min_ready_seconds=s.min_ready_seconds,
        selector=s.selector,
        template=s.template,
    )
    return out_type(metadata=rs.metadata, spec=spec, status=rs.status)


def add_conversion_funcs(c: Converter) -> None:
    """RegisterConversions of apps/v1 and apps/v1beta2 for Deployment and ReplicaSet."""
    for external, spec in ((appsv1.ReplicaSet, appsv1.ReplicaSetSpec),
                           (v1beta2.ReplicaSet, v1beta2.ReplicaSetSpec)):  # fmt: skip
        c.add_internal_type(external, internal.ReplicaSet)
        c.add_conversion_func(external, internal.ReplicaSet, _replica_set_to_internal)
        c.add_conversion_func(
            internal.ReplicaSet,
            external,
            lambda rs, out=external, spec=spec: _replica_set_from_internal(rs, out, spec),
        )
    c.add_internal_type(appsv1.Deployment, internal.Deployment)
    c.add_internal_type(v1beta2.Deployment, internal.Deployment)
    c.add_conversion_func(
        appsv1.Deployment, internal.Deployment, convert_v1_deployment_to_apps_deployment
    )
    c.add_conversion_func(
        internal.Deployment, appsv1.Deployment, convert_apps_deployment_to_v1_deployment
    )
    c.add_conversion_func(
        v1beta2.Deployment, internal.Deployment, convert_v1beta2_deployment_to_apps_deployment
    )
    c.add_conversion_func(
        internal.Deployment, v1beta2.Deployment, convert_apps_deployment_to_v1beta2_deployment
    )
