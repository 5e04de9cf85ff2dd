"""A local image store: image reference -> read-only root filesystem + overlay per container.

Mirrors the role of the CRI ImageService (PullImage, ImageStatus in cri-api's api.proto)
and of containerd's overlayfs snapshotter: an image is an unpacked read-only lower
directory; each container gets an overlayfs whose upper and work dirs are its own.
The `busybox` image (any tag) is built locally from Debian's busybox-static.
Omitted: pulling from registries, OCI-layout/tarball import, multi-layer images, image GC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BUSYBOX = "/bin/busybox"


class ImageNotFound(Exception):
    """ErrImagePull: the reference names no image this store can produce."""


def normalize(image: str) -> tuple[str, str]:
    """('busybox', 'latest') for 'busybox', 'docker.io/library/busybox:1.36' and so on."""
    name, _, digest = image.partition("@")
    if digest:
        return name.rsplit("/", 1)[-1], digest
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        repo, tag = name, "latest"
    return repo.rsplit("/", 1)[-1], tag


class ImageStore:
    """Images under <root>/images/<name>/rootfs (lower dirs shared by all containers)."""

    def __init__(self, root: str) -> None:
        self.root = Path(root, "images")

    def pull_image(self, image: str) -> str:
        """The image's lower dir, building busybox on first use; raises ImageNotFound."""
        name, _ = normalize(image)
        lower = self.root / name / "rootfs"
        if lower.is_dir():
            return str(lower)
        if name != "busybox":
            raise ImageNotFound(f'failed to resolve reference "{image}": not found')
        self._build_busybox(lower)
        return str(lower)

    def list_images(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(f"{p.name}:latest" for p in self.root.iterdir() if (p / "rootfs").is_dir())

    @staticmethod
    def _build_busybox(lower: Path) -> None:
        tmp = lower.with_name(f"rootfs.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        for d in ("bin", "proc", "sys", "dev", "etc", "tmp", "var/www", "root"):
            (tmp / d).mkdir(parents=True, exist_ok=True)
        shutil.copy2(BUSYBOX, tmp / "bin" / "busybox")
        applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout
        for applet in applets.split():
            if applet != "busybox":
                os.symlink("busybox", tmp / "bin" / applet)
        (tmp / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (tmp / "etc" / "group").write_text("root:x:0:\n")
        (tmp / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
        # The rename makes the build atomic for two kubelets racing on the same root.
        try:
            tmp.rename(lower)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)


def mount_rootfs(lower: str, container_dir: str) -> str:
    """Mount lower + a fresh upper as overlayfs at <container_dir>/rootfs; return that path."""
    upper, work, merged = (os.path.join(container_dir, d) for d in ("upper", "work", "rootfs"))
    for d in (upper, work, merged):
        os.makedirs(d, exist_ok=True)
    if not os.path.ismount(merged):
        opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, merged], check=True)
    return merged


def unmount_rootfs(container_dir: str) -> None:
    """Unmount and remove the container's overlay (the upper layer is thrown away)."""
    merged = os.path.join(container_dir, "rootfs")
    if os.path.ismount(merged):
        subprocess.run(["umount", "-l", merged], check=False)
    shutil.rmtree(container_dir, ignore_errors=True)
