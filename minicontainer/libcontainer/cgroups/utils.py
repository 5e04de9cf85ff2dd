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
