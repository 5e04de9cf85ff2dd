"""Authentication: bearer tokens (token file, ServiceAccount JWTs) and x509 certificates.

Mirrors k8s.io/apiserver/plugin/pkg/authenticator/token/tokenfile (a CSV of
token,user,uid,"group1,group2"), authentication/request/x509 (CommonName is
the user, Organizations the groups; the TLS layer verified the chain against
--client-ca-file), the ServiceAccount JWT authenticator of serviceaccount/jwt.py
(pkg/serviceaccount/jwt.go) and the union authenticator with
`system:authenticated` added (group/authenticated_group_adder.go). A request
without credentials is `system:anonymous` in `system:unauthenticated` when
--anonymous-auth allows it (request/anonymous/anonymous.go, behind upstream's
union.NewFailOnError: a bearer token that fails is 401, not anonymous); otherwise
401. As pkg/kubeapiserver/options/authentication.go, AlwaysAllow authorization
turns anonymous requests off. What a user may do is up to --authorization-mode
(auth/authorizer.py); upstream's default RBAC lets everyone read /healthz, /livez,
/readyz and /version (system:public-info-viewer).
"""

from __future__ import annotations

import csv
import hmac
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

ANONYMOUS_USER = "system:anonymous"
ALL_UNAUTHENTICATED = "system:unauthenticated"
ALL_AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)
    # user.Info's Extra, as (key, values) pairs so the value stays hashable
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


ANONYMOUS = UserInfo(ANONYMOUS_USER, "", (ALL_UNAUTHENTICATED,))


def anonymous_allowed(flag: bool, authorization_modes: tuple[str, ...]) -> bool:
    """ApplyAuthorization: AlwaysAllow and anonymous requests do not go together."""
    if flag and "AlwaysAllow" in authorization_modes:
        log.warning(
            "AnonymousAuth is not allowed with the AlwaysAllow authorizer. Resetting "
            "AnonymousAuth to false. You should use a different authorizer"
        )
        return False
    return flag


def load_token_file(path: str | Path) -> dict[str, UserInfo]:
    """tokenfile.NewCSV: token,user,uid[,"group1,group2"] per line."""
    users: dict[str, UserInfo] = {}
    with open(path, newline="") as f:
        for number, row in enumerate(csv.reader(f), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 3:
                raise ValueError(
                    f"token file '{path}' must have at least 3 columns (token, user name, user uid), found {len(row)} on line {number}"
                )
            groups = tuple(g for g in row[3].split(",") if g) if len(row) > 3 else ()
            users[row[0]] = UserInfo(row[1], row[2], groups)
    return users


class TokenAuthenticator(Protocol):
    """authenticator.Token: a bearer token's user, or None when it is not one of ours."""

    def authenticate_token(self, token: str, now: int) -> UserInfo | None: ...


class Authenticator:
    """The union of the token file, ServiceAccount token and x509 authenticators."""

    def __init__(self, tokens: dict[str, UserInfo] | None = None, anonymous: bool = False) -> None:
        self.tokens = tokens or {}
        # Set at start when --service-account-key-file (or the generated key) is in use.
        self.service_accounts: TokenAuthenticator | None = None
        # --anonymous-auth, after anonymous_allowed: requests without credentials pass.
        self.anonymous = anonymous

    def authenticate(self, authorization: str | None, peercert: dict | None) -> UserInfo | None:
        """The request's user, or None for 401."""
        user = self._token(authorization) or self._x509(peercert)
        if user is not None:
            if ALL_AUTHENTICATED in user.groups or ALL_UNAUTHENTICATED in user.groups:
                return user
            return UserInfo(user.name, user.uid, (*user.groups, ALL_AUTHENTICATED), user.extra)
        # FailOnError: a bearer token that was presented and refused is not anonymous.
        if self.anonymous and not bearer_token(authorization):
            return ANONYMOUS
        return None

    def _token(self, authorization: str | None) -> UserInfo | None:
        presented = bearer_token(authorization)
        if not presented:
            return None
        for token, user in self.tokens.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                return user
        if self.service_accounts is not None:
            return self.service_accounts.authenticate_token(presented, int(time.time()))
        return None

    @staticmethod
    def _x509(peercert: dict | None) -> UserInfo | None:
        if not peercert:
            return None
        name, groups = "", []
        for rdn in peercert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    name = value
                elif key == "organizationName":
                    groups.append(value)
        return UserInfo(name, "", tuple(groups)) if name else None


def bearer_token(authorization: str | None) -> str:
    """bearertoken: the token of `Authorization: Bearer <token>`, or ""."""
    parts = (authorization or "").strip().split(" ")
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return ""
    return parts[1].strip()
