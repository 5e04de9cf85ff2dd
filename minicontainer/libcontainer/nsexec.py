"""Entering namespaces: the stage-1 child that unshares and forks the init.

Mirrors libcontainer/nsenter/nsexec.c (stage-1 "child" joins namespaces by
path with setns, asks the parent to write its uid/gid maps, unshares the new
ones, then clones stage-2 as a sibling (CLONE_PARENT), which becomes PID 1
of a new pid namespace and unshares the cgroup namespace itself); unlike
runc, stage-1 also joins the cgroups (cgroups/utils.py join_self); the
namespace table itself is namespaces.py. runc does this in
C before the Go runtime starts threads; a forked Python process is
single-threaded, so we can do it in Python.
When no namespace is joined by path and no user namespace is made, there is
nothing for a stage-1 to do first: the parent clones the init with its
namespaces directly (clone_init, as crun does) and saves a process.
Omitted: time namespace offsets, the rootless setgroups dance (we run as root).
"""

from __future__ import annotations

import os

from minicontainer.libcontainer import system as s
from minicontainer.libcontainer.cgroups.utils import join_self
from minicontainer.libcontainer.namespaces import NAMESPACE_FLAGS
from minicontainer.libcontainer.sync import (
    PROC_GO,
    PROC_PID,
    PROC_USERMAP,
    PROC_USERMAP_DONE,
    STAGE1_ERROR,
    Channel,
)


def join_namespaces(paths: list[tuple[str, str]]) -> None:
    """nsexec.c join_namespaces: open every path first, then setns, user first."""
    fds = []
    for kind, path in sorted(paths, key=lambda kp: kp[0] != "user"):
        try:
            fds.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        except OSError as e:
            raise OSError(e.errno, f"failed to open {path}: {e.strerror}") from None
    for kind, fd in fds:
        try:
            s.setns(fd, NAMESPACE_FLAGS[kind])
        except OSError as e:
            raise OSError(e.errno, f"failed to setns to {kind} namespace: {e.strerror}") from None
        finally:
            os.close(fd)


def error_text(e: BaseException) -> str:
    if isinstance(e, OSError) and len(e.args) == 1:
        return str(e.args[0])
    if isinstance(e, OSError) and e.strerror:
        return e.strerror + (f": {e.filename}" if e.filename else "")
    return str(e)


def stage1(
    chan: Channel,
    namespaces: list[dict],
    run_init,
    after_fork=None,
    cgroup_paths: dict[str, str] | None = None,
) -> None:
    """The stage-1 child: cgroups, namespaces, then fork the init and report its pid.

    Never returns. `cgroup_paths` (made by the parent) are joined first, while
    the host's /sys/fs/cgroup is still ours to write: v1 by this process
    itself, cgroup2 by cloning the init straight into it (see join_self).
    `after_fork` runs here, in the new namespaces, while the init builds its rootfs.
    """
    code, pid = 1, 0
    try:
        chan.expect(PROC_GO)
        into = join_self(cgroup_paths or {}, not any(n["type"] == "user" for n in namespaces))
        cgroup_fd = os.open(into, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) if into else -1
        join_namespaces([(n["type"], n["path"]) for n in namespaces if n.get("path")])
        new = [n["type"] for n in namespaces if not n.get("path")]
        if "user" in new:
            s.unshare(s.CLONE_NEWUSER)
            chan.send(PROC_USERMAP, pid=os.getpid())
            chan.expect(PROC_USERMAP_DONE)
            s.setresgid(0)
            s.setresuid(0)
        flags = 0
        for kind in new:
            if kind not in ("user", "cgroup"):
                flags |= NAMESPACE_FLAGS[kind]
        if flags:
            s.unshare(flags)
        # CLONE_PARENT, as nsexec.c does: the init becomes our parent's child, so
        # `run` can wait for it without being a subreaper.
        pid = s.clone_parent(cgroup_fd)
        if pid == 0:
            if cgroup_fd >= 0:
                os.close(cgroup_fd)
            if "cgroup" in new:
                # nsexec.c's stage-2 makes the cgroup namespace: only the init
                # sits in every cgroup (stage-1 is outside the cgroup2 one), and
                # the namespace's root is the creator's cgroup.
                s.unshare(s.CLONE_NEWCGROUP)
            run_init()  # stage-2: never returns
        if after_fork is not None:
            after_fork()
        chan.send(PROC_PID, pid=pid)
        code = 0
    except BaseException as e:
        if pid:
            os.kill(pid, 9)  # the parent never learns this init's pid: it must not outlive us
        chan.send(STAGE1_ERROR, msg=error_text(e))
    finally:
        os._exit(code)


def can_clone_init(namespaces: list[dict]) -> bool:
    """Whether the parent can clone the init itself, without a stage-1 child.

    A namespace joined by `path` needs a process that setns first, and a user
    namespace needs its maps written before the other namespaces are made (and
    its root may not clone into a host cgroup): those go through stage1().
    """
    if any(n.get("path") or n["type"] == "user" for n in namespaces):
        return False
    return s.has_clone3()


def clone_init(namespaces: list[dict], cgroup_dir: str | None) -> int:
    """The one-stage path (crun's way): clone3 the init with its new namespaces,
    born in the cgroup2 directory. Returns twice, like fork.

    The cgroup namespace is left to the init (init_prologue), which makes it
    once it sits in every cgroup, as nsexec.c's stage-2 does.
    """
    flags = 0
    for n in namespaces:
        if n["type"] != "cgroup":
            flags |= NAMESPACE_FLAGS[n["type"]]
    fd = os.open(cgroup_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) if cgroup_dir else -1
    try:
        return s.clone3(flags, fd)
    finally:
        if fd >= 0:
            os.close(fd)


def init_prologue(namespaces: list[dict], cgroup_paths: dict[str, str]) -> None:
    """In an init made by clone_init: what stage-1 does for the init, done by itself.

    It joins the v1 hierarchies (it was born in the cgroup2 one), then makes
    the cgroup namespace, whose root is the creator's cgroup.
    """
    join_self({ctrl: path for ctrl, path in cgroup_paths.items() if ctrl})
    if any(n["type"] == "cgroup" for n in namespaces):
        s.unshare(s.CLONE_NEWCGROUP)


def write_id_maps(pid: int, uid_mappings: list[dict], gid_mappings: list[dict]) -> None:
    """The parent's half of the user namespace: uid_map and gid_map of stage-1."""
    for name, maps in (("uid_map", uid_mappings), ("gid_map", gid_mappings)):
        lines = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps)
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(lines)
