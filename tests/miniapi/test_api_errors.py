"""Status errors: codes, reasons, details and message texts as upstream's errors.go."""

from __future__ import annotations

import pytest

from miniapi import errors, scheme
from miniapi.runtime import GroupResource
from miniapi.validation import field

PODS = GroupResource("", "pods")
DEPLOYMENTS = GroupResource("apps", "deployments")


@pytest.mark.parametrize(
    ("err", "code", "reason", "message"),
    [
        (errors.new_not_found(PODS, "x"), 404, "NotFound", 'pods "x" not found'),
        (
            errors.new_not_found(DEPLOYMENTS, "web"),
            404,
            "NotFound",
            'deployments.apps "web" not found',
        ),
        (errors.new_already_exists(PODS, "x"), 409, "AlreadyExists", 'pods "x" already exists'),
        (
            errors.new_conflict(PODS, "x", errors.OPTIMISTIC_LOCK_ERROR_MSG),
            409,
            "Conflict",
            'Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again',
        ),
        (errors.new_bad_request("bad body"), 400, "BadRequest", "bad body"),
        (
            errors.new_gone("too old resource version: 1 (5)"),
            410,
            "Gone",
            "too old resource version: 1 (5)",
        ),
        (
            errors.new_resource_expired("too old resource version: 1 (5)"),
            410,
            "Expired",
            "too old resource version: 1 (5)",
        ),
        (
            errors.new_method_not_supported(PODS, "patch"),
            405,
            "MethodNotAllowed",
            'patch is not supported on resources of kind "pods"',
        ),
        (
            errors.new_forbidden(
                PODS,
                "x",
                'User "bob" cannot get resource "pods" in API group "" in the namespace "default"',
            ),
            403,
            "Forbidden",
            'pods "x" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "default"',
        ),
        (errors.new_forbidden(PODS, "", "no"), 403, "Forbidden", "pods is forbidden: no"),
        (errors.new_forbidden(GroupResource("", ""), "", "no"), 403, "Forbidden", "forbidden: no"),
        (errors.new_unauthorized(""), 401, "Unauthorized", "not authorized"),
        (errors.new_too_many_requests("slow down", 3), 429, "TooManyRequests", "slow down"),
        (
            errors.new_request_entity_too_large("limit is 3145728"),
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
        ),
        (
            errors.new_unsupported_media_type(["application/json", "application/yaml"]),
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
        ),
        (
            errors.new_internal_error("etcd down"),
            500,
            "InternalError",
            "Internal error occurred: etcd down",
        ),
        (
            errors.new_timeout("request did not complete within 60s", 0),
            504,
            "Timeout",
            "Timeout: request did not complete within 60s",
        ),
        (errors.new_service_unavailable("not ready"), 503, "ServiceUnavailable", "not ready"),
    ],
)
def test_constructors(err: errors.StatusError, code: int, reason: str, message: str) -> None:
    assert (err.code, err.reason, str(err)) == (code, reason, message)
    body = scheme.encode(err.status)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure"
    assert body["code"] == code and body["message"] == message


def test_not_found_body_matches_upstream() -> None:
    body = scheme.encode(errors.new_not_found(DEPLOYMENTS, "web").status)
    assert body == {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "web" not found',
        "reason": "NotFound",
        "details": {"name": "web", "group": "apps", "kind": "deployments"},
        "code": 404,
    }


def test_invalid_aggregates_and_lists_causes() -> None:
    errs = [
        field.invalid(field.new_path("spec", "replicas"), -1, "must be greater than or equal to 0"),
        field.required(field.new_path("spec", "selector")),
    ]
    err = errors.new_invalid("apps", "Deployment", "web", errs)
    assert str(err) == (
        'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or '
        "equal to 0, spec.selector: Required value]"
    )
    causes = scheme.encode(err.status)["details"]["causes"]
    assert causes == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: -1: must be greater than or equal to 0",
            "field": "spec.replicas",
        },
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.selector"},
    ]
    assert errors.is_invalid(err) and not errors.is_not_found(err)
    assert str(errors.new_invalid("", "Pod", "p", [])) == 'Pod "p" is invalid'


def test_predicates_and_round_trip_from_status() -> None:
    err = errors.new_conflict(PODS, "x", "boom")
    again = errors.from_status(scheme.decode(scheme.to_json(err.status)))
    assert again.status == err.status
    assert errors.is_conflict(again) and errors.reason_for_error(ValueError()) == ""
    assert errors.is_too_many_requests(errors.new_too_many_requests("x", 1))
    assert scheme.encode(errors.new_too_many_requests("x", 7).status)["details"] == {
        "retryAfterSeconds": 7
    }
