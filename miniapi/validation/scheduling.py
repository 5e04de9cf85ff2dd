"""Validation of PriorityClass (scheduling.k8s.io/v1).

Mirrors kubernetes pkg/apis/scheduling/validation/validation.go (ValidatePriorityClass,
ValidatePriorityClassUpdate) and core validation's ValidatePreemptionPolicy: names with the
`system-` prefix must be one of the system classes with their exact value, other classes
stay at or below HighestUserDefinablePriority, value and preemptionPolicy are immutable.
Omitted: nothing of these rules.
"""

from __future__ import annotations

from miniapi.scheduling import v1 as schedulingv1
from miniapi.validation import field
from miniapi.validation.field import ErrorList
from miniapi.validation.objectmeta import (
    name_is_dns_subdomain,
    validate_immutable_field,
    validate_object_meta,
)

__all__ = ["validate_priority_class", "validate_priority_class_update"]

_PREEMPTION_POLICIES = [schedulingv1.PREEMPT_LOWER_PRIORITY, schedulingv1.PREEMPT_NEVER]


def validate_preemption_policy(policy: str, path: field.Path) -> ErrorList:
    """ValidatePreemptionPolicy: one of PreemptLowerPriority, Never."""
    if policy in _PREEMPTION_POLICIES:
        return []
    if policy == "":
        return [field.required(path, "")]
    return [field.not_supported(path, policy, _PREEMPTION_POLICIES)]


def validate_priority_class(pc: schedulingv1.PriorityClass) -> ErrorList:
    """ValidatePriorityClass."""
    errs = validate_object_meta(
        pc.metadata, False, name_is_dns_subdomain, field.new_path("metadata")
    )
    name = pc.metadata.name
    if name.startswith(schedulingv1.SYSTEM_PRIORITY_CLASS_PREFIX):
        problem = schedulingv1.is_known_system_priority_class(name, pc.value, pc.global_default)
        if problem:
            errs.append(
                field.forbidden(
                    field.new_path("metadata", "name"),
                    f"priority class names with '{schedulingv1.SYSTEM_PRIORITY_CLASS_PREFIX}' "
                    f"prefix are reserved for system use only. error: {problem}",
                )
            )
    elif pc.value > schedulingv1.HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(
            field.forbidden(
                field.new_path("value"),
                "maximum allowed value of a user defined priority is "
                f"{schedulingv1.HIGHEST_USER_DEFINABLE_PRIORITY}",
            )
        )
    if pc.preemption_policy is not None:
        errs += validate_preemption_policy(pc.preemption_policy, field.new_path("preemptionPolicy"))
    return errs


def validate_priority_class_update(
    pc: schedulingv1.PriorityClass, old: schedulingv1.PriorityClass
) -> ErrorList:
    """ValidatePriorityClassUpdate: value and preemptionPolicy never change."""
    errs: ErrorList = []
    if pc.value != old.value:
        errs.append(field.forbidden(field.new_path("value"), "may not be changed in an update."))
    errs += validate_immutable_field(
        pc.preemption_policy, old.preemption_policy, field.new_path("preemptionPolicy")
    )
    return errs
