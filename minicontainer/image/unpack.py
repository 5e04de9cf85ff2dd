"""Unpack an image's layers into snapshots, once per chain ID, and prepare a rootfs.

Mirrors containerd's rootfs/apply.go (ApplyLayers: a snapshot per ChainID, skipped when it
already exists) and core/unpack/unpacker.go. Layers are applied straight into the new
snapshot's directory in overlay form (see archive.apply_layer), then committed under
their chain ID so every image sharing that prefix shares the directories.
Omitted: diff ID verification of compressed layers (the compressed digest is verified).
"""

from __future__ import annotations

import json
import os

from minicontainer.image.archive import apply_layer, chain_ids
from minicontainer.image.layout import Layout
from minicontainer.image.snapshotter import Snapshotter


def unpack(layout: Layout, snapshotter: Snapshotter, name: str) -> str | None:
    """Return the top chain ID of the image (None for an image with no layers)."""
    _m, config_desc, layers = layout.image(layout.resolve(name))
    config = json.loads(layout.content.read(config_desc.digest))
    chains = chain_ids(config["rootfs"]["diff_ids"])
    parent = None
    for chain, layer in zip(chains, layers, strict=True):
        if not snapshotter.exists(chain):
            key = f"extract-{os.getpid()}-{chain[7:19]}"
            snapshotter.prepare(key, parent)
            try:
                apply_layer(layout.content.path(layer.digest), snapshotter.fs_dir(key))
                snapshotter.commit(chain, key)
            except BaseException:
                snapshotter.remove(key)
                raise
        parent = chain
    return parent
