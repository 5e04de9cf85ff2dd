"""Real containerd using minicontainer in runc's place.

Debian's containerd 1.6 runs with its own root/state/socket under a temp
dir and the CRI plugin disabled; a busybox OCI image built here is imported
and run through the runc v2 shim with `--runc-binary` pointing at our
wrapper: run (exit status), run -d, task exec, pause/resume, ps, kill,
delete, and -t (the shim's console socket). Teardown stops containerd and
removes what the shim and ctr leave behind (runc root, /<ns> cgroups, mounts).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
import uuid

import pytest

from minicontainer.libcontainer.cgroups import utils as cg

pytestmark = [
    pytest.mark.root,
    pytest.mark.kernel("cgroup", "overlay"),
    pytest.mark.tool("containerd", "ctr", "script"),
]

IMAGE = "docker.io/library/mcbusybox:latest"


def oci_image_tar(rootfs, dest) -> None:
    """An OCI image layout tarball (one uncompressed layer) that `ctr images import` takes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        t.add(str(rootfs), arcname=".")
    layer = buf.getvalue()
    digest = lambda data: "sha256:" + hashlib.sha256(data).hexdigest()  # noqa: E731
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [digest(layer)]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    annotations = {"io.containerd.image.name": IMAGE, "org.opencontainers.image.ref.name": "latest"}
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest(manifest),
                    "size": len(manifest),
                    "annotations": annotations,
                }
            ],
        }
    ).encode()
    with tarfile.open(dest, "w") as t:
        files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
        for data in (layer, config, manifest):
            files["blobs/sha256/" + digest(data)[7:]] = data
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def _umount_under(path: str) -> None:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f if line.split()[4].startswith(path)]
    for p in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)


@pytest.fixture
def containerd(tmp_path, rootfs, runtimes):
    base = tmp_path / "ctd"
    base.mkdir()
    sock = base / "ctd.sock"
    ns = f"mctest{uuid.uuid4().hex[:8]}"
    (base / "config.toml").write_text(
        f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{sock}"\n[ttrpc]\n  address = "{sock}.ttrpc"\n'
    )
    with open(base / "containerd.log", "w") as log:
        daemon = subprocess.Popen(
            ["containerd", "--config", str(base / "config.toml")], stdout=log, stderr=log
        )
        ctr = ["ctr", "-a", str(sock), "-n", ns]
        try:
            for _ in range(200):
                if subprocess.run([*ctr, "version"], capture_output=True).returncode == 0:
                    break
                time.sleep(0.05)
            oci_image_tar(rootfs, base / "image.tar")
            subprocess.run(
                [*ctr, "images", "import", str(base / "image.tar")], check=True, capture_output=True
            )
            yield ctr, runtimes["minicontainer"].argv[0]
        finally:
            for cid in subprocess.run(
                [*ctr, "task", "ls", "-q"], capture_output=True, text=True
            ).stdout.split():
                subprocess.run([*ctr, "task", "kill", "-s", "KILL", cid], capture_output=True)
                subprocess.run([*ctr, "task", "delete", "-f", cid], capture_output=True)
            for cid in subprocess.run(
                [*ctr, "containers", "ls", "-q"], capture_output=True, text=True
            ).stdout.split():
                subprocess.run([*ctr, "containers", "delete", cid], capture_output=True)
            daemon.terminate()
            daemon.wait(timeout=30)
            _umount_under(str(base))
            shutil.rmtree(f"/run/containerd/runc/{ns}", ignore_errors=True)
            for mnt, _root in cg.mounts().values():
                cg.remove_path(os.path.join(mnt, ns))


def _ctr(ctr, *args, timeout=60):
    return subprocess.run(
        [*ctr, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def test_ctr_run_uses_minicontainer(containerd, tmp_path):
    ctr, binary = containerd
    calls = tmp_path / "calls.log"
    spy = tmp_path / "spy"
    spy.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {binary} "$@"\n')
    spy.chmod(0o755)
    out = _ctr(
        ctr, "run", "--rm", "--runc-binary", str(spy), IMAGE, "c1", "sh", "-c", "echo hi; exit 3"
    )
    assert (out.returncode, out.stdout) == (3, "hi\n"), out.stderr
    commands = [line.split() for line in calls.read_text().splitlines()]
    verbs = [c[c.index("json") + 1] for c in commands]
    assert verbs[:2] == ["create", "start"] and "delete" in verbs
    assert all(c[:1] == ["--root"] and "--log-format" in c for c in commands)

    assert (
        _ctr(ctr, "run", "-d", "--runc-binary", str(spy), IMAGE, "c2", "sleep", "100").returncode
        == 0
    )
    ex = _ctr(ctr, "task", "exec", "--exec-id", "e1", "c2", "sh", "-c", "echo in-exec; exit 4")
    assert (ex.returncode, ex.stdout) == (4, "in-exec\n"), ex.stderr
    # `task exec -t`: the shim runs `exec --process F --detach --console-socket S`
    exec_tty = " ".join([*ctr, "task", "exec", "-t", "--exec-id", "e2", "c2"])
    exec_tty += " sh -c 'tty; echo exec-tty-ok'"
    tty = subprocess.run(
        ["script", "-qec", exec_tty, "/dev/null"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "/dev/pts/" in tty.stdout and "exec-tty-ok" in tty.stdout, tty.stdout + tty.stderr
    assert _ctr(ctr, "task", "pause", "c2").returncode == 0
    assert "PAUSED" in _ctr(ctr, "task", "ls").stdout
    assert _ctr(ctr, "task", "resume", "c2").returncode == 0
    ps = _ctr(ctr, "task", "ps", "c2")
    assert ps.returncode == 0 and len(ps.stdout.splitlines()) == 2
    assert _ctr(ctr, "task", "kill", "-s", "KILL", "c2").returncode == 0
    for _ in range(100):
        if "STOPPED" in _ctr(ctr, "task", "ls").stdout:
            break
        time.sleep(0.05)
    assert _ctr(ctr, "task", "delete", "c2").returncode == 0
    assert _ctr(ctr, "containers", "delete", "c2").returncode == 0

    inner = " ".join(
        [
            *ctr,
            "run",
            "-t",
            "--rm",
            "--runc-binary",
            str(spy),
            IMAGE,
            "c3",
            "sh",
            "-c",
            "'tty; echo tty-ok'",
        ]
    )
    tty = subprocess.run(
        ["script", "-qec", inner, "/dev/null"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "/dev/pts/0" in tty.stdout and "tty-ok" in tty.stdout, tty.stdout + tty.stderr
    assert any(
        "--console-socket" in c
        for c in commands + [line.split() for line in calls.read_text().splitlines()]
    )
