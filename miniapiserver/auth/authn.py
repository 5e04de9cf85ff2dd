"""Authentication: bearer tokens (token file, ServiceAccount JWTs) and x509 certificates.

Mirrors k8s.io/apiserver/plugin/pkg/authenticator/token/tokenfile (a CSV of
token,user,uid,"group1,group2"), authentication/request/x509 (CommonName is
the user, Organizations the groups; the TLS layer verified the chain against
--client-ca-file), the ServiceAccount JWT authenticator of serviceaccount/jwt.py
(pkg/serviceaccount/jwt.go) and the union authenticator with
`system:authenticated` added. Unauthenticated requests get 401 except the
health and version endpoints, which upstream's default RBAC opens to
everyone (system:public-info-viewer), so they skip authorization too; what an
authenticated user may do is up to --authorization-mode (auth/authorizer.py).
"""

from __future__ import annotations

import csv
import hmac
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)


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

    def __init__(self, tokens: dict[str, UserInfo] | None = None) -> None:
        self.tokens = tokens or {}
        # Set at start when --service-account-key-file (or the generated key) is in use.
        self.service_accounts: TokenAuthenticator | None = None

    def authenticate(self, authorization: str | None, peercert: dict | None) -> UserInfo | None:
        user = self._token(authorization) or self._x509(peercert)
        if user is None:
            return None
        return UserInfo(user.name, user.uid, (*user.groups, "system:authenticated"))

    def _token(self, authorization: str | None) -> UserInfo | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        presented = authorization[7:].strip()
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
