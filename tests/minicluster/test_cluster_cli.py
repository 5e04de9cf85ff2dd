"""The command line's refusals and no-ops, without bringing a cluster up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "minicluster", *args], capture_output=True,
                          text=True, timeout=60, cwd=REPO)  # fmt: skip


def test_a_bad_cluster_name_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    out = run("up", "--name", "Bad-Name", "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 2
    assert 'invalid cluster name "Bad-Name"' in out.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.root
def test_down_of_a_cluster_that_never_was_is_a_no_op(tmp_path: Path) -> None:
    out = run("down", "--name", "never", "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 0 and "nothing was left" in out.stdout
