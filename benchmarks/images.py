"""Image figures: registry push/pull throughput vs skopeo to a directory, and build caching.

  push_mb_s / pull_mb_s   a 100 MB one-layer image pushed to / pulled from our registry
                          (python -m minicontainer.registry on 127.0.0.1) by our client;
  skopeo_pull_mb_s        skopeo copy docker://our-registry → dir: (a real client pulling
                          from our registry);
  skopeo_dir_mb_s         skopeo copy oci:LAYOUT → dir: with no network at all: the floor;
  build_s / cached_build_s  the examples/images/web build from an empty cache, then again.
One JSON line per figure, with ratios to the floor. Needs root (RUN uses overlayfs mounts).

Run from the repo root: .venv/bin/python benchmarks/images.py [--mb 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "minicontainer_image"))

from conftest import make_busybox_rootfs, start_registry  # noqa: E402

from minicontainer.image import client, manifest  # noqa: E402
from minicontainer.image.layout import Layout, export_path  # noqa: E402


def big_image(layout: Layout, mb: int) -> None:
    w = layout.content.writer("bench")
    with open(w.data, "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1 << 20))
    info = w.commit()
    cfg = layout.content.put(
        json.dumps({"rootfs": {"type": "layers", "diff_ids": [info.digest]}}).encode()
    )
    m = manifest.build_manifest(
        manifest.Descriptor(manifest.OCI_CONFIG, cfg.digest, cfg.size),
        [manifest.Descriptor(manifest.OCI_LAYER, info.digest, info.size)],
    )
    layout.content.put(m)
    layout.tag("big:1", manifest.descriptor_for(manifest.OCI_MANIFEST, m))


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def emit(name: str, value: float, unit: str, **extra) -> None:
    print(json.dumps({"figure": name, "value": round(value, 3), "unit": unit, **extra}), flush=True)


def registry_figures(tmp: Path, mb: int) -> None:
    src = Layout(tmp / "src")
    big_image(src, mb)
    proc, addr = start_registry(tmp / "registry")
    try:
        floor = timed(
            lambda: run("skopeo", "copy", f"oci:{export(src, tmp)}", f"dir:{tmp / 'floor'}")
        )
        emit("skopeo_dir_mb_s", mb / floor, "MB/s", peer="skopeo oci:→dir:")
        push = timed(lambda: client.push(src, "big:1", f"{addr}/bench/big:1"))
        emit("push_mb_s", mb / push, "MB/s", ratio_to_floor=round(floor / push, 3))
        pull = timed(lambda: client.pull(Layout(tmp / "dst"), f"{addr}/bench/big:1"))
        emit("pull_mb_s", mb / pull, "MB/s", ratio_to_floor=round(floor / pull, 3))
        sk = timed(
            lambda: run(
                "skopeo",
                "copy",
                "--src-tls-verify=false",
                f"docker://{addr}/bench/big:1",
                f"dir:{tmp / 'sk'}",
            )
        )
        emit("skopeo_pull_mb_s", mb / sk, "MB/s", ratio_to_floor=round(floor / sk, 3))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def export(layout: Layout, tmp: Path) -> Path:
    out = tmp / "oci"
    if not out.exists():
        export_path(layout, "big:1", str(out))
    return out


def build_figures(tmp: Path) -> None:
    store = tmp / "store"
    rootfs = make_busybox_rootfs(tmp / "rootfs")
    base = [sys.executable, "-m", "minicontainer.image.cli", "--store", str(store)]
    run(*base, "image", "import", str(rootfs), "busybox")
    ctx = str(REPO / "examples" / "images" / "web")
    first = timed(lambda: run(*base, "build", "-t", "demo/web:1", ctx))
    emit("build_s", first, "s", example="examples/images/web")
    second = timed(lambda: run(*base, "build", "-t", "demo/web:1", ctx))
    emit("cached_build_s", second, "s", ratio_to_first=round(second / first, 3))


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO, timeout=300)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=int, default=100)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mc-bench-images-"))
    try:
        registry_figures(tmp, args.mb)
        if os.geteuid() == 0:
            build_figures(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
