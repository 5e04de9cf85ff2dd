"""Validation of apps/v1 Deployment and ReplicaSet.

Mirrors kubernetes pkg/apis/apps/validation/validation.go (ValidateDeployment,
ValidateDeploymentSpec, ValidateDeploymentStrategy,
ValidateRollingUpdateDeployment, ValidatePositiveIntOrPercent,
IsNotMoreThan100Percent, ValidateReplicaSet, ValidateReplicaSetSpec,
ValidatePodTemplateSpecForReplicaSet) with upstream's paths and messages.
Omitted: rollbackTo, update-time selector immutability.
"""

from __future__ import annotations

from miniapi.apps import v1 as appsv1
from miniapi.core.v1 import PodTemplateSpec
from miniapi.meta.v1 import LabelSelector
from miniapi.validation import field, names
from miniapi.validation.field import ErrorList, Path
from miniapi.validation.objectmeta import (
    name_is_dns_subdomain,
    validate_label_selector,
    validate_nonnegative_field,
    validate_object_meta,
)
from miniapi.validation.pod import validate_pod_template_spec

__all__ = ["validate_deployment", "validate_replica_set"]

_META = field.new_path("metadata")


def _selector_matches(sel: LabelSelector, labels: dict[str, str]) -> bool:
    # Only a syntactically valid selector reaches here (validate_label_selector ran first).
    from miniapi.labels import label_selector_as_selector

    return label_selector_as_selector(sel).matches(labels)


def _template(t: PodTemplateSpec, sel: LabelSelector | None, path: Path) -> ErrorList:
    """ValidatePodTemplateSpecForReplicaSet."""
    errs: ErrorList = []
    selective = sel is not None and (sel.match_labels or sel.match_expressions)
    if (
        selective
        and not validate_label_selector(sel, path)
        and not _selector_matches(sel, t.metadata.labels)
    ):
        msg = "`selector` does not match template `labels`"
        errs.append(field.invalid(path.child("metadata", "labels"), t.metadata.labels, msg))
    errs += validate_pod_template_spec(t, path)
    if t.spec.restart_policy != "Always":
        errs.append(
            field.not_supported(
                path.child("spec", "restartPolicy"), t.spec.restart_policy, ["Always"]
            )
        )
    if t.spec.active_deadline_seconds is not None:
        errs.append(
            field.forbidden(
                path.child("spec", "activeDeadlineSeconds"),
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )
    return errs


def _selector(sel: LabelSelector | None, kind: str, path: Path) -> ErrorList:
    if sel is None:
        return [field.required(path)]
    errs = validate_label_selector(sel, path)
    if not sel.match_labels and not sel.match_expressions:
        errs.append(field.invalid(path, "", f"empty selector is invalid for {kind}"))
    return errs


def _int_or_percent(value: int | str | None, path: Path) -> ErrorList:
    """ValidatePositiveIntOrPercent + IsNotMoreThan100Percent."""
    if value is None:
        return []
    if isinstance(value, str):
        msgs = names.is_valid_percent(value)
        if msgs:
            return [field.invalid(path, value, m) for m in msgs]
        if int(value[:-1]) > 100:
            return [field.invalid(path, value, "must not be greater than 100%")]
        return []
    return validate_nonnegative_field(value, path)


def _is_zero(value: int | str | None) -> bool:
    return value in (0, "0%", None)


def _strategy(s: appsv1.DeploymentStrategy, path: Path) -> ErrorList:
    errs: ErrorList = []
    if s.type == appsv1.RECREATE_DEPLOYMENT_STRATEGY:
        if s.rolling_update is not None:
            errs.append(
                field.forbidden(
                    path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            )
    elif s.type == appsv1.ROLLING_UPDATE_DEPLOYMENT_STRATEGY:
        ru = s.rolling_update
        if ru is None:
            errs.append(
                field.required(
                    path.child("rollingUpdate"), "this should be defaulted and never be nil"
                )
            )
        else:
            rp = path.child("rollingUpdate")
            errs += _int_or_percent(ru.max_unavailable, rp.child("maxUnavailable"))
            errs += _int_or_percent(ru.max_surge, rp.child("maxSurge"))
            if _is_zero(ru.max_unavailable) and _is_zero(ru.max_surge):
                errs.append(
                    field.invalid(
                        rp.child("maxUnavailable"),
                        ru.max_unavailable,
                        "may not be 0 when `maxSurge` is 0",
                    )
                )
    else:
        errs.append(field.not_supported(path.child("type"), s.type, ["Recreate", "RollingUpdate"]))
    return errs


def validate_deployment(d: appsv1.Deployment) -> ErrorList:
    """ValidateDeployment: metadata and ValidateDeploymentSpec."""
    errs = validate_object_meta(d.metadata, True, name_is_dns_subdomain, _META)
    s, sp = d.spec, field.new_path("spec")
    errs += validate_nonnegative_field(s.replicas or 0, sp.child("replicas"))
    errs += _selector(s.selector, "deployment", sp.child("selector"))
    errs += _template(s.template, s.selector, sp.child("template"))
    errs += _strategy(s.strategy, sp.child("strategy"))
    errs += validate_nonnegative_field(s.min_ready_seconds, sp.child("minReadySeconds"))
    if s.revision_history_limit is not None:
        errs += validate_nonnegative_field(
            s.revision_history_limit, sp.child("revisionHistoryLimit")
        )
    if s.progress_deadline_seconds is not None:
        pd = sp.child("progressDeadlineSeconds")
        errs += validate_nonnegative_field(s.progress_deadline_seconds, pd)
        if s.progress_deadline_seconds <= s.min_ready_seconds:
            errs.append(
                field.invalid(
                    pd, s.progress_deadline_seconds, "must be greater than minReadySeconds"
                )
            )
    return errs


def validate_replica_set(rs: appsv1.ReplicaSet) -> ErrorList:
    """ValidateReplicaSet: metadata and ValidateReplicaSetSpec."""
    errs = validate_object_meta(rs.metadata, True, name_is_dns_subdomain, _META)
    s, sp = rs.spec, field.new_path("spec")
    errs += validate_nonnegative_field(s.replicas or 0, sp.child("replicas"))
    errs += validate_nonnegative_field(s.min_ready_seconds, sp.child("minReadySeconds"))
    errs += _selector(s.selector, "replicaset", sp.child("selector"))
    return errs + _template(s.template, s.selector, sp.child("template"))
