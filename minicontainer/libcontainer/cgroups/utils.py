"""Finding cgroup mounts and this process's own cgroup.

Mirrors libcontainer/cgroups/utils.go and v1_utils.go (IsCgroup2UnifiedMode,
IsCgroup2HybridMode, FindCgroupMountpointAndRoot, GetOwnCgroupPath,
ParseCgroupFile). The parsers are pure: they take file text and return maps.
"""

from __future__ import annotations

import errno
import os

CGROUP_ROOT = "/sys/fs/cgroup"
UNIFIED_HYBRID = "/sys/fs/cgroup/unified"


def parse_cgroup_file(text: str) -> dict[str, str]:
    """`/proc/PID/cgroup` → {controller: path}; cgroup2's line has key ''."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(",") if parts[1] else [""]:
            out[ctrl] = parts[2]
    return out


def parse_mountinfo_cgroups(text: str) -> dict[str, tuple[str, str]]:
    """mountinfo → {controller: (mountpoint, root)} for v1 (key '' for cgroup2)."""
    out: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        pre, _, post = line.partition(" - ")
        fields, post_fields = pre.split(), post.split()
        if len(post_fields) < 3 or len(fields) < 5:
            continue
        fstype, super_opts = post_fields[0], post_fields[2]
        mnt = fields[4].replace("\\040", " ")
        if fstype == "cgroup2":
            out.setdefault("", (mnt, fields[3]))
        elif fstype == "cgroup":
            for opt in super_opts.split(","):
                if opt in ("rw", "ro") or opt.startswith(("release_agent", "clone_children")):
                    continue
                out.setdefault(opt, (mnt, fields[3]))
    return out


def is_cgroup2_unified_mode() -> bool:
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def mounts() -> dict[str, tuple[str, str]]:
    with open("/proc/self/mountinfo") as f:
        return parse_mountinfo_cgroups(f.read())


def own_cgroups() -> dict[str, str]:
    with open("/proc/self/cgroup") as f:
        return parse_cgroup_file(f.read())


def join_path(mountpoint: str, mount_root: str, own: str, inner: str) -> str:
    """The directory for `inner`: absolute under the mount, relative under our own cgroup."""
    if inner.startswith("/"):
        return os.path.join(mountpoint, inner.lstrip("/"))
    rel = own
    if mount_root != "/" and rel.startswith(mount_root):
        rel = rel[len(mount_root) :]
    return os.path.join(mountpoint, rel.lstrip("/"), inner)


def write_file(path: str, name: str, value: str) -> None:
    """cgroups.WriteFile: one write(2), errors name the file like runc does."""
    fd = os.open(os.path.join(path, name), os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    except OSError as e:
        raise OSError(
            e.errno, f"failed to write {value!r}: write {path}/{name}: {e.strerror}"
        ) from None
    finally:
        os.close(fd)


def join_self(paths: dict[str, str], clone_into: bool = True) -> str | None:
    """Move the calling single-threaded process into `paths`; return the cgroup2 one.

    WriteCgroupProc writes a pid to cgroup.procs: the kernel then takes its
    global threadgroup lock for writing, and the first such write waits for an
    RCU grace period (~10 ms, the largest single cost of a container start).
    Moving *one thread that is the caller* skips that lock: on v1 the caller
    writes "0" to each controller's `tasks` file (a process with one thread
    moves whole). cgroup2 has no per-thread move between domain cgroups, so
    its directory (key "", the hybrid unified tree or the v2 root) is returned
    for the caller to clone its child into (system.clone3).
    Where clone3 is missing, or `clone_into` is False (the child will be born
    in a user namespace, whose root the kernel does not let clone into a host
    cgroup), the cgroup2 directory is joined the slow way.
    """
    for ctrl, path in paths.items():
        if ctrl:
            write_file(path, "tasks", "0")
    unified = paths.get("")
    if unified is None:
        return None
    from minicontainer.libcontainer import system

    if clone_into and system.has_clone3():
        return unified
    write_file(unified, "cgroup.procs", "0")
    return None


def is_frozen(version: int, paths: dict[str, str]) -> bool:
    """freezer.go / fs2 freeze.go GetState: v1 freezer.state, or v2 cgroup.freeze.

    Here rather than on the managers alone: `state` and `start` ask it of every
    live container, and need nothing else of the cgroup code.
    """
    path, name, frozen = paths.get("freezer"), "freezer.state", "FROZEN"
    if version == 2:
        path, name, frozen = paths.get(""), "cgroup.freeze", "1"
    if not path:
        return False
    try:
        return read_file(path, name) == frozen
    except OSError:
        return False


def read_file(path: str, name: str) -> str:
    with open(os.path.join(path, name)) as f:
        return f.read().strip()


def read_procs(path: str) -> list[int]:
    """Every pid in `path` and its descendants (GetAllPids walks the tree)."""
    pids: list[int] = []
    for dirpath, _dirs, files in os.walk(path):
        if "cgroup.procs" in files:
            try:
                pids += [int(x) for x in read_file(dirpath, "cgroup.procs").split()]
            except OSError:
                continue
    return pids


def remove_path(path: str) -> None:
    """RemovePath: rmdir children first; cgroup dirs are removed with rmdir, not unlink.

    The common case, a leaf, takes one rmdir; the children are looked for only
    when the kernel refuses (EBUSY) or the path is not a cgroup (ENOTEMPTY).
    """
    try:
        os.rmdir(path)
        return
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as e:
        if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
            raise
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            remove_path(entry.path)
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
