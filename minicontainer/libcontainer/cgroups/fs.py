"""The cgroup v1 manager: one directory per mounted controller.

Mirrors libcontainer/cgroups/fs (fs.go manager Apply/Set/Freeze/Destroy,
paths.go subsysPath, memory.go, cpu.go, cpuset.go, pids.go, devices.go,
freezer.go, blkio.go, hugetlb.go, net_cls.go, net_prio.go). On a hybrid host the cgroup2 tree at /sys/fs/cgroup/unified is
joined too, like runc does (key ""). `set` turns an OCI `linux.resources`
object into file writes.
Omitted: rdma and perf_event knobs; memory
kernel limits (gone from 6.x kernels); realtime cpu; stats for `events`.
"""

from __future__ import annotations

import os
import time

from minicontainer.libcontainer.cgroups import utils
from minicontainer.libcontainer.cgroups.devices import rules_v1


def subsystem_paths(inner: str) -> dict[str, str]:
    """paths.go: every mounted v1 controller (and hybrid cgroup2) → its directory."""
    own = utils.own_cgroups()
    out: dict[str, str] = {}
    for ctrl, (mnt, root) in utils.mounts().items():
        if ctrl == "" and mnt != utils.UNIFIED_HYBRID:
            continue
        out[ctrl] = utils.join_path(mnt, root, own.get(ctrl, "/"), inner)
    return out


class Manager:
    """fs.go manager over `paths` ({controller: directory})."""

    version = 1

    def __init__(self, paths: dict[str, str]) -> None:
        self.paths = paths

    def create(self) -> None:
        """Apply's first half: each directory (cpuset copies its parent's cpus/mems first).

        `create` leaves the joining to the stage-1 child (utils.join_self).
        """
        for ctrl, path in self.paths.items():
            if ctrl == "cpuset":
                _ensure_cpuset(path)
            os.makedirs(path, exist_ok=True)

    def apply(self, pid: int) -> None:
        """Create the directories and move `pid` into each."""
        self.create()
        for path in self.paths.values():
            utils.write_file(path, "cgroup.procs", str(pid))

    def set(self, resources: dict) -> None:
        p = self.paths
        if "memory" in p and resources.get("memory"):
            _set_memory(p["memory"], resources["memory"])
        if "cpu" in p and resources.get("cpu"):
            _set_cpu(p["cpu"], resources["cpu"])
        if "cpuset" in p and resources.get("cpu"):
            cpu = resources["cpu"]
            if cpu.get("cpus"):
                utils.write_file(p["cpuset"], "cpuset.cpus", cpu["cpus"])
            if cpu.get("mems"):
                utils.write_file(p["cpuset"], "cpuset.mems", cpu["mems"])
        if "pids" in p and resources.get("pids"):
            limit = resources["pids"].get("limit", 0)
            utils.write_file(p["pids"], "pids.max", str(limit) if limit > 0 else "max")
        if "devices" in p and "devices" in resources:
            for filename, value in rules_v1(resources.get("devices") or []):
                utils.write_file(p["devices"], filename, value)
        self._set_optional(resources)

    def _set_optional(self, resources: dict) -> None:
        """blkio, hugetlb, net_cls, net_prio: set when asked, an error when not mounted."""
        wanted = {
            "blkio": resources.get("blockIO"),
            "hugetlb": resources.get("hugepageLimits"),
            "net_cls": (resources.get("network") or {}).get("classID"),
            "net_prio": (resources.get("network") or {}).get("priorities"),
        }
        for ctrl, value in wanted.items():
            if not value:
                continue
            if ctrl not in self.paths:
                raise OSError(f"cannot set {ctrl} limit: container could not join or create cgroup")
            path = self.paths[ctrl]
            if ctrl == "blkio":
                _set_blkio(path, value)
            elif ctrl == "hugetlb":
                for h in value:
                    utils.write_file(
                        path, f"hugetlb.{h['pageSize']}.limit_in_bytes", str(h["limit"])
                    )
            elif ctrl == "net_cls":
                utils.write_file(path, "net_cls.classid", str(value))
            else:
                for prio in value:
                    line = f"{prio['name']} {prio['priority']}"
                    utils.write_file(path, "net_prio.ifpriomap", line)

    def freeze(self, frozen: bool) -> None:
        """freezer.go: write the state, then poll until the kernel reports it."""
        path = self.paths["freezer"]
        want = "FROZEN" if frozen else "THAWED"
        for _ in range(1000):
            utils.write_file(path, "freezer.state", want)
            if utils.read_file(path, "freezer.state") == want:
                return
            time.sleep(0.001)
        raise OSError(f"unable to freeze cgroup {path}")

    def is_frozen(self) -> bool:
        return utils.is_frozen(self.version, self.paths)

    def get_all_pids(self) -> list[int]:
        for ctrl in ("pids", "devices", "freezer", "memory", *self.paths):
            if ctrl in self.paths and os.path.isdir(self.paths[ctrl]):
                return utils.read_procs(self.paths[ctrl])
        return []

    def destroy(self) -> None:
        for path in self.paths.values():
            _rmdir_retry(path)


def _ensure_cpuset(path: str) -> None:
    """cpuset.go ensureParent: a new cpuset dir starts empty and cannot take tasks.

    Every ancestor is filled, not only the ones we create: a parent made by someone
    else (a kubelet's pod cgroup, or a concurrent start between its mkdir and its
    copy) may still be empty, and its empty cpus would be copied down.
    """
    parent = os.path.dirname(path)
    if os.path.isdir(parent) and not os.path.exists(os.path.join(parent, "cpuset.cpus")):
        return  # path is the hierarchy's root (its parent is no cpuset): the kernel fills it
    _ensure_cpuset(parent)
    os.makedirs(path, exist_ok=True)
    for name in ("cpuset.cpus", "cpuset.mems"):
        if not utils.read_file(path, name):
            utils.write_file(path, name, utils.read_file(parent, name))


def _set_memory(path: str, mem: dict) -> None:
    limit, swap = mem.get("limit"), mem.get("swap")
    has_memsw = os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes"))
    if limit is not None and swap is not None and has_memsw:
        # memsw must stay >= limit at every moment: raise it first, lower it last.
        try:
            utils.write_file(path, "memory.memsw.limit_in_bytes", str(swap))
            utils.write_file(path, "memory.limit_in_bytes", str(limit))
        except OSError:
            utils.write_file(path, "memory.limit_in_bytes", str(limit))
            utils.write_file(path, "memory.memsw.limit_in_bytes", str(swap))
    elif limit is not None:
        if has_memsw and limit == -1:
            # memory.go: unlimited memory with no swap given means unlimited swap too,
            # and memsw must be raised before the limit can be.
            utils.write_file(path, "memory.memsw.limit_in_bytes", "-1")
        utils.write_file(path, "memory.limit_in_bytes", str(limit))
    if mem.get("reservation") is not None:
        utils.write_file(path, "memory.soft_limit_in_bytes", str(mem["reservation"]))
    if mem.get("swappiness") is not None and 0 <= mem["swappiness"] <= 100:
        utils.write_file(path, "memory.swappiness", str(mem["swappiness"]))
    if mem.get("disableOOMKiller"):
        utils.write_file(path, "memory.oom_control", "1")


def _set_blkio(path: str, blkio: dict) -> None:
    """blkio.go: weights (bfq's file when cfq's is gone), then per-device throttles."""
    bfq = os.path.exists(os.path.join(path, "blkio.bfq.weight"))
    weight_file = "blkio.bfq.weight" if bfq else "blkio.weight"
    if blkio.get("weight"):
        utils.write_file(path, weight_file, str(blkio["weight"]))
    if blkio.get("leafWeight"):
        utils.write_file(path, "blkio.leaf_weight", str(blkio["leafWeight"]))
    for dev in blkio.get("weightDevice") or []:
        if dev.get("weight"):
            line = f"{dev['major']}:{dev['minor']} {dev['weight']}"
            utils.write_file(path, weight_file + "_device", line)
        if dev.get("leafWeight"):
            line = f"{dev['major']}:{dev['minor']} {dev['leafWeight']}"
            utils.write_file(path, "blkio.leaf_weight_device", line)
    throttles = {
        "throttleReadBpsDevice": "blkio.throttle.read_bps_device",
        "throttleWriteBpsDevice": "blkio.throttle.write_bps_device",
        "throttleReadIOPSDevice": "blkio.throttle.read_iops_device",
        "throttleWriteIOPSDevice": "blkio.throttle.write_iops_device",
    }
    for key, filename in throttles.items():
        for dev in blkio.get(key) or []:
            utils.write_file(path, filename, f"{dev['major']}:{dev['minor']} {dev['rate']}")


def _set_cpu(path: str, cpu: dict) -> None:
    if cpu.get("shares"):
        utils.write_file(path, "cpu.shares", str(cpu["shares"]))
    if cpu.get("period"):
        utils.write_file(path, "cpu.cfs_period_us", str(cpu["period"]))
    if cpu.get("quota") is not None and cpu.get("quota") != 0:
        utils.write_file(path, "cpu.cfs_quota_us", str(cpu["quota"]))


def _rmdir_retry(path: str) -> None:
    """RemovePaths: a dying task keeps the directory busy for a moment."""
    for _ in range(200):
        try:
            utils.remove_path(path)
            return
        except OSError as e:
            if e.errno != 16:  # EBUSY
                raise
            time.sleep(0.005)
    utils.remove_path(path)
