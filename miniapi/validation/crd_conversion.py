"""Validation of a CustomResourceDefinition's spec.conversion.

Mirrors k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go
(the strategy check of validateCustomResourceDefinitionSpec, validateCustomResourceConversion,
validateConversionReviewVersions). Paths are upstream's internal ones
(spec.conversion.webhookClientConfig), as its error messages show them.
Omitted: ValidateWebhookURL / ValidateWebhookService details (https scheme, path and port
rules) and the 10-version limit.
"""

from __future__ import annotations

from miniapi.apiextensions import v1 as apiextensionsv1
from miniapi.validation import field, names
from miniapi.validation.field import ErrorList

__all__ = ["validate_custom_resource_conversion"]

ACCEPTED_CONVERSION_REVIEW_VERSIONS = ("v1", "v1beta1")
_NOT_WEBHOOK = "should not be set when strategy is not set to Webhook"


def validate_custom_resource_conversion(
    conversion: apiextensionsv1.CustomResourceConversion | None, path: field.Path
) -> ErrorList:
    if conversion is None:
        return []
    if conversion.strategy not in ("None", "Webhook"):
        return [field.not_supported(path.child("strategy"), conversion.strategy,
                                    ["None", "Webhook"])]  # fmt: skip
    hook = conversion.webhook
    config = hook.client_config if hook is not None else None
    versions = hook.conversion_review_versions if hook is not None else []
    cp = path.child("webhookClientConfig")
    if conversion.strategy != "Webhook":
        errs = [field.forbidden(cp, _NOT_WEBHOOK)] if config is not None else []
        if versions:
            errs.append(field.forbidden(path.child("conversionReviewVersions"), _NOT_WEBHOOK))
        return errs
    errs: ErrorList = []
    if config is None:
        errs.append(field.required(cp, "required when strategy is set to Webhook"))
    elif (config.url is None) == (config.service is None):
        errs.append(field.required(cp, "exactly one of url or service is required"))
    return errs + validate_conversion_review_versions(
        versions, path.child("conversionReviewVersions")
    )


def validate_conversion_review_versions(versions: list[str], path: field.Path) -> ErrorList:
    if not versions:
        return [field.required(path, "")]
    errs: ErrorList = []
    seen: set[str] = set()
    for i, v in enumerate(versions):
        if v in seen:
            errs.append(field.duplicate(path.index(i), v))
        seen.add(v)
        errs += [field.invalid(path.index(i), v, m) for m in names.is_dns1035_label(v)]
    if not seen & set(ACCEPTED_CONVERSION_REVIEW_VERSIONS):
        accepted = ", ".join(ACCEPTED_CONVERSION_REVIEW_VERSIONS)
        errs.append(field.invalid(path, versions, f"must include at least one of {accepted}"))
    return errs
