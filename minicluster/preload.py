"""Images every node has before its kubelet starts, as kind's node image preloads them.

Mirrors kind's `kind build node-image` (the images the cluster needs are imported into
the node's containerd at build time, so pods never wait for a pull). Here that is the
busybox image the demo and the e2e use, fabricated into each node's image store (the
kubelet's default `<root-dir>/image-store`) while the control plane starts, so that the
first pods on a node do not all queue behind one image being built.
Omitted: `kind load docker-image` (minicontainer's `image import` does that job).
"""

from __future__ import annotations

from pathlib import Path

from minikubelet.images import ImagePullError, ImageService

PRELOADED = ("busybox",)


def preload_images(root_dirs: list[Path]) -> None:
    """Pull (fabricate) the preloaded images into each node's image store, best effort."""
    for root in root_dirs:
        service = ImageService(str(root / "image-store"))
        for image in PRELOADED:
            try:
                service.pull_image(image)
            except (ImagePullError, OSError):
                continue  # not preloaded: the kubelet pulls it when a pod wants it
