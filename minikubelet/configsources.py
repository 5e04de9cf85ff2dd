"""ConfigMaps and Secrets a pod refers to, fetched before each sync.

Mirrors pkg/kubelet/configmap and pkg/kubelet/secret (the managers that give the
kubelet the objects a pod references) in their simplest strategy, a GET per sync
(upstream's "Get" change-detection strategy), and pkg/volume/configmap / secret
(keys, or `items`, projected to files). Missing objects become None; the runtime
step turns a non-optional miss into CreateContainerConfigError.
Omitted: watch- and TTL-cache strategies, file modes, atomic writer symlink swaps.
"""

from __future__ import annotations

import os

from miniapi import errors
from miniapi.core import v1
from miniclient.rest import Client

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


async def fetch_sources(client: Client, pod: v1.Pod) -> Sources:
    out: Sources = {}
    for kind, name in referenced(pod):
        resource = client.resource(v1.ConfigMap if kind == "configmap" else v1.Secret)
        try:
            obj = await resource.get(name, pod.metadata.namespace)
        except errors.StatusError as err:
            if err.code != 404:
                raise
            out[(kind, name)] = None
            continue
        if kind == "configmap":
            data = {k: v.encode() for k, v in obj.data.items()} | dict(obj.binary_data)
        else:
            data = dict(obj.data) | {k: v.encode() for k, v in obj.string_data.items()}
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


def write_volume(directory: str, data: dict[str, bytes], items: list[v1.KeyToPath]) -> None:
    """Project keys (or the listed items) to files under directory."""
    os.makedirs(directory, exist_ok=True)
    pairs = [(i.key, i.path) for i in items] if items else [(k, k) for k in data]
    for key, rel in pairs:
        if key in data:
            path = os.path.join(directory, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data[key])
