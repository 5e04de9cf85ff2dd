"""Real peers on the wire: skopeo copies through our registry, umoci unpacks our image."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from minicontainer.image import client
from minicontainer.image.layout import Layout, export_path

pytestmark = pytest.mark.tool("skopeo")


def run(*cmd: str) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"{cmd}: {res.stderr}"
    return res.stdout


def blobs(layout_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (layout_dir / "blobs" / "sha256").iterdir()}


def test_skopeo_copy_inspect_list_tags_round_trip(registry, busybox_store, tmp_path):
    src = tmp_path / "oci-src"
    desc = export_path(busybox_store, "busybox:latest", str(src))
    ref = f"docker://{registry}/library/busybox:1"
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{src}", ref)
    info = json.loads(run("skopeo", "inspect", "--tls-verify=false", ref))
    assert info["Digest"] == desc.digest and info["Architecture"]
    tags = json.loads(
        run("skopeo", "list-tags", "--tls-verify=false", f"docker://{registry}/library/busybox")
    )
    assert tags["Tags"] == ["1"]
    back = tmp_path / "oci-back"
    run("skopeo", "copy", "--src-tls-verify=false", ref, f"oci:{back}:1")
    assert blobs(back) == blobs(src)  # byte-identical manifest, config and layer
    raw = run("skopeo", "inspect", "--raw", "--tls-verify=false", ref)
    assert raw.encode() == (src / "blobs" / "sha256" / desc.digest[7:]).read_bytes()


def test_our_client_pulls_what_skopeo_pushed_and_skopeo_reads_what_we_push(
    registry, busybox_store, tmp_path
):
    client.push(busybox_store, "busybox:latest", f"{registry}/mine/bb:v2")
    raw = json.loads(
        run("skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry}/mine/bb:v2")
    )
    assert raw["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    out = tmp_path / "dir-copy"
    run("skopeo", "copy", "--src-tls-verify=false", f"docker://{registry}/mine/bb:v2", f"dir:{out}")
    mine = Layout(tmp_path / "pulled")
    top = client.pull(mine, f"{registry}/mine/bb:v2", "bb:v2")
    assert top.digest == busybox_store.resolve("busybox:latest").digest


@pytest.mark.tool("umoci")
@pytest.mark.root
def test_umoci_unpacks_an_image_we_built(busybox_store, tmp_path):
    src = tmp_path / "oci"
    export_path(busybox_store, "busybox:latest", str(src))
    run("umoci", "unpack", "--image", f"{src}:latest", str(tmp_path / "bundle"))
    rootfs = tmp_path / "bundle" / "rootfs"
    assert (rootfs / "bin" / "busybox").stat().st_size == Path("/bin/busybox").stat().st_size
    assert (rootfs / "bin" / "sh").readlink() == Path("busybox")
    cfg = json.loads((tmp_path / "bundle" / "config.json").read_text())
    assert cfg["process"]["args"] == ["sh"]
