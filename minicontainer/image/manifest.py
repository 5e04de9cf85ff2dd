"""Image manifests, indexes and configs: media types, descriptors, platform choice.

Mirrors opencontainers/image-spec specs-go/v1 (Descriptor, Manifest, Index, Image) and
containerd's images/image.go (Manifest: walk an index to the entry for a platform,
Children) and platforms/ (the linux/amd64 matcher). Docker v2 schema 2 manifests and
manifest lists share the OCI shape, so one parser reads both families.
Omitted: schema 1 manifests, platform variants beyond an exact os/architecture match.
"""

from __future__ import annotations

import json
import platform as _platform
from dataclasses import dataclass, field

from minicontainer.image.content import digest_of

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
LAYER_TYPES = (OCI_LAYER, OCI_LAYER_GZIP, DOCKER_LAYER, DOCKER_LAYER_GZIP)
GZIP_TYPES = (OCI_LAYER_GZIP, DOCKER_LAYER_GZIP)
REF_NAME = "org.opencontainers.image.ref.name"


class ManifestError(Exception):
    pass


@dataclass(frozen=True)
class Descriptor:
    """specs-go/v1/descriptor.go: what a manifest says about one blob."""

    media_type: str
    digest: str
    size: int
    annotations: dict = field(default_factory=dict, hash=False, compare=False)
    platform: dict | None = field(default=None, hash=False, compare=False)

    def to_json(self) -> dict:
        out: dict = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            out["platform"] = dict(self.platform)
        return out

    @staticmethod
    def from_json(d: dict) -> Descriptor:
        try:
            return Descriptor(
                d["mediaType"],
                d["digest"],
                int(d["size"]),
                d.get("annotations") or {},
                d.get("platform"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ManifestError(f"invalid descriptor: {e}") from None


def detect_media_type(data: bytes) -> str:
    """The mediaType field, or a guess from the shape (`manifests` ⇒ index)."""
    doc = _load(data)
    if "mediaType" in doc:
        return doc["mediaType"]
    return OCI_INDEX if "manifests" in doc else OCI_MANIFEST


def parse_manifest(data: bytes) -> tuple[Descriptor, list[Descriptor]]:
    """(config, layers) of an image manifest."""
    doc = _load(data)
    if doc.get("schemaVersion") != 2 or "config" not in doc:
        raise ManifestError("manifest invalid: schemaVersion 2 with a config is required")
    layers = [Descriptor.from_json(x) for x in doc.get("layers") or []]
    return Descriptor.from_json(doc["config"]), layers


def parse_index(data: bytes) -> list[Descriptor]:
    doc = _load(data)
    if doc.get("schemaVersion") != 2 or not isinstance(doc.get("manifests"), list):
        raise ManifestError("index invalid: schemaVersion 2 with manifests is required")
    return [Descriptor.from_json(x) for x in doc["manifests"]]


def children(media_type: str, data: bytes) -> list[Descriptor]:
    """containerd images.Children: the descriptors a blob references."""
    if media_type in MANIFEST_TYPES:
        config, layers = parse_manifest(data)
        return [config, *layers]
    if media_type in INDEX_TYPES:
        return parse_index(data)
    return []


def default_platform() -> dict:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(_platform.machine(), _platform.machine())
    return {"os": "linux", "architecture": arch}


def select_platform(entries: list[Descriptor], want: dict | None = None) -> Descriptor:
    """The first manifest entry whose os/architecture match (containerd's Only matcher)."""
    want = want or default_platform()
    for d in entries:
        p = d.platform or {}
        if p.get("os") == want["os"] and p.get("architecture") == want["architecture"]:
            return d
    raise ManifestError(f"no match for platform in manifest: not found ({want})")


def build_manifest(config: Descriptor, layers: list[Descriptor], annotations=None) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.to_json(),
        "layers": [x.to_json() for x in layers],
    }
    if annotations:
        doc["annotations"] = annotations
    return canonical(doc)


def build_index(manifests: list[Descriptor]) -> bytes:
    return canonical(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [m.to_json() for m in manifests]}
    )


def canonical(doc: dict) -> bytes:
    """Stable bytes so identical inputs always give identical digests."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def descriptor_for(media_type: str, data: bytes, **kw) -> Descriptor:
    return Descriptor(media_type, digest_of(data), len(data), **kw)


def _load(data: bytes) -> dict:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ManifestError(f"manifest invalid: {e}") from None
    if not isinstance(doc, dict):
        raise ManifestError("manifest invalid: not a JSON object")
    return doc
