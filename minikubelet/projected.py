"""The files of configMap, secret, downwardAPI and projected volumes, as one payload each.

Mirrors pkg/volume/projected/projected.go (collectData: each source's files merged into
one directory, secrets and configMaps by key or `items`, downwardAPI items, and a
serviceAccountToken at its `path`; defaultMode 0644 unless set, an item's mode wins),
pkg/volume/configmap and secret (MakePayload: a missing non-optional object or key is an
error, an optional one is skipped) and pkg/volume/downwardapi (CollectData with
fieldpath.ExtractFieldPathAsString and FormatMap for labels and annotations). A pure
core: the objects and tokens come in `sources` (configsources.py); atomic_writer.py
writes the payload. Omitted: resourceFieldRef items, clusterTrustBundle sources.
"""

from __future__ import annotations

from miniapi.core import v1
from minikubelet.atomic_writer import FileProjection
from minikubelet.configsources import ConfigError, Sources, token_source_key

DEFAULT_MODE = 0o644

Payload = dict[str, FileProjection]


def format_map(m: dict[str, str]) -> str:
    """fieldpath.FormatMap: key="value" lines, sorted, values quoted as Go's %q."""
    return "\n".join(f'{k}="{_go_quote(v)}"' for k, v in sorted(m.items()))


def _go_quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def extract_field_path(pod: v1.Pod, path: str) -> str:
    """ExtractFieldPathAsString for the metadata fields a volume may name."""
    m = pod.metadata
    if path == "metadata.labels":
        return format_map(dict(m.labels))
    if path == "metadata.annotations":
        return format_map(dict(m.annotations))
    for prefix, table in (
        ("metadata.labels['", m.labels),
        ("metadata.annotations['", m.annotations),
    ):
        if path.startswith(prefix) and path.endswith("']"):
            return dict(table).get(path[len(prefix) : -2], "")
    values = {"metadata.name": m.name, "metadata.namespace": m.namespace, "metadata.uid": m.uid}
    if path not in values:
        raise ConfigError(f"unsupported fieldPath: {path}")
    return values[path]


def key_payload(kind: str, name: str, items: list[v1.KeyToPath], optional: bool | None,
                sources: Sources, mode: int) -> Payload:  # fmt: skip
    """MakePayload for a configMap or secret (as a volume or a projection)."""
    data = sources.get((kind, name))
    if data is None:
        if optional:
            return {}
        raise ConfigError(f'{kind} "{name}" not found')
    if not items:
        return {k: FileProjection(v, mode) for k, v in data.items()}
    out = {}
    for item in items:
        if item.key not in data:
            if optional:
                continue
            title = "configmap" if kind == "configmap" else "secret"
            raise ConfigError(f"{title} references non-existent config key: {item.key}")
        out[item.path] = FileProjection(
            data[item.key], item.mode if item.mode is not None else mode
        )
    return out


def downward_api_payload(pod: v1.Pod, items: list[v1.DownwardAPIVolumeFile], mode: int) -> Payload:
    out = {}
    for item in items:
        if item.field_ref is None:
            continue  # resourceFieldRef: omitted
        text = extract_field_path(pod, item.field_ref.field_path)
        out[item.path] = FileProjection(text.encode(), item.mode if item.mode is not None else mode)
    return out


def projected_payload(pod: v1.Pod, p: v1.ProjectedVolumeSource, sources: Sources) -> Payload:
    """collectData: every source's files in one payload."""
    mode = p.default_mode if p.default_mode is not None else DEFAULT_MODE
    out: Payload = {}
    for s in p.sources:
        if s.secret is not None:
            out |= key_payload("secret", s.secret.name, s.secret.items, s.secret.optional,
                               sources, mode)  # fmt: skip
        elif s.config_map is not None:
            out |= key_payload("configmap", s.config_map.name, s.config_map.items,
                               s.config_map.optional, sources, mode)  # fmt: skip
        elif s.downward_api is not None:
            out |= downward_api_payload(pod, s.downward_api.items, mode)
        elif s.service_account_token is not None:
            t = s.service_account_token
            data = sources.get(token_source_key(t))
            if data is None:
                account = pod.spec.service_account_name or "default"
                raise ConfigError(f"failed to fetch token: service account {account}")
            out[t.path] = FileProjection(data["token"], mode)
    return out


def volume_payload(pod: v1.Pod, volume: v1.Volume, sources: Sources) -> Payload | None:
    """The payload of a volume the kubelet writes files for; None for other kinds."""
    if volume.projected is not None:
        return projected_payload(pod, volume.projected, sources)
    if volume.downward_api is not None:
        d = volume.downward_api
        return downward_api_payload(pod, d.items, d.default_mode or DEFAULT_MODE)
    if volume.config_map is not None:
        c = volume.config_map
        return key_payload("configmap", c.name, c.items, c.optional, sources,
                           c.default_mode if c.default_mode is not None else DEFAULT_MODE)  # fmt: skip
    if volume.secret is not None:
        s = volume.secret
        return key_payload("secret", s.secret_name, s.items, s.optional, sources,
                           s.default_mode if s.default_mode is not None else DEFAULT_MODE)  # fmt: skip
    return None
