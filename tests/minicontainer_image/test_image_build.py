"""Dockerfile builds through the real CLI, RUN steps executed by the runtimes."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from minicontainer.image import cli as image_cli

from .conftest import REPO

pytestmark = [pytest.mark.root, pytest.mark.kernel("overlay")]


def cli(store: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The image CLI: in-process (same main()), or a real process for `image run`,
    whose container writes to the inherited file descriptors."""
    argv = ["--store", str(store), *args]
    if args[:2] == ("image", "run"):
        cmd = [sys.executable, "-m", "minicontainer.image.cli", *argv]
        res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    else:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = image_cli.main(argv)
        res = subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())
    if check:
        assert res.returncode == 0, res.stderr + res.stdout
    return res


@pytest.fixture(scope="module")
def base_store(tmp_path_factory, busybox_rootfs):
    s = tmp_path_factory.mktemp("base") / "store"
    cli(s, "image", "import", str(busybox_rootfs), "busybox")
    return s


@pytest.fixture
def store(tmp_path, base_store):
    s = tmp_path / "store"
    shutil.copytree(base_store, s, symlinks=True)
    yield s
    shutil.rmtree(s / "run", ignore_errors=True)


def layer_count(store: Path, name: str) -> list[str]:
    return json.loads(cli(store, "image", "inspect", name).stdout)[0]["Layers"]


def write_context(ctx: Path, dockerfile: str, files: dict[str, str]) -> Path:
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_text(text)
    return ctx


DOCKERFILE = """\
FROM busybox
ARG WHO=world
ENV GREETING="hello ${WHO}"
WORKDIR /app
COPY --chown=nobody:nobody a.txt ./
RUN echo "$GREETING" > /app/b.txt && rm /bin/vi
CMD ["cat", "/app/b.txt"]
"""


def test_build_cache_whiteout_and_run(store, tmp_path):
    ctx = write_context(
        tmp_path / "ctx", DOCKERFILE, {"a.txt": "A", "secret": "s", ".dockerignore": "secret\n"}
    )
    first = cli(store, "build", "-t", "demo:1", str(ctx)).stdout.split()[-1]
    blobs = set((store / "images" / "blobs" / "sha256").iterdir())
    again = cli(store, "build", "-t", "demo:1", str(ctx))
    assert again.stdout.split()[-1] == first and again.stdout.count("CACHED") == 2
    assert set((store / "images" / "blobs" / "sha256").iterdir()) == blobs  # no new layer
    assert cli(store, "image", "run", "demo:1").stdout == "hello world\n"
    out = cli(
        store,
        "image",
        "run",
        "demo:1",
        "sh",
        "-c",
        "ls /bin/vi; stat -c %U /app/a.txt",
        check=False,
    )
    assert "No such file" in out.stdout + out.stderr and "nobody" in out.stdout
    # a changed input re-runs only what depends on it, and the digest changes
    changed = cli(store, "build", "--build-arg", "WHO=you", "-t", "demo:2", str(ctx))
    assert changed.stdout.count("CACHED") == 1 and changed.stdout.split()[-1] != first
    history = cli(store, "image", "history", "demo:1").stdout
    assert "RUN echo" in history and "import" in history
    assert len(layer_count(store, "demo:1")) == 3


def test_layer_digests_are_stable_across_stores(tmp_path, busybox_rootfs):
    digests = []
    ctx = write_context(tmp_path / "ctx", "FROM busybox\nCOPY a.txt /a.txt\n", {"a.txt": "A"})
    for i in range(2):
        s = tmp_path / f"s{i}"
        cli(s, "image", "import", str(busybox_rootfs), "busybox")
        digests.append(cli(s, "build", "-t", "x", str(ctx)).stdout.split()[-1])
        (ctx / "a.txt").touch()  # a new mtime must not change the layer
    assert digests[0] == digests[1]


def test_multi_stage_copy_from_and_failed_run(store, tmp_path):
    df = """\
FROM busybox AS builder
RUN mkdir /out && echo built > /out/artifact
FROM scratch
COPY --from=builder /out/artifact /artifact
COPY --from=builder /bin/busybox /bin/sh
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /artifact"]
"""
    ctx = write_context(tmp_path / "ms", df, {})
    cli(store, "build", "-t", "ms:1", str(ctx))
    assert cli(store, "image", "run", "ms:1").stdout == "built\n"
    assert len(layer_count(store, "ms:1")) == 2
    bad = write_context(tmp_path / "bad", "FROM busybox\nRUN exit 3\n", {})
    res = cli(store, "build", "-t", "bad", str(bad), check=False)
    assert res.returncode == 125
    assert 'process "/bin/sh -c exit 3" did not complete successfully: exit code: 3' in res.stderr


@pytest.mark.tool("runc")
def test_runc_runtime_builds_the_same_layer(store, tmp_path):
    ctx = write_context(tmp_path / "r", "FROM busybox\nRUN echo x > /x\n", {})
    ours = cli(store, "build", "-t", "r:1", str(ctx)).stdout.split()[-1]
    cli(store, "image", "rm", "r:1")
    (store / "images" / "buildcache.json").unlink()
    theirs = cli(store, "build", "--runtime", "runc", "-t", "r:1", str(ctx)).stdout.split()[-1]
    assert ours == theirs


def test_example_web_image_builds_runs_and_serves(store, tmp_path):
    cli(store, "build", "-t", "demo/web:1", str(REPO / "examples" / "images" / "web"))
    export = tmp_path / "exported"
    cli(store, "image", "export", "demo/web:1", str(export))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "minicontainer.image.cli", "--store", str(store), "image", "run"]
    cmd += ["demo/web:1", "sh", "-c", f"exec httpd -f -p 127.0.0.1:{port} -h /var/www"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body = b""
        for _ in range(100):
            try:
                body = urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/build.txt", timeout=2
                ).read()
                break
            except OSError:
                time.sleep(0.1)
        assert body == b"built for port 8080\n"
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
        assert b"Hello from a minicontainer image" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    layers = sorted((export / "blobs" / "sha256").iterdir(), key=lambda p: p.stat().st_size)
    names = set()
    for p in layers:
        if tarfile.is_tarfile(p):
            with tarfile.open(p) as tf:
                names |= set(tf.getnames())
    assert "var/www/.wh.notes.txt" in names


def test_scan_import_export_push_pull_and_rm_through_the_cli(store, tmp_path, registry):
    status = "Package: openssl\nStatus: install ok installed\nVersion: 3.0.2-1\n"
    df = "FROM scratch\nCOPY status /var/lib/dpkg/status\n"
    ctx = write_context(tmp_path / "scan", df, {"status": status})
    cli(store, "build", "-t", "pkgs:1", str(ctx))
    adv = tmp_path / "advisories.json"
    adv.write_text(
        json.dumps(
            [{"id": "CVE-2099-1", "ecosystem": "deb", "package": "openssl", "fixed": "3.0.9"}]
        )
    )
    res = cli(store, "image", "scan", "pkgs:1", "--advisories", str(adv), check=False)
    assert res.returncode == 1 and "CVE-2099-1" in res.stdout and "3.0.2-1" in res.stdout
    refused = cli(store, "push", "pkgs:1", f"{registry}/cli/pkgs:1", check=False)
    assert refused.returncode == 125 and "--tls-verify=false" in refused.stderr
    pushed = cli(store, "push", "pkgs:1", f"{registry}/cli/pkgs:1", "--tls-verify=false")
    other = tmp_path / "other-store"
    pulled = cli(other, "pull", f"{registry}/cli/pkgs:1", "copy:1", "--tls-verify=false")
    assert pulled.stdout.split()[-1] == pushed.stdout.split()[-1]
    assert "copy" in cli(other, "image", "ls").stdout
    # export → import under a new name keeps the digest; rm + prune drops unreferenced blobs
    cli(store, "image", "export", "pkgs:1", str(tmp_path / "out"))
    cli(store, "image", "import", str(tmp_path / "out"), "again:1")
    ids = {line.split()[2] for line in cli(store, "image", "ls").stdout.splitlines()[1:]}
    assert len(ids) == 2  # busybox and pkgs (again:1 is the same image)
    cli(store, "image", "rm", "pkgs:1", "again:1")
    missing = cli(store, "image", "inspect", "pkgs:1", check=False)
    assert missing.returncode == 125 and "not found" in missing.stderr
    blobs = {p.name for p in (store / "images" / "blobs" / "sha256").iterdir()}
    assert len(blobs) == 3  # only busybox's manifest, config and layer remain
