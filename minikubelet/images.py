"""The runtime's image service: pull by reference, list, and container root filesystems.

Mirrors the CRI ImageService (PullImage, ImageStatus, ListImages in cri-api's api.proto)
as containerd's CRI plugin implements it (internal/cri/server/images/image_pull.go:
resolve, fetch, unpack into the snapshotter; container_create.go: a writable snapshot
on the image's top layer as the container rootfs). The store is minicontainer's:
an OCI layout (`images/`), the overlay snapshotter (`snapshots/`) and the distribution
client, under `<root-dir>/image-store` unless `--image-store` names another (e.g. the
store `python -m minicontainer build` writes, so locally built images run directly).
Registries are spoken to over plain HTTP only: those on 127.0.0.0/8 (and `localhost`)
and those named with `--insecure-registry` (containerd keeps this in its registry
config, hosts.toml `server = "http://…"`; upstream's kubelet has no such flag).
`--registry-mirror NAME=HOST:PORT` sends pulls of NAME's images to another endpoint
(containerd's `registry.mirrors.NAME.endpoint` / hosts.toml `[host."http://…"]`), e.g.
a node in its own network namespace reaching the host's 127.0.0.1:5000 registry at the
bridge address; the image keeps its name.
Offline fallback: `docker.io/library/busybox` with any tag is never fetched; it is
fabricated from Debian's busybox-static as a one-layer image the first time it is
needed, so existing pods and the offline demo run on a machine with no registry.
Omitted: TLS and credentials, image GC, pinned images, pull progress, the runtime handler.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import shutil
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from minicontainer.image import client as registry_client
from minicontainer.image.config import image_from_rootfs
from minicontainer.image.content import ContentError
from minicontainer.image.layout import Layout
from minicontainer.image.manifest import ManifestError
from minicontainer.image.snapshotter import SnapshotError, Snapshotter, mount_all, unmount
from minicontainer.image.unpack import unpack
from minikubelet.reference import Named, parse_normalized_named

BUSYBOX = "/bin/busybox"
BUSYBOX_REPOSITORY = "docker.io/library/busybox"


class ImagePullError(Exception):
    """PullImage failed; str() is the runtime's message (containerd's wording)."""


@dataclass(frozen=True)
class Image:
    """cri-api Image: id (the config digest), repo tags and digests, size in bytes."""

    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    size: int


def plain_http_allowed(domain: str, insecure: list[str]) -> bool:
    """Loopback registries and those configured insecure may be spoken to over HTTP."""
    if domain in insecure:
        return True
    host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
    if host == "localhost" or host in insecure:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_busybox_rootfs(root: Path) -> None:
    """busybox-static with its applets as hard links (as in the official image: one inode,
    so the layer holds the binary once), and the few files it wants in /etc."""
    for d in ("bin", "proc", "sys", "dev", "etc", "tmp", "var/www", "root"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout
    for applet in applets.split():
        if applet != "busybox":
            os.link(root / "bin" / "busybox", root / "bin" / applet)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\nnobody:x:65534:\n")
    (root / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    os.chmod(root / "tmp", 0o1777)


class ImageService:
    """One node's images and snapshots; safe for the kubelet's threads and other processes."""

    def __init__(self, store: str, insecure_registries: list[str] | None = None,
                 mirrors: dict[str, str] | None = None) -> None:  # fmt: skip
        self.store = Path(store)
        self.layout = Layout(self.store / "images")
        self.snapshotter = Snapshotter(self.store / "snapshots")
        self.insecure = list(insecure_registries or [])
        # registry name -> host:port to fetch from (configured: plain HTTP by intent)
        self.mirrors = {
            k: v.removeprefix("http://").rstrip("/") for k, v in (mirrors or {}).items()
        }
        self._thread_lock = threading.Lock()

    @contextmanager
    def _locked(self):
        """The snapshotter's metadata file and index.json are shared: one writer at a time."""
        with self._thread_lock, open(self.store / "lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield

    def _names(self, ref: Named) -> list[str]:
        # The fully qualified name first; the familiar one finds images a local build tagged.
        return [str(ref), ref.familiar_string()]

    def _resolve(self, ref: Named):
        for name in self._names(ref):
            for stored, desc in self.layout.images():
                if stored == name or (ref.digest and not ref.tag and desc.digest == ref.digest):
                    return stored, desc
        return None

    def image_status(self, image: str) -> Image | None:
        """ImageStatus: the image if present (GetImageRef's non-empty answer), else None."""
        found = self._resolve(parse_normalized_named(image).with_default_tag())
        return self._image(*found) if found else None

    def _image(self, name: str, desc) -> Image:
        _m, config, layers = self.layout.image(desc)
        size = desc.size + config.size + sum(x.size for x in layers)
        repo = name.rsplit("@", 1)[0]
        repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
        tags = [] if "@" in name else [name]
        return Image(config.digest, tags, [f"{repo}@{desc.digest}"], size)

    def list_images(self) -> list[Image]:
        out = []
        for name, desc in self.layout.images():
            try:
                out.append(self._image(name, desc))
            except (ContentError, ManifestError):
                continue  # a half-imported image is not an image yet
        return out

    def pull_image(self, image: str) -> Image:
        """PullImage: fetch (or fabricate busybox), unpack the layers, return the image."""
        ref = parse_normalized_named(image).with_default_tag()
        with self._locked():
            if ref.name == BUSYBOX_REPOSITORY:
                self._fabricate_busybox(ref)
            else:
                self._fetch(ref)
            found = self._resolve(ref)
            if found is None:
                raise ImagePullError(f'failed to pull and unpack image "{ref}": not found')
            unpack(self.layout, self.snapshotter, found[0])
            return self._image(*found)

    def _fetch(self, ref: Named) -> None:
        where = f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}"'
        endpoint = self.mirrors.get(ref.domain, ref.domain)
        if endpoint == ref.domain and not plain_http_allowed(ref.domain, self.insecure):
            raise ImagePullError(
                f"{where}: registry {ref.domain} needs HTTPS, which this node does not speak: "
                "only plain-HTTP registries on 127.0.0.0/8 or named by --insecure-registry "
                "are reachable"
            )
        try:
            name = f"{endpoint}/{ref.path}"
            source = f"{name}@{ref.digest}" if ref.digest else f"{name}:{ref.tag}"
            registry_client.pull(self.layout, source, str(ref))
        except registry_client.RegistryClientError as err:
            if err.status == 404:
                raise ImagePullError(f"{where}: {ref}: not found") from None
            raise ImagePullError(f"{where}: unexpected status from GET request: {err}") from None
        except (OSError, ContentError, ManifestError) as err:
            raise ImagePullError(f"{where}: failed to do request: {err}") from None

    def _fabricate_busybox(self, ref: Named) -> None:
        if ref.digest:
            raise ImagePullError(
                f'failed to pull and unpack image "{ref}": only tags of the local busybox '
                "image exist on this offline node"
            )
        if self._resolve(ref) is not None:
            return
        tmp = Path(tempfile.mkdtemp(prefix="busybox-", dir=self.store))
        try:
            make_busybox_rootfs(tmp / "rootfs")
            image_from_rootfs(self.layout, tmp / "rootfs", str(ref), cmd=["sh"])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def image_config(self, image: str) -> dict:
        """The image config's `config` object (Entrypoint, Cmd, Env, WorkingDir, User)."""
        found = self._resolve(parse_normalized_named(image).with_default_tag())
        if found is None:
            raise ImagePullError(f'image "{image}" not found')
        _m, config, _l = self.layout.image(found[1])
        return json.loads(self.layout.content.read(config.digest)).get("config") or {}

    def prepare_rootfs(self, image: str, key: str, target: str) -> None:
        """A writable snapshot on the image's layers, mounted at target (the bundle rootfs)."""
        found = self._resolve(parse_normalized_named(image).with_default_tag())
        if found is None:
            raise ImagePullError(f'image "{image}" not found')
        os.makedirs(target, exist_ok=True)
        with self._locked():
            top = unpack(self.layout, self.snapshotter, found[0])
            if self.snapshotter.exists(key):
                self.snapshotter.remove(key)
            mounts = self.snapshotter.prepare(key, top)
        mount_all(mounts, target)

    def remove_rootfs(self, key: str, target: str) -> None:
        """Unmount the container's rootfs and drop its writable layer."""
        if os.path.ismount(target):
            unmount(target)
        with self._locked():
            try:
                self.snapshotter.remove(key)
            except SnapshotError:
                pass  # never prepared, or removed by an earlier attempt
