"""Fixtures: a busybox base image made from /bin/busybox, and a registry subprocess."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUSYBOX = "/bin/busybox"


def make_busybox_rootfs(root: Path) -> Path:
    """A minimal rootfs: busybox with its applets as symlinks, /etc/passwd, /tmp."""
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var/www"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout.split()
    for a in applets:
        if a != "busybox":
            (root / "bin" / a).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\nnobody:x:65534:\n")
    os.chmod(root / "tmp", 0o1777)
    return root


def start_registry(root: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    addr = f"127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "minicontainer.registry", "--addr", addr, "--root", str(root)]
    proc = subprocess.Popen([*cmd, *extra], cwd=REPO, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{addr}/v2/", timeout=2).read()
            return proc, addr
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("registry exited early") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("registry did not start")


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory):
    """One registry process per test module (tests use distinct repository names)."""
    root = tmp_path_factory.mktemp("registry") / "root"
    proc, addr = start_registry(root)
    yield addr, root
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def registry(registry_server) -> str:
    return registry_server[0]


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory) -> Path:
    return make_busybox_rootfs(tmp_path_factory.mktemp("bbroot") / "rootfs")


@pytest.fixture(scope="session")
def busybox_store(tmp_path_factory, busybox_rootfs):
    """An image store holding busybox:latest, imported from the rootfs directory."""
    from minicontainer.image.config import image_from_rootfs
    from minicontainer.image.layout import Layout

    layout = Layout(tmp_path_factory.mktemp("store") / "images")
    image_from_rootfs(layout, busybox_rootfs, "busybox:latest", cmd=["sh"])
    return layout
