"""Impersonation: `Impersonate-User`, `-Uid`, `-Group` and `-Extra-*` headers.

Mirrors k8s.io/apiserver/pkg/endpoints/filters/impersonation.go
(buildImpersonationRequests, then WithImpersonation): each thing asked for —
the user (a ServiceAccount when it is `system:serviceaccount:<ns>:<name>`), each
group, each extra value, the uid — is authorized as the verb `impersonate` on
users / serviceaccounts / groups (core group) or userextras/<key> / uids
(authentication.k8s.io) for the authenticated requestor; any refusal is 403.
The new user gets only what was asked for (a ServiceAccount its fixed groups, and
`system:authenticated` when no group was named, unless it is system:anonymous).
Groups, extras or a uid without a user is an error, as upstream's. Pure: the
adapter (server.py) passes the headers and the authorizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from miniapi import errors
from miniapi.runtime import GroupResource
from miniapiserver.auth.authn import (
    ALL_AUTHENTICATED,
    ALL_UNAUTHENTICATED,
    ANONYMOUS_USER,
    UserInfo,
)
from miniapiserver.auth.authorizer import (
    DECISION_ALLOW,
    Attributes,
    Authorizer,
    forbidden_message,
)
from miniapiserver.serviceaccount.claims import make_group_names, make_username

USER_HEADER = "impersonate-user"
UID_HEADER = "impersonate-uid"
GROUP_HEADER = "impersonate-group"
EXTRA_PREFIX = "impersonate-extra-"
SA_PREFIX = "system:serviceaccount:"
AUTHENTICATION_GROUP = "authentication.k8s.io"


@dataclass(frozen=True)
class ImpersonationRequest:
    """One thing to act as: kind is User, ServiceAccount, Group, UserExtra or UID."""

    kind: str
    name: str
    namespace: str = ""
    extra_key: str = ""


def split_username(username: str) -> tuple[str, str] | None:
    """serviceaccount.SplitUsername: system:serviceaccount:<ns>:<name>, or None."""
    if not username.startswith(SA_PREFIX):
        return None
    parts = username[len(SA_PREFIX) :].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def build_requests(headers: list[tuple[str, str]]) -> list[ImpersonationRequest]:
    """buildImpersonationRequests: the requests the headers make, in header order."""
    out: list[ImpersonationRequest] = []
    user = next((v for k, v in headers if k.lower() == USER_HEADER), "")
    if user:
        sa = split_username(user)
        out.append(ImpersonationRequest("ServiceAccount", sa[1], sa[0]) if sa
                   else ImpersonationRequest("User", user))  # fmt: skip
    for key, value in headers:
        lower = key.lower()
        if lower == GROUP_HEADER:
            out.append(ImpersonationRequest("Group", value))
        elif lower.startswith(EXTRA_PREFIX):
            extra_key = unquote(lower[len(EXTRA_PREFIX) :])
            out.append(ImpersonationRequest("UserExtra", value, extra_key=extra_key))
        elif lower == UID_HEADER and value:
            out.append(ImpersonationRequest("UID", value))
    if not user and out:
        asked = ", ".join(f"{r.kind} {r.name!r}" for r in out)
        raise errors.new_internal_error(
            ValueError(f"requested [{asked}] without impersonating a user")
        )
    return out


def _attributes(requestor: UserInfo, r: ImpersonationRequest) -> Attributes:
    """The `impersonate` check for one request (actingAsAttributes)."""
    resource, group, sub = {
        "ServiceAccount": ("serviceaccounts", "", ""),
        "User": ("users", "", ""),
        "Group": ("groups", "", ""),
        "UserExtra": ("userextras", AUTHENTICATION_GROUP, r.extra_key),
        "UID": ("uids", AUTHENTICATION_GROUP, ""),
    }[r.kind]
    return Attributes(
        requestor, "impersonate", True, namespace=r.namespace, api_group=group,
        resource=resource, subresource=sub, name=r.name,
    )  # fmt: skip


def impersonate(
    requests: list[ImpersonationRequest], requestor: UserInfo, authorizer: Authorizer
) -> UserInfo:
    """WithImpersonation: authorize every request, then the user they describe."""
    groups_specified = any(r.kind == "Group" for r in requests)
    username, uid = "", ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for r in requests:
        attrs = _attributes(requestor, r)
        decision, reason = authorizer.authorize(attrs)
        if decision != DECISION_ALLOW:
            msg = forbidden_message(attrs) + (f": {reason}" if reason else "")
            raise errors.new_forbidden(GroupResource(attrs.api_group, attrs.resource), r.name, msg)
        if r.kind == "ServiceAccount":
            username = make_username(r.namespace, r.name)
            if not groups_specified:
                groups = list(make_group_names(r.namespace))
        elif r.kind == "User":
            username = r.name
        elif r.kind == "Group":
            groups.append(r.name)
        elif r.kind == "UserExtra":
            extra.setdefault(r.extra_key, []).append(r.name)
        else:
            uid = r.name
    system = {ALL_AUTHENTICATED, ALL_UNAUTHENTICATED}
    if not groups_specified and username != ANONYMOUS_USER and not system & set(groups):
        groups.append(ALL_AUTHENTICATED)
    return UserInfo(username, uid, tuple(groups), tuple((k, tuple(v)) for k, v in extra.items()))
