"""The claims of a ServiceAccount token, and their checks on the way back in.

Mirrors kubernetes/pkg/serviceaccount/claims.go (Claims: sub
system:serviceaccount:<ns>:<name>, aud, iat/nbf/exp, jti, and the private
"kubernetes.io" claim with the namespace, the ServiceAccount and an optional bound
Pod or Secret; validator.Validate: expiry with a one-minute leeway, the
ServiceAccount and the bound object must still exist with the same uid) and
apiserver/pkg/authentication/serviceaccount/util.go (MakeUsername, MakeGroupNames).
Pure: the clock is a number passed in; lookups are functions passed in.
Omitted: node binding, warnafter (legacy token extension), the legacy secret-based tokens.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SERVICE_ACCOUNT_USERNAME_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
LEEWAY_SECONDS = 60  # go-jose's jwt.DefaultLeeway

Obj = dict[str, Any]
# (kind, namespace, name) -> the object, or None when it does not exist
Lookup = Callable[[str, str, str], Obj | None]


class InvalidToken(ValueError):
    """The token is not (or no longer) a valid ServiceAccount token."""


def make_username(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_USERNAME_PREFIX}{namespace}:{name}"


def make_group_names(namespace: str) -> tuple[str, ...]:
    return (ALL_SERVICE_ACCOUNTS_GROUP, f"{ALL_SERVICE_ACCOUNTS_GROUP}:{namespace}")


def _ref(obj: Obj) -> dict[str, str]:
    meta = obj.get("metadata", {})
    return {"name": meta.get("name", ""), "uid": meta.get("uid", "")}


def claims(
    sa: Obj,
    audiences: list[str],
    expiration_seconds: int,
    now: int,
    bound: tuple[str, Obj] | None = None,
    jti: str | None = None,
) -> dict[str, Any]:
    """token.Claims: the public and private claims of one token (without iss)."""
    meta = sa["metadata"]
    private: dict[str, Any] = {
        "namespace": meta["namespace"],
        "serviceaccount": _ref(sa),
    }
    if bound is not None:
        kind, obj = bound
        private[kind.lower()] = _ref(obj)
    return {
        "aud": list(audiences),
        "exp": now + expiration_seconds,
        "iat": now,
        "jti": jti or str(uuid.uuid4()),
        "kubernetes.io": private,
        "nbf": now,
        "sub": make_username(meta["namespace"], meta["name"]),
    }


@dataclass(frozen=True)
class ServiceAccountInfo:
    """What the authenticator learns from a valid token."""

    namespace: str
    name: str
    uid: str
    pod_name: str = ""


def validate(c: dict[str, Any], now: int, lookup: Lookup) -> ServiceAccountInfo:
    """validator.Validate: times first, then that every object named still exists."""
    if "exp" in c and now > int(c["exp"]) + LEEWAY_SECONDS:
        raise InvalidToken("service account token has expired")
    if "nbf" in c and now < int(c["nbf"]) - LEEWAY_SECONDS:
        raise InvalidToken("service account token is not valid yet")
    private = c.get("kubernetes.io")
    if not isinstance(private, dict):
        raise InvalidToken("service account token claims could not be validated")
    ns = private.get("namespace", "")
    sa_ref = private.get("serviceaccount") or {}
    if not ns or not sa_ref.get("name"):
        raise InvalidToken("service account token claims could not be validated")
    sa = lookup("ServiceAccount", ns, sa_ref["name"])
    if sa is None:
        raise InvalidToken(f"service account {ns}/{sa_ref['name']} has been deleted")
    uid = sa.get("metadata", {}).get("uid", "")
    if uid != sa_ref.get("uid"):
        raise InvalidToken(
            f"service account UID ({sa_ref.get('uid')}) does not match claim ({uid})"
        )
    pod_name = ""
    for kind in ("Pod", "Secret"):
        ref = private.get(kind.lower())
        if not isinstance(ref, dict):
            continue
        obj = lookup(kind, ns, ref.get("name", ""))
        if obj is None or obj.get("metadata", {}).get("uid") != ref.get("uid"):
            raise InvalidToken(f"{kind.lower()} {ns}/{ref.get('name')} has been deleted")
        if obj.get("metadata", {}).get("deletionTimestamp"):
            raise InvalidToken(f"{kind.lower()} {ns}/{ref.get('name')} is being deleted")
        pod_name = ref.get("name", "") if kind == "Pod" else pod_name
    return ServiceAccountInfo(ns, sa_ref["name"], uid, pod_name)
