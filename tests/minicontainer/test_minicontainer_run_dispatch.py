"""`run` with a bundle is runc's run; with a stored image it is docker's `run IMAGE [CMD]`.

The rule (lifecycle.RUN_HELP): a bundle given (--bundle/-b) or found (./config.json)
wins; otherwise a first argument naming an image in the store runs that image;
otherwise runc's own error. Each test drives the real CLI over a real image store,
overlay mount and container.
"""

from __future__ import annotations

import subprocess

import pytest

from minicontainer.cli.launcher import write_launcher

pytestmark = [pytest.mark.root, pytest.mark.kernel("cgroup", "netns", "overlay")]


@pytest.fixture(scope="module")
def store(rootfs, tmp_path_factory):
    """An image store holding demo:latest, imported once from the busybox rootfs directory."""
    top = tmp_path_factory.mktemp("mc-dispatch")
    path = top / "store"
    launcher = write_launcher(str(top / "minicontainer"))
    argv = [launcher, "image", "import", "--store", str(path), str(rootfs), "demo"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return path


def test_run_image_runs_the_stored_image(mc, store, tmp_path):
    script = "echo from-image; exit 3"
    out = mc("run", "--store", str(store), "demo", "sh", "-c", script, cwd=tmp_path)
    assert (out.returncode, out.stdout) == (3, "from-image\n"), out.stderr
    # the image path keeps its runtime state under the store (image run's choice): all gone
    assert not any((store / "run").iterdir())


def test_a_bundle_in_the_cwd_wins_over_an_image_of_the_same_name(mc, store, make_bundle):
    bundle = make_bundle(["sh", "-c", "echo from-bundle; exit 5"])
    out = mc("run", "--store", str(store), "demo", cwd=bundle)
    assert (out.returncode, out.stdout) == (5, "from-bundle\n"), out.stderr
    flagged = mc("run", "--store", str(store), "-b", str(bundle), "demo", cwd=store)
    assert (flagged.returncode, flagged.stdout) == (5, "from-bundle\n"), flagged.stderr


def test_neither_bundle_nor_image_is_runcs_error_and_creates_no_store(mc, tmp_path):
    missing = tmp_path / "no-store"
    out = mc("run", "--store", str(missing), "demo", cwd=tmp_path)
    assert out.returncode == 1
    assert "runc run failed: JSON specification file config.json not found" in out.stderr
    assert not missing.exists()


def test_run_help_states_the_rule(mc):
    out = mc("run", "--help")
    assert out.returncode == 0
    assert "--bundle/-b, or a config.json in the current directory" in out.stdout
    assert "names an image in the image" in out.stdout
