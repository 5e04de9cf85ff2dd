"""Impersonation: the Impersonate-* headers, authorized by RBAC as the verb `impersonate`.

The core is fed headers and the real RBAC authorizer (over a policy held in dicts):
users, ServiceAccounts (their fixed groups), groups, extras and uids are each
checked; anything not granted is 403 with upstream's message; groups without a user
is refused. kubectl --as / --as-group against a real server, with the audit log's
impersonatedUser, is in test_apiserver_audit.py (it shares that server).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapi import errors
from miniapiserver.auth.authn import UserInfo
from miniapiserver.auth.impersonation import build_requests, impersonate, split_username
from miniapiserver.auth.rbac import RBACAuthorizer

from .test_apiserver_rbac import DictPolicy, binding

IMPERSONATOR = {
    "metadata": {"name": "impersonator"},
    "rules": [
        {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["users"],
         "resourceNames": ["alice"]},
        {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["groups"]},
        {"verbs": ["impersonate"], "apiGroups": [""], "resources": ["serviceaccounts"]},
        {"verbs": ["impersonate"], "apiGroups": ["authentication.k8s.io"],
         "resources": ["userextras/scopes", "uids"]},
    ],
}  # fmt: skip
POLICY = DictPolicy(
    crbs=[binding("b", "", "ClusterRole", "impersonator", ("User", "bob"))],
    cluster_roles=[IMPERSONATOR],
)
AUTHZ = RBACAuthorizer(POLICY)
BOB = UserInfo("bob", "", ("system:authenticated",))


def act(*headers: tuple[str, str], who: UserInfo = BOB) -> UserInfo:
    return impersonate(build_requests(list(headers)), who, AUTHZ)


def test_user_alone_gets_system_authenticated() -> None:
    assert act(("Impersonate-User", "alice")) == UserInfo("alice", "", ("system:authenticated",))


def test_named_groups_are_the_whole_list() -> None:
    got = act(("Impersonate-User", "alice"), ("Impersonate-Group", "devs"),
              ("impersonate-group", "ops"))  # fmt: skip
    assert got.groups == ("devs", "ops")


def test_service_account_gets_its_fixed_groups() -> None:
    got = act(("Impersonate-User", "system:serviceaccount:team:builder"))
    assert got.name == "system:serviceaccount:team:builder"
    assert got.groups == ("system:serviceaccounts", "system:serviceaccounts:team",
                          "system:authenticated")  # fmt: skip


def test_extras_and_uid() -> None:
    got = act(("Impersonate-User", "alice"), ("Impersonate-Extra-Scopes", "view"),
              ("Impersonate-Extra-scopes", "edit"), ("Impersonate-Uid", "u-1"))  # fmt: skip
    assert got.extra == (("scopes", ("view", "edit")),) and got.uid == "u-1"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("Impersonate-User", "carol")],
         'users "carol" is forbidden: User "bob" cannot impersonate resource "users" in API '
         'group "" at the cluster scope'),
        ([("Impersonate-User", "alice"), ("Impersonate-Extra-Reason", "x")],
         'userextras.authentication.k8s.io "x" is forbidden: User "bob" cannot impersonate '
         'resource "userextras/reason" in API group "authentication.k8s.io" at the cluster scope'),
    ],
)  # fmt: skip
def test_anything_not_granted_is_forbidden(headers: list, message: str) -> None:
    with pytest.raises(errors.StatusError) as e:
        act(*headers)
    assert (e.value.code, e.value.status.message) == (403, message)


def test_service_account_check_is_namespaced() -> None:
    with pytest.raises(errors.StatusError) as e:
        act(("Impersonate-User", "system:serviceaccount:team:builder"),
            who=UserInfo("carol", "", ("system:authenticated",)))  # fmt: skip
    assert e.value.status.message == (
        'serviceaccounts "builder" is forbidden: User "carol" cannot impersonate resource '
        '"serviceaccounts" in API group "" in the namespace "team"'
    )


def test_groups_without_a_user_are_refused() -> None:
    with pytest.raises(errors.StatusError) as e:
        build_requests([("Impersonate-Group", "devs")])
    assert e.value.code == 500
    assert "without impersonating a user" in e.value.status.message
    assert build_requests([("Authorization", "Bearer x")]) == []


@given(ns=st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
       name=st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True))  # fmt: skip
def test_service_account_usernames_round_trip(ns: str, name: str) -> None:
    assert split_username(f"system:serviceaccount:{ns}:{name}") == (ns, name)
    assert split_username(f"system:serviceaccount:{ns}") is None
    assert split_username(f"{ns}:{name}") is None
