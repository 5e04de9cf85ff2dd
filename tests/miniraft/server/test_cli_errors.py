"""Command-line errors come out in etcd's words with exit code 1, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "miniraft", *args], capture_output=True, text=True, timeout=60
    )


def test_serve_with_name_missing_from_initial_cluster(tmp_path) -> None:
    r = run(
        "serve", "--name", "n9", "--data-dir", str(tmp_path / "d"),
        "--listen-client-urls", "http://127.0.0.1:0", "--listen-peer-urls", "http://127.0.0.1:0",
        "--initial-cluster", "n1=http://127.0.0.1:1",
    )  # fmt: skip
    assert r.returncode == 1
    errors = [json.loads(line)["error"] for line in r.stderr.splitlines() if '"error"' in line]
    assert errors == ['couldn\'t find local name "n9" in the initial cluster configuration']
    assert "Traceback" not in r.stderr


def test_restore_rejects_a_corrupt_backup(tmp_path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"MRSNAP1\n" + b"\0" * 600)
    r = run("snapshot", "restore", str(bad), "--data-dir", str(tmp_path / "r"))
    assert r.returncode == 1
    assert r.stderr.startswith("Error: snapshot: sha256 mismatch")
    assert not (tmp_path / "r").exists()


def test_help_lists_the_subcommands() -> None:
    r = run("--help")
    assert r.returncode == 0 and "serve" in r.stdout and "snapshot restore" in r.stdout
