"""Building the container's root filesystem inside its new mount namespace.

Mirrors libcontainer/rootfs_linux.go: prepareRootfs (root propagation, bind
the rootfs on itself, mountToRootfs for each config mount, createDevices,
setupDevSymlinks, setupPtmx), pivotRoot, finalizeRootfs (readonly root),
maskPath and readonlyPath. Runs in the init process, before the exec fifo.
Omitted: tmpcopyup, mount idmapping, label handling (SELinux), the /dev/mqueue
bind fallback, checkpoint/restore hooks.
"""

from __future__ import annotations

import errno
import os
import stat

from minicontainer.libcontainer import system as s
from minicontainer.libcontainer.mountopts import PROPAGATION, parse_mount_options
from minicontainer.libcontainer.securejoin import secure_join

# Devices every container gets (specconv AllowedDevices entries that have a path).
DEFAULT_DEVICES = [
    ("/dev/null", "c", 1, 3),
    ("/dev/random", "c", 1, 8),
    ("/dev/full", "c", 1, 7),
    ("/dev/tty", "c", 5, 0),
    ("/dev/zero", "c", 1, 5),
    ("/dev/urandom", "c", 1, 9),
]


class MountError(Exception):
    """Worded like runc's mountError: op, source, target, cause."""


def _mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None) -> None:
    try:
        s.mount(src, dst, fstype, flags, data)
    except OSError as e:
        raise MountError(
            f"error mounting {src or ''!r} to rootfs at {dst!r}: {e.strerror.split(': ')[-1]}"
        ) from None


def prepare_root(propagation: str | None, rootfs: str) -> None:
    """Make our copy of the host mounts slave (or as configured) so nothing leaks back."""
    flag = PROPAGATION.get(propagation or "", s.MS_SLAVE | s.MS_REC)
    s.mount(None, "/", None, flag, None)
    rootfs_parent_mount_private(rootfs)


def parent_mount(path: str, mountinfo: str) -> tuple[str, str]:
    """getParentMount: the mount point holding `path` and its optional fields. Pure."""
    best, optional = "/", ""
    for line in mountinfo.splitlines():
        pre = line.partition(" - ")[0].split()
        if len(pre) < 6:
            continue
        mnt = pre[4].replace("\\040", " ")
        inside = path == mnt or path.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):
            best, optional = mnt, " ".join(pre[6:])
    return best, optional


def rootfs_parent_mount_private(rootfs: str) -> None:
    """pivot_root refuses a shared parent mount, and a shared parent would leak the bind."""
    with open("/proc/self/mountinfo") as f:
        mnt, optional = parent_mount(rootfs, f.read())
    if any(opt.startswith("shared:") for opt in optional.split()):
        s.mount(None, mnt, None, s.MS_PRIVATE, None)


def bind_rootfs(rootfs: str) -> None:
    s.mount(rootfs, rootfs, "bind", s.MS_BIND | s.MS_REC, None)


def mount_to_rootfs(
    m: dict, rootfs: str, bundle: str, cgroup_paths: dict, cgroupns: bool, label: str = ""
) -> None:
    """mountToRootfs: one entry of config.json `mounts`."""
    kind = m.get("type") or ""
    opts = parse_mount_options(m.get("options"))
    if label and kind not in ("bind", "proc", "sysfs", "cgroup", "cgroup2", "mqueue"):
        # label.FormatMountLabel: the SELinux context rides in the mount data.
        opts.data = ",".join(filter(None, [opts.data, f'context="{label}"']))
    is_bind = kind == "bind" or bool(opts.flags & s.MS_BIND)
    dest = secure_join(rootfs, m["destination"])
    if is_bind:
        src = m.get("source") or ""
        if not src.startswith("/"):
            src = os.path.join(bundle, src)
        _create_target(dest, os.path.isdir(src))
        _mount(src, dest, "bind", opts.flags & (s.MS_BIND | s.MS_REC) | s.MS_BIND, None)
        # A bind mount ignores the other flags: they need a remount of the new mount.
        extra = opts.flags & ~(s.MS_BIND | s.MS_REC | s.MS_REMOUNT)
        if extra:
            _mount(src, dest, None, extra | s.MS_BIND | s.MS_REMOUNT, None)
    elif kind == "cgroup":
        _mount_cgroup(dest, opts.flags, cgroup_paths, cgroupns)
    else:
        os.makedirs(dest, exist_ok=True)
        _mount(m.get("source") or kind, dest, kind, opts.flags, opts.data or None)
    for flag in opts.propagation:
        _mount(None, dest, None, flag, None)


def _create_target(dest: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(dest, exist_ok=True)
    elif not os.path.exists(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.close(os.open(dest, os.O_CREAT | os.O_CLOEXEC, 0o755))


def _mount_cgroup(dest: str, flags: int, cgroup_paths: dict, cgroupns: bool) -> None:
    """mountCgroupV1 / mountCgroupV2: a tmpfs of per-controller mounts, or one cgroup2.

    Like runc 1.1 the tmpfs itself stays writable; each controller mount gets the flags.
    """
    if "" in cgroup_paths and len(cgroup_paths) == 1:
        os.makedirs(dest, exist_ok=True)
        if cgroupns:
            _mount("cgroup", dest, "cgroup2", flags, None)
        else:
            _mount(cgroup_paths[""], dest, "bind", s.MS_BIND, None)
            _mount(None, dest, None, flags | s.MS_BIND | s.MS_REMOUNT, None)
        return
    os.makedirs(dest, exist_ok=True)
    _mount("tmpfs", dest, "tmpfs", flags & ~s.MS_RDONLY, "mode=755")
    for ctrl, path in cgroup_paths.items():
        if ctrl == "":
            continue  # runc mounts only the v1 hierarchies on a hybrid host
        name = ctrl.removeprefix("name=")
        sub = os.path.join(dest, name)
        os.makedirs(sub, exist_ok=True)
        if cgroupns:
            data = ctrl if not ctrl.startswith("name=") else f"none,{ctrl}"
            _mount("cgroup", sub, "cgroup", flags, data)
        else:
            _mount(path, sub, "bind", s.MS_BIND, None)
            _mount(None, sub, None, flags | s.MS_BIND | s.MS_REMOUNT, None)
    if "cpu" in cgroup_paths and "cpuacct" in cgroup_paths:
        os.symlink("cpu", os.path.join(dest, "cpu,cpuacct"))


def needs_setup_dev(mounts: list[dict]) -> bool:
    """No /dev setup when the config bind-mounts the host's /dev."""
    for m in mounts:
        binds = m.get("type") == "bind" or "bind" in (m.get("options") or [])
        if binds and m.get("destination") == "/dev":
            return False
    return True


def create_devices(rootfs: str, devices: list[dict], bind: bool) -> None:
    """createDevices: mknod each device (bind-mount the host's in a user namespace)."""
    old = os.umask(0)
    try:
        entries = [
            {"path": p, "type": t, "major": ma, "minor": mi, "fileMode": 0o666}
            for p, t, ma, mi in DEFAULT_DEVICES
        ]
        for dev in entries + list(devices):
            _create_device(rootfs, dev, bind)
    finally:
        os.umask(old)


def _create_device(rootfs: str, dev: dict, bind: bool) -> None:
    dest = secure_join(rootfs, dev["path"])
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if bind:
        _create_target(dest, False)
        _mount(dev["path"], dest, "bind", s.MS_BIND, None)
        return
    kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
    mode = (dev.get("fileMode") or 0o666) & 0o7777
    try:
        os.unlink(dest)
    except FileNotFoundError:
        pass
    rdev = os.makedev(dev.get("major", 0), dev.get("minor", 0))
    os.mknod(dest, mode | kinds[dev["type"]], rdev)
    os.chown(dest, dev.get("uid", 0) or 0, dev.get("gid", 0) or 0)


def setup_dev_symlinks(rootfs: str) -> None:
    links = [
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ]
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "/dev/core"))
    for src, dst in links:
        try:
            os.symlink(src, os.path.join(rootfs, dst.lstrip("/")))
        except FileExistsError:
            continue


def setup_ptmx(rootfs: str) -> None:
    """/dev/ptmx points at the devpts instance the container mounted."""
    ptmx = os.path.join(rootfs, "dev/ptmx")
    try:
        os.unlink(ptmx)
    except FileNotFoundError:
        pass
    os.symlink("pts/ptmx", ptmx)


def pivot_root(rootfs: str) -> None:
    """pivot_root(".", ".") then lazily unmount the old root stacked underneath."""
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new_root)
        s.pivot_root(".", ".")
        os.fchdir(old_root)
        # Keep unmount events of the old root from propagating to the host.
        s.mount(None, ".", None, s.MS_SLAVE | s.MS_REC, None)
        s.umount2(".", s.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old_root)
        os.close(new_root)


def _statfs_flags(path: str) -> int:
    st = os.statvfs(path)
    # ST_* bits equal MS_* bits for these: keep the ones a remount may not drop.
    keep = s.MS_NOSUID | s.MS_NODEV | s.MS_NOEXEC | s.MS_NOATIME | s.MS_RELATIME
    return st.f_flag & keep


def remount_readonly(path: str) -> None:
    flags = _statfs_flags(path)
    s.mount(path, path, None, flags | s.MS_BIND | s.MS_REMOUNT | s.MS_RDONLY, None)


def readonly_path(path: str) -> None:
    """readonlyPath: bind the path on itself, then remount read-only; missing is fine."""
    try:
        s.mount(path, path, None, s.MS_BIND | s.MS_REC, None)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return
        raise
    remount_readonly(path)


def mask_path(path: str) -> None:
    """maskPath: /dev/null over a file, an empty read-only tmpfs over a directory."""
    try:
        s.mount("/dev/null", path, None, s.MS_BIND, None)
    except OSError as e:
        if e.errno == errno.ENOTDIR:
            s.mount("tmpfs", path, "tmpfs", s.MS_RDONLY, None)
        elif e.errno != errno.ENOENT:
            raise


def write_sysctl(sysctl: dict[str, str]) -> None:
    for key, value in sysctl.items():
        with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
            f.write(value)
