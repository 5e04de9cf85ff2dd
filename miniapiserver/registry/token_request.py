"""The TokenRequest subresource: POST serviceaccounts/<name>/token returns a signed JWT.

Mirrors kubernetes/pkg/registry/core/serviceaccount/storage/token.go (TokenREST.Create:
the body's name and namespace must match the URL, the ServiceAccount must exist, empty
audiences default to --api-audiences, status cleared, ValidateTokenRequest, the bound
Pod or Secret looked up and its uid checked, --service-account-max-token-expiration
applied, the token signed, status.token and status.expirationTimestamp set),
pkg/apis/authentication/validation (10 minutes to 2^32 seconds) and
SetDefaults_TokenRequestSpec (3600 s). Nothing is stored; the answer is 201.
`kubectl create token <sa>` calls it. Omitted: binding to a Node.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from miniapi import errors
from miniapi.meta.v1 import format_time
from miniapi.validation import field
from miniapiserver.registry.store import RegistryStore
from miniapiserver.serviceaccount import claims as sa_claims
from miniapiserver.serviceaccount.jwt import TokenGenerator

GROUP = "authentication.k8s.io"
MIN_TOKEN_AGE_SECONDS = 10 * 60
MAX_TOKEN_AGE_SECONDS = 1 << 32
DEFAULT_EXPIRATION_SECONDS = 3600
BINDABLE = {"Pod": "/pods", "Secret": "/secrets"}


class TokenREST:
    """The token subresource of serviceaccounts."""

    def __init__(
        self,
        generator: TokenGenerator,
        audiences: list[str],
        stores: dict[str, RegistryStore],
        max_expiration_seconds: int = 0,
    ) -> None:
        self.generator = generator
        self.audiences = audiences
        self.stores = stores
        self.max_expiration_seconds = max_expiration_seconds

    async def create(self, namespace: str, name: str, req: dict[str, Any]) -> dict[str, Any]:
        meta = req.get("metadata") or {}
        _check_names(meta, namespace, name)
        sa = await self.stores["/serviceaccounts"].get(namespace, name)
        spec = dict(req.get("spec") or {})
        spec["audiences"] = spec.get("audiences") or list(self.audiences)
        spec.setdefault("expirationSeconds", DEFAULT_EXPIRATION_SECONDS)
        now = time.time()
        out_meta = {**meta, "name": name, "namespace": namespace,
                    "creationTimestamp": format_time(datetime.fromtimestamp(int(now), UTC))}  # fmt: skip
        errs = validate_token_request(spec)
        if errs:
            raise errors.new_invalid(GROUP, "TokenRequest", "", errs)
        bound = await self._bound_object(namespace, spec.get("boundObjectRef"))
        seconds = int(spec["expirationSeconds"])
        if 0 < self.max_expiration_seconds < seconds:
            spec["expirationSeconds"] = seconds = self.max_expiration_seconds
        c = sa_claims.claims(sa, spec["audiences"], seconds, int(now), bound)
        expires = datetime.fromtimestamp(int(now) + seconds, UTC)
        return {
            "kind": "TokenRequest",
            "apiVersion": f"{GROUP}/v1",
            "metadata": out_meta,
            "spec": spec,
            "status": {
                "token": self.generator.generate_token(c),
                "expirationTimestamp": format_time(expires),
            },
        }

    async def _bound_object(
        self, namespace: str, ref: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any]] | None:
        if not ref:
            return None
        kind = ref.get("kind", "")
        if kind not in BINDABLE:
            raise errors.new_bad_request(
                f'cannot bind token for serviceaccount to object of kind "{kind}"'
            )
        obj = await self.stores[BINDABLE[kind]].get(namespace, ref.get("name", ""))
        uid = obj.get("metadata", {}).get("uid", "")
        if ref.get("uid") and ref["uid"] != uid:
            store = self.stores[BINDABLE[kind]]
            raise errors.new_conflict(
                store.gr, ref.get("name", ""),
                f"the UID in the bound object reference ({ref['uid']}) does not match the UID "
                "in record. The object might have been deleted and then recreated",
            )  # fmt: skip
        return kind, obj


# Where the server keeps its TokenREST (None without a signing key) for the handler.
TOKEN_REST: web.AppKey[TokenREST | None] = web.AppKey("token_rest")


def _check_names(meta: dict[str, Any], namespace: str, name: str) -> None:
    """The body may leave name and namespace out, but not contradict the URL."""
    path = field.new_path("metadata")
    if meta.get("name") and meta["name"] != name:
        errs = [field.invalid(path.child("name"), meta["name"], "must match the service account name if specified")]  # fmt: skip
        raise errors.new_invalid(GROUP, "TokenRequest", name, errs)
    if meta.get("namespace") and meta["namespace"] != namespace:
        errs = [field.invalid(path.child("namespace"), meta["namespace"], "must match the service account namespace if specified")]  # fmt: skip
        raise errors.new_invalid(GROUP, "TokenRequest", name, errs)


def validate_token_request(spec: dict[str, Any]) -> field.ErrorList:
    """ValidateTokenRequest: the expiration must lie between 10 minutes and 2^32 seconds."""
    path = field.new_path("spec", "expirationSeconds")
    seconds = spec.get("expirationSeconds")
    if not isinstance(seconds, int):
        return [field.invalid(path, seconds, "must be an integer")]
    if seconds < MIN_TOKEN_AGE_SECONDS:
        return [field.invalid(path, seconds, "may not specify a duration less than 10 minutes")]
    if seconds > MAX_TOKEN_AGE_SECONDS:
        return [field.invalid(path, seconds, "may not specify a duration larger than 2^32 seconds")]
    return []
