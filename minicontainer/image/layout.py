"""OCI image layout on disk, used as minicontainer's image store.

Mirrors opencontainers/image-spec image-layout.md (`oci-layout`, `index.json`,
`blobs/sha256/…`) and containerd's images store (metadata/images.go: name → target
descriptor), where a name is the `org.opencontainers.image.ref.name` annotation of an
index.json entry. Also reads docker-archive tarballs (`docker save`: manifest.json).
Omitted: image labels and timestamps in the store, the containerd namespace layer.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

from minicontainer.image import gc, manifest
from minicontainer.image.content import ContentStore, NotFound, digest_of
from minicontainer.image.manifest import REF_NAME, Descriptor

LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}


def normalize(name: str) -> str:
    """`busybox` → `busybox:latest` (docker's default tag); digests and tags stay."""
    last = name.rsplit("/", 1)[-1]
    return name if (":" in last or "@" in name) else name + ":latest"


class Layout:
    """An OCI layout directory with a content store and a named index."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.content = ContentStore(self.root)
        if not (self.root / "oci-layout").exists():
            _write_json(self.root / "oci-layout", LAYOUT_VERSION)
        if not (self.root / "index.json").exists():
            self._save_index([])

    def entries(self) -> list[Descriptor]:
        return manifest.parse_index((self.root / "index.json").read_bytes())

    def _save_index(self, entries: list[Descriptor]) -> None:
        tmp = self.root / "index.json.tmp"
        tmp.write_bytes(manifest.build_index(entries))
        os.replace(tmp, self.root / "index.json")

    def images(self) -> list[tuple[str, Descriptor]]:
        return [(d.annotations.get(REF_NAME, ""), d) for d in self.entries()]

    def resolve(self, name: str) -> Descriptor:
        name = normalize(name)
        for ref, d in self.images():
            if ref == name or d.digest == name or d.digest[7:19] == name:
                return d
        raise NotFound(f"image {name!r}: not found")

    def tag(self, name: str, desc: Descriptor) -> None:
        name = normalize(name)
        keep = [d for d in self.entries() if d.annotations.get(REF_NAME) != name]
        ann = {**desc.annotations, REF_NAME: name}
        keep.append(Descriptor(desc.media_type, desc.digest, desc.size, ann, desc.platform))
        self._save_index(keep)

    def untag(self, name: str) -> Descriptor:
        desc = self.resolve(name)
        ref = desc.annotations.get(REF_NAME)
        # only this name goes: another name for the same digest keeps the image alive
        self._save_index([d for d in self.entries() if d.annotations.get(REF_NAME) != ref])
        return desc

    def image(self, desc: Descriptor, want: dict | None = None):
        """(manifest descriptor, config descriptor, layers), picking a platform in indexes."""
        data = self.content.read(desc.digest)
        if desc.media_type in manifest.INDEX_TYPES:
            desc = manifest.select_platform(manifest.parse_index(data), want)
            data = self.content.read(desc.digest)
        config, layers = manifest.parse_manifest(data)
        return desc, config, layers

    def config(self, name: str) -> dict:
        _m, config, _l = self.image(self.resolve(name))
        return json.loads(self.content.read(config.digest))

    def refs(self, digest: str) -> list[str]:
        """The children of a blob, for gc.mark (missing children are simply not followed)."""
        try:
            data = self.content.read(digest)
            mt = manifest.detect_media_type(data) if data[:1] == b"{" else ""
            return [c.digest for c in manifest.children(mt, data)]
        except (NotFound, manifest.ManifestError, UnicodeDecodeError):
            return []

    def gc(self) -> list[str]:
        """Delete every blob not reachable from index.json; return the removed digests."""
        live = gc.mark([d.digest for d in self.entries()], self.refs)
        dead = gc.sweep((i.digest for i in self.content.walk()), live)
        for d in dead:
            self.content.delete(d)
        return dead

    def copy_from(self, other: Layout, desc: Descriptor) -> None:
        """Copy a descriptor and everything it references (containerd's remotes handler)."""
        for d in gc.mark([desc.digest], other.refs):
            if not self.content.exists(d):
                with open(other.content.path(d), "rb") as f:
                    w = self.content.writer("copy-" + d[7:31])
                    while chunk := f.read(1 << 20):
                        w.write(chunk)
                    w.commit(d)


def import_path(store: Layout, path: str, name: str) -> Descriptor:
    """`image import`: an OCI layout directory or a docker-archive tarball."""
    p = Path(path)
    if p.is_dir():
        src = Layout(p)
        entries = src.entries()
        if not entries:
            raise NotFound(f"{path}: index.json has no manifests")
        store.copy_from(src, entries[0])
        desc = Descriptor(entries[0].media_type, entries[0].digest, entries[0].size)
    else:
        desc = _import_docker_archive(store, p)
    store.tag(name, desc)
    return desc


def _import_docker_archive(store: Layout, path: Path) -> Descriptor:
    with tarfile.open(path) as tf:
        index = json.load(tf.extractfile("manifest.json"))[0]
        config = tf.extractfile(index["Config"]).read()
        layers = []
        for member in index["Layers"]:
            f = tf.extractfile(member)
            w = store.content.writer("import-" + digest_of(member.encode())[7:31])
            while chunk := f.read(1 << 20):
                w.write(chunk)
            info = w.commit()
            layers.append(Descriptor(manifest.OCI_LAYER, info.digest, info.size))
    cinfo = store.content.put(config)
    cdesc = Descriptor(manifest.OCI_CONFIG, cinfo.digest, cinfo.size)
    data = manifest.build_manifest(cdesc, layers)
    store.content.put(data)
    return manifest.descriptor_for(manifest.OCI_MANIFEST, data)


def export_path(store: Layout, name: str, dest: str) -> Descriptor:
    """`image export`: a fresh OCI layout holding only this image."""
    desc = store.resolve(name)
    if Path(dest).exists():
        shutil.rmtree(dest)
    out = Layout(dest)
    out.copy_from(store, desc)
    shutil.rmtree(out.content.ingests, ignore_errors=True)
    # in a layout of its own the ref name is just the tag, as skopeo's oci:DIR:TAG expects
    full = normalize(desc.annotations.get(REF_NAME, name))
    out._save_index([Descriptor(desc.media_type, desc.digest, desc.size, {REF_NAME: tag_of(full)})])
    return desc


def tag_of(name: str) -> str:
    return name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"


def _write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc))
