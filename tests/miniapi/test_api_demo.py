"""`python -m miniapi` runs on the example manifests and exits 0 (what `make demo` runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_on_examples(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "miniapi", "examples/manifests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert '"code": 422' in out.stdout
    assert "1Gi" in out.stdout


def test_demo_reports_invalid_manifest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\n  namespace: d\nspec: {}\n---\napiVersion: v1\nkind: Widget\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "miniapi", "--summary", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert 'no kind "Widget" is registered for version "v1"' in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
