"""ConfigMaps and Secrets a pod refers to, fetched before each sync.

Mirrors pkg/kubelet/configmap and pkg/kubelet/secret (the managers that give the
kubelet the objects a pod references) with upstream's "Cache" change-detection strategy
(pkg/kubelet/util/manager/cache_based_manager.go: a GET, reused for a TTL), plus the
ServiceAccount tokens of projected volumes (from token_manager.py). Missing objects
become None; the runtime step turns a non-optional miss into CreateContainerConfigError.
Omitted: the Watch strategy (upstream's default), per-node TTL annotations.
"""

from __future__ import annotations

import logging

from miniapi import errors
from miniapi.core import v1
from miniclient.rest import Client
from minikubelet.token_manager import TokenManager

log = logging.getLogger("minikubelet.configsources")

Sources = dict[tuple[str, str], dict[str, bytes] | None]  # (kind, name) -> data


class ConfigError(Exception):
    """CreateContainerConfigError: a referenced ConfigMap, Secret or key is missing."""


def referenced(pod: v1.Pod) -> set[tuple[str, str]]:
    refs = set()
    for vol in pod.spec.volumes:
        if vol.config_map is not None:
            refs.add(("configmap", vol.config_map.name))
        if vol.secret is not None:
            refs.add(("secret", vol.secret.secret_name))
        for src in vol.projected.sources if vol.projected else []:
            if src.config_map is not None:
                refs.add(("configmap", src.config_map.name))
            if src.secret is not None:
                refs.add(("secret", src.secret.name))
    for c in [*pod.spec.init_containers, *pod.spec.containers]:
        for e in c.env:
            src = e.value_from
            if src and src.config_map_key_ref:
                refs.add(("configmap", src.config_map_key_ref.name))
            if src and src.secret_key_ref:
                refs.add(("secret", src.secret_key_ref.name))
        for ef in c.env_from:
            if ef.config_map_ref:
                refs.add(("configmap", ef.config_map_ref.name))
            if ef.secret_ref:
                refs.add(("secret", ef.secret_ref.name))
    return refs


SERVICE_ACCOUNT_TOKEN = "serviceaccounttoken"
TOKEN_EXPIRATION_SECONDS = 3600  # SetDefaults_ServiceAccountTokenProjection


def token_source_key(t: v1.ServiceAccountTokenProjection) -> tuple[str, str]:
    """Where a serviceAccountToken projection's token is kept in Sources."""
    return SERVICE_ACCOUNT_TOKEN, f"{t.audience}|{t.expiration_seconds or TOKEN_EXPIRATION_SECONDS}"


def token_projections(pod: v1.Pod) -> list[v1.ServiceAccountTokenProjection]:
    return [src.service_account_token for vol in pod.spec.volumes if vol.projected
            for src in vol.projected.sources if src.service_account_token]  # fmt: skip


async def fetch_tokens(tokens: TokenManager, pod: v1.Pod, now: float) -> Sources:
    """Each serviceAccountToken projection's token, from the token manager (None: failed)."""
    out: Sources = {}
    account = pod.spec.service_account_name or "default"
    for t in token_projections(pod):
        seconds = t.expiration_seconds or TOKEN_EXPIRATION_SECONDS
        audiences = (t.audience,) if t.audience else ()
        key = token_source_key(t)
        try:
            tok = await tokens.get_service_account_token(
                pod.metadata.namespace, account, audiences, seconds, pod.metadata.name,
                pod.metadata.uid, now)  # fmt: skip
        except Exception as err:  # a Status, or the API server away: the volume waits
            log.warning("token for %s/%s: %s", pod.metadata.namespace, pod.metadata.name, err)
            out[key] = None
            continue
        out[key] = {"token": tok.token.encode()}
    return out


class ObjectCache:
    """cache_based_manager.go's objectStore: an object fetched less than `ttl` seconds ago
    is served from here (every pod of a namespace reads kube-root-ca.crt each second).
    A miss is never cached, so an object created after its pod is seen on the next sync."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self.entries: dict[tuple[str, str, str], tuple[dict[str, bytes], float]] = {}

    def get(self, key: tuple[str, str, str], now: float) -> dict[str, bytes] | None:
        entry = self.entries.get(key)
        return entry[0] if entry is not None and now - entry[1] < self.ttl else None

    def put(self, key: tuple[str, str, str], data: dict[str, bytes], now: float) -> None:
        self.entries[key] = (data, now)
        for k in [k for k, (_d, t) in self.entries.items() if now - t >= self.ttl]:
            del self.entries[k]


async def fetch_object(client: Client, kind: str, namespace: str, name: str) -> dict | None:
    """A ConfigMap's or Secret's data, None when it does not exist."""
    resource = client.resource(v1.ConfigMap if kind == "configmap" else v1.Secret)
    try:
        obj = await resource.get(name, namespace)
    except errors.StatusError as err:
        if err.code != 404:
            raise
        return None
    if kind == "configmap":
        return {k: v.encode() for k, v in obj.data.items()} | dict(obj.binary_data)
    return dict(obj.data) | {k: v.encode() for k, v in obj.string_data.items()}


async def fetch_sources(
    client: Client, pod: v1.Pod, tokens: TokenManager | None = None, now: float = 0.0,
    cache: ObjectCache | None = None,
) -> Sources:  # fmt: skip
    out: Sources = await fetch_tokens(tokens, pod, now) if tokens is not None else {}
    for kind, name in referenced(pod):
        key = (kind, pod.metadata.namespace, name)
        data = cache.get(key, now) if cache is not None else None
        if data is None:
            data = await fetch_object(client, kind, pod.metadata.namespace, name)
            if data is not None and cache is not None:
                cache.put(key, data, now)
        out[(kind, name)] = data
    return out


def lookup(sources: Sources, kind: str, name: str, key: str, optional: bool) -> str | None:
    data = sources.get((kind, name))
    if data is None:
        if optional:
            return None
        raise ConfigError(f'{kind} "{name}" not found')
    if key not in data:
        if optional:
            return None
        raise ConfigError(f'couldn\'t find key {key} in {"ConfigMap" if kind == "configmap" else "Secret"} '
                          f"{name}")  # fmt: skip
    return data[key].decode(errors="replace")
