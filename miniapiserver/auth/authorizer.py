"""Authorization: the request's attributes, the decision, and the union of authorizers.

Mirrors k8s.io/apiserver/pkg/authorization/authorizer/interfaces.go
(Attributes, Decision: Allow / Deny / NoOpinion), authorization/union/union.go
(the first authorizer with an opinion wins; reasons of the others are joined),
authorizerfactory's AlwaysAllow, endpoints/filters/authorization.go (GetAuthorizerAttributes)
and the forbidden text of endpoints/handlers/responsewriters/errors.go.
The Node mode is node_authorizer.py, RBAC rbac.py.
Omitted: AlwaysDeny, ABAC and Webhook modes; field and label selector attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from miniapiserver.auth.authn import UserInfo
from miniapiserver.endpoints.requestinfo import RequestInfo

DECISION_DENY, DECISION_ALLOW, DECISION_NO_OPINION = 0, 1, 2
MODES = ("AlwaysAllow", "Node", "RBAC")


@dataclass(frozen=True)
class Attributes:
    """AttributesRecord: who asks to do what, on which object or path."""

    user: UserInfo
    verb: str
    resource_request: bool
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""


class Authorizer(Protocol):
    def authorize(self, attrs: Attributes) -> tuple[int, str]: ...


class AlwaysAllow:
    """authorizerfactory.NewAlwaysAllowAuthorizer."""

    def authorize(self, attrs: Attributes) -> tuple[int, str]:
        return DECISION_ALLOW, ""


class Union:
    """union.New: ask each in turn; the first Allow or Deny decides."""

    def __init__(self, authorizers: list[Authorizer]) -> None:
        self.authorizers = authorizers

    def authorize(self, attrs: Attributes) -> tuple[int, str]:
        reasons = []
        for a in self.authorizers:
            decision, reason = a.authorize(attrs)
            if decision != DECISION_NO_OPINION:
                return decision, reason
            if reason:
                reasons.append(reason)
        return DECISION_NO_OPINION, "\n".join(reasons)


def attributes_from(ri: RequestInfo, user: UserInfo) -> Attributes:
    """GetAuthorizerAttributes: the RequestInfo as authorizer attributes."""
    if not ri.is_resource_request:
        return Attributes(user, ri.verb, False, path=ri.path)
    return Attributes(
        user,
        ri.verb,
        True,
        namespace=ri.namespace,
        api_group=ri.api_group,
        api_version=ri.api_version,
        resource=ri.resource,
        subresource=ri.subresource,
        name=ri.name,
        path=ri.path,
    )


def forbidden_message(attrs: Attributes) -> str:
    """responsewriters.forbiddenMessage: the sentence kubectl prints after "is forbidden:"."""
    user = attrs.user.name
    if not attrs.resource_request:
        return f'User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    resource = attrs.resource
    if attrs.subresource:
        resource += "/" + attrs.subresource
    head = (
        f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}"'
    )
    if attrs.namespace:
        return f'{head} in the namespace "{attrs.namespace}"'
    return f"{head} at the cluster scope"


def parse_modes(text: str) -> list[str]:
    """--authorization-mode: a comma list of known modes, each at most once."""
    modes = [m.strip() for m in text.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            raise ValueError(f"authorization-mode {m!r} is not a valid mode")
    if len(set(modes)) != len(modes):
        raise ValueError(f"authorization-mode {text!r} has mode specified more than once")
    if not modes:
        raise ValueError("at least one authorization-mode must be passed")
    return modes
