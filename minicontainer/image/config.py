"""The image config (application/vnd.oci.image.config.v1+json) and writing images.

Mirrors image-spec specs-go/v1/config.go (Image, ImageConfig, RootFS, History) and the
commit step of BuildKit's exporter/containerimage (add a layer: append its diff ID to
rootfs.diff_ids, a history entry, write config + manifest into the content store).
`image_from_rootfs` is `docker import`: a directory becomes a one-layer image.
Omitted: created timestamps (left out so digests are reproducible), healthchecks, volumes.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile

from minicontainer.image import manifest
from minicontainer.image.archive import write_diff
from minicontainer.image.layout import Layout
from minicontainer.image.manifest import Descriptor

# level 1: a tenth of the CPU of the default for ~10% larger layers; fixed, so stable
GZIP_LEVEL = 1
DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def empty_config() -> dict:
    plat = manifest.default_platform()
    return {
        "architecture": plat["architecture"],
        "os": "linux",
        "config": {"Env": list(DEFAULT_ENV)},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }


def add_layer_file(
    layout: Layout, config: dict, tar_path: str, diff_id: str, created_by: str
) -> Descriptor:
    """Gzip a finished layer tar into the store (mtime 0: same input, same digest).

    The config records the diff ID (digest of the tar); the manifest the blob digest
    (of the gzip stream), as docker and BuildKit do.
    """
    w = layout.content.writer(f"layer-{os.getpid()}-{os.path.basename(tar_path)}")
    with (
        open(tar_path, "rb") as f,
        open(w.data, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL) as gz,
    ):
        while chunk := f.read(1 << 20):
            gz.write(chunk)
    info = w.commit()
    config["rootfs"]["diff_ids"].append(diff_id)
    config["history"].append({"created_by": created_by})
    return Descriptor(manifest.OCI_LAYER_GZIP, info.digest, info.size)


def layer_from_dir(layout: Layout, config: dict, directory, created_by: str, convert=True):
    fd, tmp = tempfile.mkstemp(prefix="layer-", suffix=".tar", dir=layout.content.ingests)
    try:
        with os.fdopen(fd, "wb") as out:
            diff_id = write_diff(directory, out, convert_whiteouts=convert)
        return add_layer_file(layout, config, tmp, diff_id, created_by)
    finally:
        os.unlink(tmp)


def write_image(layout: Layout, config: dict, layers: list[Descriptor], name: str | None):
    """Store config and manifest; tag the manifest when a name is given."""
    data = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    info = layout.content.put(data)
    cdesc = Descriptor(manifest.OCI_CONFIG, info.digest, info.size)
    mdata = manifest.build_manifest(cdesc, layers)
    layout.content.put(mdata)
    desc = manifest.descriptor_for(manifest.OCI_MANIFEST, mdata)
    if name:
        layout.tag(name, desc)
    return desc


def image_from_rootfs(layout: Layout, rootfs, name: str, cmd: list[str] | None = None):
    """`docker import`: one layer holding the whole directory."""
    config = empty_config()
    if cmd:
        config["config"]["Cmd"] = cmd
    layer = layer_from_dir(layout, config, rootfs, f"import {os.path.basename(rootfs)}", False)
    return write_image(layout, config, [layer], name)
