"""ServiceAccount tokens for projected volumes: requested once, cached, renewed at 80%.

Mirrors pkg/kubelet/token/token_manager.go: GetServiceAccountToken answers from a cache
keyed by the account, namespace, audiences, expiration and bound pod; a cached token is
renewed when it has lived past 80% of its lifetime (less than 20% left, minus a jitter of
up to 10 s) or past 24 h; a failed renewal keeps serving the cached token while it is
still valid; DeleteServiceAccountToken drops a pod's tokens; cleanup drops expired ones.
The cache is a pure core (times and randomness passed in); `fetch` is the TokenRequest
call (POST serviceaccounts/<name>/token), injected by the caller.
Omitted: the Node bound object (the kubelet's own node reference in the token).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger("minikubelet.token")

MAX_TTL = 24 * 3600.0
MAX_JITTER = 10.0
Fetch = Callable[[str, str, dict], Awaitable[dict]]  # (namespace, name, TokenRequest) -> answer


@dataclass(frozen=True)
class Token:
    """A TokenRequest's answer: the JWT, when it expires, the lifetime it was asked for."""

    token: str
    expiration: float  # status.expirationTimestamp, seconds since the epoch
    expiration_seconds: int  # spec.expirationSeconds

    @property
    def issued_at(self) -> float:
        return self.expiration - self.expiration_seconds


def key_func(name: str, namespace: str, audiences: tuple[str, ...], expiration_seconds: int,
             pod_uid: str) -> str:  # fmt: skip
    """keyFunc: one cache entry per account, audiences, lifetime and bound object."""
    return f"{name}/{namespace}/{list(audiences)}/{expiration_seconds}/{pod_uid}"


def requires_refresh(tok: Token, now: float, jitter: float) -> bool:
    """requiresRefresh: past MAX_TTL since issue, or less than 20% of the lifetime left."""
    if now > tok.issued_at + MAX_TTL - jitter:
        return True
    return now > tok.expiration - tok.expiration_seconds * 20 // 100 - jitter


def token_request(audiences: tuple[str, ...], expiration_seconds: int, pod_name: str,
                  pod_uid: str) -> dict:  # fmt: skip
    """The authentication.k8s.io/v1 TokenRequest the kubelet sends, bound to the pod."""
    return {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": list(audiences), "expirationSeconds": expiration_seconds,
                 "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod_name,
                                    "uid": pod_uid}},
    }  # fmt: skip


def parse_answer(answer: dict, expiration_seconds: int) -> Token:
    status = answer.get("status") or {}
    when = datetime.fromisoformat(status["expirationTimestamp"].replace("Z", "+00:00"))
    seconds = (answer.get("spec") or {}).get("expirationSeconds") or expiration_seconds
    return Token(status["token"], when.timestamp(), int(seconds))


class TokenManager:
    def __init__(self, fetch: Fetch, rng: random.Random | None = None) -> None:
        self.fetch = fetch
        self.rng = rng or random.Random()
        self.cache: dict[str, Token] = {}
        self.owners: dict[str, str] = {}  # cache key -> pod uid

    async def get_service_account_token(
        self, namespace: str, name: str, audiences: tuple[str, ...], expiration_seconds: int,
        pod_name: str, pod_uid: str, now: float,
    ) -> Token:  # fmt: skip
        """A valid token for the pod; raises what the TokenRequest raised if none is cached."""
        key = key_func(name, namespace, audiences, expiration_seconds, pod_uid)
        cached = self.cache.get(key)
        jitter = self.rng.random() * MAX_JITTER
        if cached is not None and not requires_refresh(cached, now, jitter):
            return cached
        request = token_request(audiences, expiration_seconds, pod_name, pod_uid)
        try:
            tok = parse_answer(await self.fetch(namespace, name, request), expiration_seconds)
        except Exception as err:
            if cached is not None and now < cached.expiration:
                log.warning("couldn't update token %s, serving the cached one: %s", key, err)
                return cached
            raise
        self.cache[key], self.owners[key] = tok, pod_uid
        return tok

    def delete_service_account_token(self, pod_uid: str) -> None:
        for key in [k for k, uid in self.owners.items() if uid == pod_uid]:
            self.cache.pop(key, None)
            self.owners.pop(key, None)

    def cleanup(self, now: float) -> None:
        """Drop expired tokens (upstream runs this every minute)."""
        for key in [k for k, t in self.cache.items() if now > t.expiration]:
            self.cache.pop(key, None)
            self.owners.pop(key, None)
