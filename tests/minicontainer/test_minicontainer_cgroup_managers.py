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

from minicontainer.libcontainer import system
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


def _cgroups_of_forked_joiner(paths: dict[str, str], clone_into: bool) -> str:
    """/proc/self/cgroup as seen by a process placed the way stage-1 places the init."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            into = utils.join_self(paths, clone_into)
            if into is None:
                with open("/proc/self/cgroup", "rb") as f:
                    os.write(w, f.read())
            else:
                child = system.clone3(cgroup_fd=os.open(into, os.O_PATH | os.O_DIRECTORY))
                if child == 0:
                    with open("/proc/self/cgroup", "rb") as f:
                        os.write(w, f.read())
                    os._exit(0)
                os.waitpid(child, 0)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 4096):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return b"".join(chunks).decode()


@pytest.mark.parametrize("clone_into", [True, False], ids=["clone3", "procs-write"])
def test_join_self_reaches_every_hierarchy(clone_into):
    """join_self: v1 by the caller's own `tasks` write, cgroup2 by clone3 (or the slow write)."""
    manager = fs.Manager(fs.subsystem_paths(_inner()))
    try:
        manager.create()
        assert "" in manager.paths, "expected the hybrid cgroup2 tree to be joined too"
        seen = utils.parse_cgroup_file(_cgroups_of_forked_joiner(manager.paths, clone_into))
        for ctrl, path in manager.paths.items():
            assert path.endswith(seen[ctrl]), (ctrl, path, seen[ctrl])
        assert manager.get_all_pids() == []  # everyone left with the processes
    finally:
        manager.destroy()
    assert not any(os.path.exists(path) for path in manager.paths.values())
