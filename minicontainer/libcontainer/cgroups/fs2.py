"""The cgroup v2 manager: one directory in the unified hierarchy.

Mirrors libcontainer/cgroups/fs2 (fs2.go Apply/Set/Destroy, create.go
CreateCgroupPath enabling controllers top-down, memory.go, cpu.go,
cpuset.go, pids.go, freeze.go, devices via ebpf.py) and cgroups/utils.go
ConvertCPUSharesToCgroupV2Value.
Omitted: io/hugetlb/rdma knobs, unified key-value passthrough, PSI.
"""

from __future__ import annotations

import os
import time

from minicontainer.libcontainer.cgroups import utils


def unified_path(inner: str, mountpoint: str = utils.CGROUP_ROOT) -> str:
    own = utils.own_cgroups().get("", "/")
    return utils.join_path(mountpoint, "/", own, inner)


def convert_cpu_shares(shares: int) -> int:
    """cpu.shares [2, 262144] → cpu.weight [1, 10000], 0 stays 'unset'."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def convert_memory_swap(memory: int, swap: int) -> int:
    """v1 memsw (memory+swap) → v2 memory.swap.max (swap only)."""
    if swap == -1:
        return -1
    if swap == 0 or memory <= 0:
        return swap
    return swap - memory


class Manager:
    """fs2.go manager over one directory `path` under `mountpoint`."""

    version = 2

    def __init__(self, paths: dict[str, str], mountpoint: str = utils.CGROUP_ROOT) -> None:
        self.paths = paths
        self.path = paths[""]
        self.mountpoint = mountpoint

    def apply(self, pid: int) -> None:
        self.create()
        utils.write_file(self.path, "cgroup.procs", str(pid))

    def create(self) -> None:
        """create.go: mkdir each level, enabling the parent's controllers for it."""
        rel = os.path.relpath(self.path, self.mountpoint)
        current = self.mountpoint
        for part in [p for p in rel.split("/") if p not in ("", ".")]:
            available = utils.read_file(current, "cgroup.controllers").split()
            if available:
                try:
                    line = " ".join("+" + c for c in available)
                    utils.write_file(current, "cgroup.subtree_control", line)
                except OSError:
                    pass  # a parent with processes in it cannot delegate; runc ignores too
            current = os.path.join(current, part)
            if not os.path.isdir(current):
                os.mkdir(current)

    def set(self, resources: dict) -> None:
        mem, cpu, pids = resources.get("memory"), resources.get("cpu"), resources.get("pids")
        if mem:
            if mem.get("swap") is not None:
                swap = convert_memory_swap(mem.get("limit") or 0, mem["swap"])
                utils.write_file(self.path, "memory.swap.max", _max(swap))
            if mem.get("limit") is not None:
                utils.write_file(self.path, "memory.max", _max(mem["limit"]))
            if mem.get("reservation") is not None:
                utils.write_file(self.path, "memory.low", str(mem["reservation"]))
        if cpu:
            if cpu.get("shares"):
                weight = convert_cpu_shares(cpu["shares"])
                utils.write_file(self.path, "cpu.weight", str(weight))
            if cpu.get("quota") or cpu.get("period"):
                quota = cpu.get("quota") or -1
                line = f"{_max(quota)} {cpu.get('period') or 100000}"
                utils.write_file(self.path, "cpu.max", line)
            if cpu.get("cpus"):
                utils.write_file(self.path, "cpuset.cpus", cpu["cpus"])
            if cpu.get("mems"):
                utils.write_file(self.path, "cpuset.mems", cpu["mems"])
        if pids and pids.get("limit") is not None:
            limit = pids["limit"]
            utils.write_file(self.path, "pids.max", str(limit) if limit > 0 else "max")
        if "devices" in resources:
            # devices.go setV2: no devices.allow on v2, an eBPF program decides instead
            from minicontainer.libcontainer.cgroups import ebpf

            ebpf.attach(ebpf.device_filter(resources.get("devices") or []), self.path)

    def freeze(self, frozen: bool) -> None:
        """freeze.go: write cgroup.freeze, then wait for cgroup.events to agree."""
        want = "1" if frozen else "0"
        utils.write_file(self.path, "cgroup.freeze", want)
        for _ in range(1000):
            if f"frozen {want}" in utils.read_file(self.path, "cgroup.events"):
                return
            time.sleep(0.001)
        raise OSError(f"unable to freeze cgroup {self.path}")

    def is_frozen(self) -> bool:
        return utils.is_frozen(self.version, self.paths)

    def get_all_pids(self) -> list[int]:
        return utils.read_procs(self.path) if os.path.isdir(self.path) else []

    def destroy(self) -> None:
        for _ in range(200):
            try:
                utils.remove_path(self.path)
                return
            except OSError as e:
                if e.errno != 16:  # EBUSY: the last task is still exiting
                    raise
                time.sleep(0.005)
        utils.remove_path(self.path)


def _max(n: int) -> str:
    return "max" if n == -1 else str(n)
