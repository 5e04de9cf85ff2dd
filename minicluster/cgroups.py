"""The kubelets' shared cgroup parent, prepared before the first pod starts.

Mirrors what runc's cpusetEnsureParent (libcontainer/cgroups/fs/cpuset.go) does for each
new cgroup v1 cpuset directory: a child of an empty cpuset cannot take tasks ("No space
left on device"), so cpuset.cpus and cpuset.mems are copied down from the root. Done once
here because two nodes' first pods would otherwise race to create /minikubelet, and the
loser's pod directory copies the parent while it is still empty.
"""

from __future__ import annotations

from pathlib import Path

CPUSET = Path("/sys/fs/cgroup/cpuset")


def ensure_cpuset_parent(name: str = "minikubelet", root: Path = CPUSET) -> None:
    if not (root / "cpuset.cpus").exists():
        return  # cgroup v2, or no cpuset controller: nothing to prepare
    parent = root / name
    parent.mkdir(exist_ok=True)
    for knob in ("cpuset.cpus", "cpuset.mems"):
        if not (parent / knob).read_text().strip():
            (parent / knob).write_text((root / knob).read_text().strip())
