"""The cgroup managers against the real kernel: v1 (fs) and v2 (fs2).

This host is hybrid: v1 controllers under /sys/fs/cgroup/<controller> and a
controller-less cgroup2 at /sys/fs/cgroup/unified. fs2 is exercised there
(join, freeze via cgroup.freeze, pids, removal); fs with real limits. Each
test creates uniquely named cgroups and removes them even on failure.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from minicontainer.libcontainer.cgroups import fs, fs2, utils

pytestmark = [pytest.mark.root, pytest.mark.kernel("cgroup")]


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def _inner() -> str:
    return f"mc-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def test_fs2_manager_on_the_unified_tree(sleeper):
    pid = sleeper.pid
    if not os.path.isdir(utils.UNIFIED_HYBRID):
        pytest.fail("expected the hybrid cgroup2 mount at /sys/fs/cgroup/unified")
    mnt = utils.UNIFIED_HYBRID
    path = fs2.unified_path(_inner(), mnt)
    manager = fs2.Manager({"": path}, mnt)
    try:
        manager.apply(pid)
        assert manager.get_all_pids() == [pid]
        manager.freeze(True)
        assert manager.is_frozen()
        assert "frozen 1" in utils.read_file(path, "cgroup.events")
        manager.freeze(False)
        assert not manager.is_frozen()
    finally:
        sleeper.kill()
        sleeper.wait()
        manager.destroy()
    assert not os.path.exists(path)


def test_fs_manager_limits_freezer_devices(sleeper):
    pid = sleeper.pid
    manager = fs.Manager(fs.subsystem_paths(_inner()))
    try:
        manager.apply(pid)
        manager.set(
            {
                "memory": {"limit": 32 << 20, "reservation": 16 << 20},
                "pids": {"limit": 5},
                "cpu": {"shares": 256, "quota": 10000, "period": 50000},
                "devices": [{"allow": False, "access": "rwm"}],
            }
        )
        p = manager.paths
        assert utils.read_file(p["memory"], "memory.limit_in_bytes") == str(32 << 20)
        assert utils.read_file(p["pids"], "pids.max") == "5"
        assert utils.read_file(p["cpu"], "cpu.cfs_quota_us") == "10000"
        assert "c 1:3 rwm" in utils.read_file(p["devices"], "devices.list")
        assert str(pid) in utils.read_file(p["freezer"], "cgroup.procs")
        manager.freeze(True)
        assert manager.is_frozen()
        manager.freeze(False)
        assert pid in manager.get_all_pids()
    finally:
        sleeper.kill()
        sleeper.wait()
        manager.destroy()
    assert not any(os.path.exists(path) for path in manager.paths.values())


def test_cpuset_fills_missing_and_empty_ancestors(sleeper):
    """ensureParent: a parent someone else made (still empty) is filled, as are new ones."""
    root = "/sys/fs/cgroup/cpuset"
    top = os.path.join(root, _inner())
    made = os.path.join(top, "pod")  # exists but empty, as a kubelet's pod cgroup may be
    leaf = os.path.join(made, "ctr")
    os.makedirs(made)
    try:
        assert utils.read_file(made, "cpuset.cpus") == ""
        fs.Manager({"cpuset": leaf}).apply(sleeper.pid)
        for path in (top, made, leaf):
            assert utils.read_file(path, "cpuset.cpus") == utils.read_file(root, "cpuset.cpus")
            assert utils.read_file(path, "cpuset.mems") == utils.read_file(root, "cpuset.mems")
        assert sleeper.pid in utils.read_procs(leaf)
    finally:
        subprocess.run(["sh", "-c", f"echo {sleeper.pid} > {root}/cgroup.procs"], check=False)
        for path in (leaf, made, top):
            if os.path.isdir(path):
                os.rmdir(path)
