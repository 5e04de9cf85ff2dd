"""Thin ctypes wrappers over the Linux system calls a runtime needs.

Mirrors libcontainer/system/linux.go and the golang.org/x/sys/unix calls runc
makes (unshare, setns, mount, pivot_root, prctl, capset, sethostname), and
nsexec.c's clone_parent.
Python 3.11 has no os.unshare/os.setns, so every call goes through libc and
raises OSError with the errno, like the Go wrappers return syscall.Errno.
Omitted: the architectures other than x86_64 (capset layout is generic).
"""

from __future__ import annotations

import ctypes
import os

from minicontainer.libcontainer.namespaces import (  # noqa: F401  (re-exported)
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
)

_libc = ctypes.CDLL(None, use_errno=True)


MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2

_NR_CLONE = 56
_CLONE_PARENT = 0x00008000
_SIGCHLD = 17
_NR_PIVOT_ROOT = 155
_NR_SETNS = 308
_NR_CAPSET = 126
_NR_SETGROUPS = 116
_NR_SETRESUID = 117
_NR_SETRESGID = 119

_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]
_libc.syscall.restype = ctypes.c_long


def _check(ret: int, what: str, path: str | None = None) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return ret


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    # The raw syscall: glibc's wrapper is fine too, but this keeps argtypes explicit.
    _check(_libc.syscall(_NR_SETNS, ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    ret = _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data))
    _check(ret, f"mount {source or ''}:{target}", target)


def umount2(target: str, flags: int) -> None:
    _check(_libc.umount2(_b(target), ctypes.c_int(flags)), "umount", target)


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(_NR_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root", new_root)


def clone_parent() -> int:
    """fork(), except the child's parent is our parent: nsexec.c's clone_parent().

    The raw clone(2) with CLONE_PARENT|SIGCHLD and no new stack returns twice,
    like fork. It skips CPython's and glibc's fork handlers, which only matters
    with other threads (stage-1 has none) or cached thread ids (glibc 2.25+ keeps
    no pid cache; exec and subprocess re-derive what they need).
    """
    return _check(_libc.syscall(_NR_CLONE, _CLONE_PARENT | _SIGCHLD, 0, 0, 0, 0), "clone")


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    return _check(_libc.prctl(option, a2, a3, a4, a5), "prctl")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, ctypes.c_size_t(len(raw))), "setdomainname")


def setgroups(gids: list[int]) -> None:
    # The raw syscall changes only this thread; we are single-threaded here and
    # glibc's wrapper would also do it, but mirrors runc's unix.Setgroups.
    arr = (ctypes.c_uint * max(1, len(gids)))(*gids)
    _check(_libc.syscall(_NR_SETGROUPS, ctypes.c_size_t(len(gids)), arr), "setgroups")


def setresgid(gid: int) -> None:
    g = ctypes.c_uint(gid)
    _check(_libc.syscall(_NR_SETRESGID, g, g, g), "setresgid")


def setresuid(uid: int) -> None:
    u = ctypes.c_uint(uid)
    _check(_libc.syscall(_NR_SETRESUID, u, u, u), "setresuid")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set this thread's three capability sets from 64-bit masks."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(_libc.syscall(_NR_CAPSET, ctypes.byref(hdr), data), "capset")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_set_filter(program: bytes) -> None:
    """Install a classic-BPF seccomp filter (8 bytes per instruction)."""
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    ret = _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0)
    _check(ret, "seccomp")
