"""Fixtures for minicontainer: a busybox rootfs, bundles, and three runtimes.

The rootfs is built once per session from Debian's static busybox with its
applets symlinked (nothing is committed). Every runtime gets its own temp
`--root`; the finalizer force-deletes whatever a test left behind, so
containers, cgroups and state dirs never outlive a failing test.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUSYBOX = "/bin/busybox"


def build_rootfs(dest: Path) -> Path:
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True).stdout.split()
    for name in applets:
        if name != "busybox":
            os.symlink("busybox", dest / "bin" / name)
    (dest / "etc").mkdir()
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (dest / "etc" / "group").write_text("root:x:0:\n")
    for d in ("proc", "sys", "dev", "tmp", "root"):
        (dest / d).mkdir(exist_ok=True)
    return dest


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory) -> Path:
    return build_rootfs(tmp_path_factory.mktemp("mc-rootfs") / "rootfs")


@pytest.fixture(scope="session")
def public_rootfs():
    """A rootfs on a world-searchable path: a user namespace's root is "other" on the host."""
    top = Path(tempfile.mkdtemp(prefix=f"mc-rootfs-{os.getpid()}-", dir="/tmp"))
    top.chmod(0o755)
    yield build_rootfs(top / "rootfs")
    shutil.rmtree(top, ignore_errors=True)


def wrapper_script(dest: Path) -> Path:
    """The `minicontainer` executable as a newcomer installs it: the lean launcher."""
    from minicontainer.cli.launcher import write_launcher

    return Path(write_launcher(str(dest)))


class Runtime:
    """One OCI runtime CLI with its own state root."""

    def __init__(self, name: str, argv: list[str], root: Path) -> None:
        self.name = name
        self.argv = argv
        self.root = root

    def cmd(self, *args: str) -> list[str]:
        if self.name == "crun":
            # crun refuses this hybrid layout unless cgroup2 is hidden from it.
            inner = " ".join(_sh_quote(a) for a in [*self.argv, "--root", str(self.root), *args])
            return ["unshare", "-m", "sh", "-c", f"umount /sys/fs/cgroup/unified; exec {inner}"]
        return [*self.argv, "--root", str(self.root), *args]

    def __call__(self, *args: str, timeout: float = 30, **kw) -> subprocess.CompletedProcess:
        """Run a command; output goes through temp files, not pipes, because a detached
        container inherits them and a pipe would never reach EOF."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            kw.setdefault("stdin", subprocess.DEVNULL)
            proc = subprocess.run(self.cmd(*args), timeout=timeout, stdout=out, stderr=err, **kw)
            out.seek(0)
            err.seek(0)
            proc.stdout = out.read().decode(errors="replace")
            proc.stderr = err.read().decode(errors="replace")
        return proc

    def cleanup(self) -> None:
        if self.root.is_dir():
            for cid in os.listdir(self.root):
                subprocess.run(self.cmd("delete", "-f", cid), capture_output=True, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def _sh_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


@pytest.fixture
def runtimes(tmp_path):
    """{'minicontainer', 'runc', 'crun'} → Runtime, each with a fresh root."""
    wrapper = wrapper_script(tmp_path / "minicontainer")
    rts = {
        "minicontainer": Runtime("minicontainer", [str(wrapper)], tmp_path / "root-mc"),
        "runc": Runtime("runc", ["runc"], tmp_path / "root-runc"),
        "crun": Runtime("crun", ["crun"], tmp_path / "root-crun"),
    }
    yield rts
    for rt in rts.values():
        rt.cleanup()


@pytest.fixture
def mc(runtimes) -> Runtime:
    return runtimes["minicontainer"]


def base_spec(rootfs: Path, args: list[str]) -> dict:
    from minicontainer.cli.spec_cmd import example

    spec = copy.deepcopy(example())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = args
    spec["root"]["path"] = str(rootfs)
    return spec


@pytest.fixture
def make_bundle(tmp_path, rootfs):
    """make_bundle(args, mutate=None) → a bundle dir whose config.json runs `args`."""

    def make(args: list[str], mutate=None) -> Path:
        bundle = tmp_path / f"bundle-{uuid.uuid4().hex[:8]}"
        bundle.mkdir()
        spec = base_spec(rootfs, args)
        if mutate:
            mutate(spec)
        (bundle / "config.json").write_text(json.dumps(spec, indent="\t"))
        return bundle

    return make


@pytest.fixture
def new_id():
    """new_id() → a container id no other test (or helper) on this machine uses."""
    return lambda prefix="mc": f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
