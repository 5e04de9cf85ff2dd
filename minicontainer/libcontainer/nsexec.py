"""Entering namespaces: the stage-1 child that unshares and forks the init.

Mirrors libcontainer/nsenter/nsexec.c (stage-1 "child" joins namespaces by
path with setns, asks the parent to write its uid/gid maps, unshares the new
ones, then clones stage-2 as a sibling (CLONE_PARENT), which becomes PID 1
of a new pid namespace); the
namespace table itself is namespaces.py. runc does this in
C before the Go runtime starts threads; a forked Python process is
single-threaded, so we can do it in Python.
Omitted: time namespace offsets, the rootless setgroups dance (we run as root).
"""

from __future__ import annotations

import os

from minicontainer.libcontainer import system as s
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


def stage1(chan: Channel, namespaces: list[dict], run_init, after_fork=None) -> None:
    """The stage-1 child: namespaces, then fork the init and report its pid. Never returns.

    `after_fork` runs here, in the new namespaces, while the init builds its rootfs.
    """
    code, pid = 1, 0
    try:
        chan.expect(PROC_GO)
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
            if kind != "user":
                flags |= NAMESPACE_FLAGS[kind]
        if flags:
            s.unshare(flags)
        # CLONE_PARENT, as nsexec.c does: the init becomes our parent's child, so
        # `run` can wait for it without being a subreaper.
        pid = s.clone_parent()
        if pid == 0:
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


def write_id_maps(pid: int, uid_mappings: list[dict], gid_mappings: list[dict]) -> None:
    """The parent's half of the user namespace: uid_map and gid_map of stage-1."""
    for name, maps in (("uid_map", uid_mappings), ("gid_map", gid_mappings)):
        lines = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps)
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(lines)
