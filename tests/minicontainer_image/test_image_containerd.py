"""containerd as the client: `ctr images pull --plain-http` from our registry, then run.

A private containerd (its own root, state, socket, config; CRI disabled) pulls an image we
built and pushed, unpacks it with its own overlayfs snapshotter and runs it with runc, and
again with minicontainer in runc's place (the runc v2 shim's `--runc-binary`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from minicontainer.image import client
from minicontainer.libcontainer.cgroups import utils as cg

pytestmark = [
    pytest.mark.root,
    pytest.mark.kernel("overlay"),
    pytest.mark.tool("containerd", "ctr", "runc"),
]


@pytest.fixture
def ctr(tmp_path):
    base = tmp_path / "ctd"
    base.mkdir()
    sock = base / "ctd.sock"
    ns = f"mcimg{uuid.uuid4().hex[:8]}"
    (base / "config.toml").write_text(
        f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{sock}"\n[ttrpc]\n  address = "{sock}.ttrpc"\n'
    )
    log = open(base / "containerd.log", "w")  # noqa: SIM115 (closed in the finally below)
    daemon = subprocess.Popen(
        ["containerd", "--config", str(base / "config.toml")], stdout=log, stderr=log
    )
    argv = ["ctr", "-a", str(sock), "-n", ns]
    try:
        for _ in range(300):
            if subprocess.run([*argv, "version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        yield argv
    finally:
        for cid in subprocess.run(
            [*argv, "containers", "ls", "-q"], capture_output=True, text=True
        ).stdout.split():
            subprocess.run([*argv, "task", "delete", "-f", cid], capture_output=True)
            subprocess.run([*argv, "containers", "delete", cid], capture_output=True)
        daemon.terminate()
        daemon.wait(timeout=30)
        log.close()
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if str(base) in line.split()[4]]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(f"/run/containerd/runc/{ns}", ignore_errors=True)
        for mnt, _root in cg.mounts().values():
            top = os.path.join(mnt, ns)
            if os.path.isdir(top):
                for d in sorted(
                    (os.path.join(r, x) for r, ds, _ in os.walk(top) for x in ds), reverse=True
                ):
                    os.rmdir(d)
                os.rmdir(top)


def test_ctr_pulls_from_our_registry_and_runs_it(ctr, registry, busybox_store):
    client.push(busybox_store, "busybox:latest", f"{registry}/library/bb:ctr")
    ref = f"{registry}/library/bb:ctr"
    pull = subprocess.run(
        [*ctr, "images", "pull", "--plain-http", ref], capture_output=True, text=True, timeout=120
    )
    assert pull.returncode == 0, pull.stderr
    listed = subprocess.run(
        [*ctr, "images", "ls", "-q"], capture_output=True, text=True
    ).stdout.split()
    assert ref in listed
    check = subprocess.run([*ctr, "images", "check"], capture_output=True, text=True).stdout
    assert "complete" in check
    run = subprocess.run(
        [*ctr, "run", "--rm", ref, f"c{uuid.uuid4().hex[:6]}", "sh", "-c", "echo from-ctr; exit 4"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert run.stdout == "from-ctr\n" and run.returncode == 4, run.stderr


def test_ctr_runs_our_image_with_minicontainer(ctr, registry, busybox_store, tmp_path):
    """The whole chain without runc: our registry → containerd → the shim → minicontainer."""
    ref = f"{registry}/library/bb:mc"
    client.push(busybox_store, "busybox:latest", ref)
    pull = subprocess.run(
        [*ctr, "images", "pull", "--plain-http", ref], capture_output=True, text=True, timeout=120
    )
    assert pull.returncode == 0, pull.stderr
    calls = tmp_path / "calls.log"
    runtime = tmp_path / "minicontainer"
    runtime.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\nexec {sys.executable} -m minicontainer "$@"\n'
    )
    runtime.chmod(0o755)
    run = subprocess.run(
        [
            *ctr,
            "run",
            "--rm",
            "--runc-binary",
            str(runtime),
            ref,
            f"m{uuid.uuid4().hex[:6]}",
            "sh",
            "-c",
            "echo from-minicontainer; exit 5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert (run.returncode, run.stdout) == (5, "from-minicontainer\n"), run.stderr
    # The shim drove the container through our CLI, not through runc.
    assert {"create", "start", "delete"} <= set(calls.read_text().split())
