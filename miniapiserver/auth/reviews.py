"""Access reviews: "may this user do that?" and "who am I?" asked over the API.

Mirrors kubernetes/pkg/registry/authorization/selfsubjectaccessreview/rest.go and
subjectaccessreview/rest.go (validate the spec, build authorizer attributes with
pkg/registry/authorization/util's ResourceAttributesFrom / NonResourceAttributesFrom,
ask the server's authorizer, answer allowed / denied / reason), the validation of
pkg/apis/authorization/validation, and pkg/registry/authentication/selfsubjectreview
(the request's own user). These objects are never stored: a POST returns 201 with
the status filled in. `kubectl auth can-i` and `kubectl auth whoami` call them.
Omitted: LocalSubjectAccessReview, SelfSubjectRulesReview, TokenReview, the `extra`
user attributes, field and label selector attributes.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from miniapi import errors
from miniapi.runtime import GroupResource
from miniapi.validation import field
from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.authorizer import DECISION_ALLOW, DECISION_DENY, Attributes, Authorizer
from miniapiserver.endpoints import installer, responsewriters
from miniapiserver.endpoints.handlers.rest import decode_body, read_body
from miniapiserver.endpoints.negotiation import negotiate_input, negotiate_output
from miniapiserver.endpoints.requestinfo import RequestInfo

AUTHORIZATION_GROUP = "authorization.k8s.io"
AUTHENTICATION_GROUP = "authentication.k8s.io"
# (group, resource) -> kind of the review served there
REVIEWS = {
    (AUTHORIZATION_GROUP, "selfsubjectaccessreviews"): "SelfSubjectAccessReview",
    (AUTHORIZATION_GROUP, "subjectaccessreviews"): "SubjectAccessReview",
    (AUTHENTICATION_GROUP, "selfsubjectreviews"): "SelfSubjectReview",
}


def serves(ri: RequestInfo) -> bool:
    return (ri.api_group, ri.resource) in REVIEWS


def validate_spec(kind: str, spec: dict[str, Any]) -> field.ErrorList:
    """ValidateSubjectAccessReviewSpec / ValidateSelfSubjectAccessReviewSpec."""
    path = field.new_path("spec")
    res, non_res = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    errs: field.ErrorList = []
    if res is not None and non_res is not None:
        errs.append(
            field.invalid(
                path.child("nonResourceAttributes"),
                non_res,
                "cannot be specified in combination with resourceAttributes",
            )
        )
    if res is None and non_res is None:
        errs.append(
            field.invalid(
                path.child("resourceAttributes"),
                None,
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )
        )
    if kind == "SubjectAccessReview" and not spec.get("user") and not spec.get("groups"):
        errs.append(
            field.invalid(
                path.child("user"),
                spec.get("user", ""),
                "at least one of user or group must be specified",
            )
        )
    return errs


def attributes_for(user: UserInfo, spec: dict[str, Any]) -> Attributes:
    """ResourceAttributesFrom / NonResourceAttributesFrom."""
    res = spec.get("resourceAttributes")
    if res is None:
        non_res = spec.get("nonResourceAttributes") or {}
        return Attributes(user, non_res.get("verb", ""), False, path=non_res.get("path", ""))
    return Attributes(
        user,
        res.get("verb", ""),
        True,
        namespace=res.get("namespace", ""),
        api_group=res.get("group", ""),
        api_version=res.get("version", ""),
        resource=res.get("resource", ""),
        subresource=res.get("subresource", ""),
        name=res.get("name", ""),
    )


def review_status(authorizer: Authorizer, attrs: Attributes) -> dict[str, Any]:
    decision, reason = authorizer.authorize(attrs)
    status: dict[str, Any] = {"allowed": decision == DECISION_ALLOW}
    if decision == DECISION_DENY:
        status["denied"] = True
    if reason:
        status["reason"] = reason
    return status


def answer(kind: str, obj: dict[str, Any], user: UserInfo, authorizer: Authorizer) -> dict:
    """The review with its status: the pure part of the REST Create."""
    group = AUTHENTICATION_GROUP if kind == "SelfSubjectReview" else AUTHORIZATION_GROUP
    out: dict[str, Any] = {
        "kind": kind,
        "apiVersion": f"{group}/v1",
        "metadata": {**(obj.get("metadata") or {}), "creationTimestamp": None},
    }
    if kind == "SelfSubjectReview":
        info = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            info["uid"] = user.uid
        out["status"] = {"userInfo": info}
        return out
    spec = obj.get("spec") or {}
    errs = validate_spec(kind, spec)
    if errs:
        raise errors.new_invalid(group, kind, "", errs)
    if kind == "SubjectAccessReview":
        user = UserInfo(spec.get("user", ""), spec.get("uid", ""), tuple(spec.get("groups") or ()))
    out["spec"] = spec
    out["status"] = review_status(authorizer, attributes_for(user, spec))
    return out


async def serve(
    request: web.Request, ri: RequestInfo, user: UserInfo, authorizer: Authorizer
) -> web.Response:
    """POST .../v1/<review>: 201 with the answer; other verbs and versions are not served."""
    kind = REVIEWS[(ri.api_group, ri.resource)]
    if ri.api_version != "v1" or ri.name or ri.namespace:
        raise installer.not_found()
    if ri.verb != "create":
        raise errors.new_method_not_supported(GroupResource(ri.api_group, ri.resource), ri.verb)
    media = negotiate_input(request.headers.get("Content-Type"))
    obj = decode_body(await read_body(request), media)
    if not isinstance(obj, dict):
        raise errors.new_bad_request("the object provided is unrecognized (must be of type Object)")
    output = negotiate_output(request.headers.get("Accept"))
    return responsewriters.response(answer(kind, obj, user, authorizer), output, 201)
