"""The Linux system calls a runtime needs, made through libc's syscall(2).

Mirrors libcontainer/system/linux.go and the golang.org/x/sys/unix calls runc
makes (unshare, setns, mount, pivot_root, prctl, capset, sethostname), and
nsexec.c's clone_parent. Like Go's unix package, every call is the raw system
call by number, and failures raise OSError with the errno (Go's syscall.Errno).
Python 3.11 has no os.unshare/os.setns/os.mount, so the calls go through the C
module `_ctypes` directly: the `ctypes` package on top of it builds a hundred
classes at import (~7 ms of CPU, in every container start), and one function
pointer with integer and bytes arguments is all we use. Structures the kernel
reads (capset's header and data, seccomp's sock_fprog) are packed as bytes.
Omitted: the architectures other than x86_64 (the call numbers are x86_64's).
"""

from __future__ import annotations

import _ctypes
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

_CLONE_PARENT = 0x00008000
_CLONE_INTO_CGROUP = 0x200000000
_SIGCHLD = 17
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# x86_64 system call numbers (asm/unistd_64.h), the ones golang.org/x/sys/unix uses.
_NR_IOCTL = 16
_NR_CLONE = 56
_NR_SETRESUID = 117
_NR_SETRESGID = 119
_NR_CAPSET = 126
_NR_PIVOT_ROOT = 155
_NR_PRCTL = 157
_NR_MOUNT = 165
_NR_UMOUNT2 = 166
_NR_SETHOSTNAME = 170
_NR_SETDOMAINNAME = 171
_NR_UNSHARE = 272
_NR_PRLIMIT64 = 302
_NR_SETNS = 308
_NR_CLONE3 = 435

# The RLIMIT_* numbers (asm-generic/resource.h), by the names config.json uses:
# runc's strToRlimit table.
RLIMITS = {
    "RLIMIT_CPU": 0,
    "RLIMIT_FSIZE": 1,
    "RLIMIT_DATA": 2,
    "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5,
    "RLIMIT_NPROC": 6,
    "RLIMIT_NOFILE": 7,
    "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10,
    "RLIMIT_SIGPENDING": 11,
    "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14,
    "RLIMIT_RTTIME": 15,
}


class _Long(_ctypes._SimpleCData):
    """C long: syscall(2) reads every argument as one (bytes pass as char *)."""

    _type_ = "l"


class _Char(_ctypes._SimpleCData):
    _type_ = "c"


class _Syscall(_ctypes.CFuncPtr):
    """The type of glibc's `long syscall(long number, ...)`, keeping errno for us."""

    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _Long


class _Libc:
    _handle = _ctypes.dlopen(None)  # the libc this interpreter is linked with


_syscall = _Syscall(("syscall", _Libc))


def _call(nr: int, what: str, *args: int | bytes | None, path: str | None = None) -> int:
    ret = _syscall(_Long(nr), *(_Long(a) if isinstance(a, int) else a for a in args))
    if ret < 0:
        err = _ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return ret


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def _u32(*values: int) -> bytes:
    return b"".join((v & 0xFFFFFFFF).to_bytes(4, "little") for v in values)


def unshare(flags: int) -> None:
    _call(_NR_UNSHARE, "unshare", flags)


def setns(fd: int, nstype: int) -> None:
    _call(_NR_SETNS, "setns", fd, nstype)


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    args = (_b(source), _b(target), _b(fstype), flags, _b(data))
    _call(_NR_MOUNT, f"mount {source or ''}:{target}", *args, path=target)


def umount2(target: str, flags: int) -> None:
    _call(_NR_UMOUNT2, "umount", _b(target), flags, path=target)


def pivot_root(new_root: str, put_old: str) -> None:
    _call(_NR_PIVOT_ROOT, "pivot_root", _b(new_root), _b(put_old), path=new_root)


def clone_parent(cgroup_fd: int = -1) -> int:
    """fork(), except the child's parent is our parent: nsexec.c's clone_parent().

    The raw clone(2) with CLONE_PARENT|SIGCHLD and no new stack returns twice,
    like fork. It skips CPython's and glibc's fork handlers, which only matters
    with other threads (stage-1 has none) or cached thread ids (glibc 2.25+ keeps
    no pid cache; exec and subprocess re-derive what they need).
    With `cgroup_fd` (a cgroup2 directory), the child is born there (clone3).
    """
    if cgroup_fd >= 0:
        return clone3(cgroup_fd=cgroup_fd, parent=True)
    return _call(_NR_CLONE, "clone", _CLONE_PARENT | _SIGCHLD, 0, 0, 0, 0)


def clone3(flags: int = 0, cgroup_fd: int = -1, parent: bool = False) -> int:
    """fork() through clone3: new namespaces (`flags`), into a cgroup2 directory.

    A child born in its cgroup (CLONE_INTO_CGROUP) saves a write to
    cgroup.procs, which takes the kernel's global threadgroup lock for writing
    and waits for an RCU grace period (~10 ms). struct clone_args is eleven
    u64s: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
    tls, set_tid, set_tid_size, cgroup. With CLONE_PARENT (`parent`) the
    kernel wants exit_signal 0 and uses our own (SIGCHLD: we were forked).
    Returns twice, like clone_parent.
    """
    if cgroup_fd >= 0:
        flags |= _CLONE_INTO_CGROUP
    if parent:
        flags |= _CLONE_PARENT
    args = b"".join(
        v.to_bytes(8, "little")
        for v in (flags, 0, 0, 0, 0 if parent else _SIGCHLD, 0, 0, 0, 0, 0, max(cgroup_fd, 0))
    )
    return _call(_NR_CLONE3, "clone3", args, len(args))


def kernel_at_least(release: str, want: tuple[int, int]) -> bool:
    """uname's release ("6.1.0-18-amd64") is at least (major, minor); unparsable is not."""
    parts = release.split(".")
    try:
        return (int(parts[0]), int(parts[1].split("-")[0].split("+")[0])) >= want
    except (IndexError, ValueError):
        return False


def has_clone3() -> bool:
    """Whether clone3 with CLONE_INTO_CGROUP is there: Linux 5.7 or later, and no
    seccomp filter hiding clone3 (a zero-sized call fails with EINVAL where it is
    allowed, ENOSYS or EPERM where it is not)."""
    if not kernel_at_least(os.uname().release, (5, 7)):
        return False
    try:
        _call(_NR_CLONE3, "clone3", None, 0)
    except OSError as e:
        return e.errno == 22  # EINVAL
    return False


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    return _call(_NR_PRCTL, "prctl", option, a2, a3, a4, a5)


def sethostname(name: str) -> None:
    raw = name.encode()
    _call(_NR_SETHOSTNAME, "sethostname", raw, len(raw))


def setdomainname(name: str) -> None:
    raw = name.encode()
    _call(_NR_SETDOMAINNAME, "setdomainname", raw, len(raw))


def setresgid(gid: int) -> None:
    _call(_NR_SETRESGID, "setresgid", gid, gid, gid)


def setresuid(uid: int) -> None:
    _call(_NR_SETRESUID, "setresuid", uid, uid, uid)


def ioctl(fd: int, request: int, arg: bytes) -> None:
    """An ioctl whose argument the kernel only reads (SIOCSIFFLAGS, TIOCSPTLCK)."""
    _call(_NR_IOCTL, "ioctl", fd, request, arg)


def setrlimit(resource: int, soft: int, hard: int) -> None:
    """prlimit64(0, resource, {soft, hard}, NULL), as Go's unix.Setrlimit does.

    Limits are unsigned 64-bit: RLIM_INFINITY is 2**64 - 1.
    """
    limits = soft.to_bytes(8, "little") + hard.to_bytes(8, "little")
    _call(_NR_PRLIMIT64, "prlimit", 0, resource, limits, None)


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set this thread's three capability sets from 64-bit masks.

    The kernel reads a header {version, pid} and two {effective, permitted,
    inheritable} u32 triples: the low 32 capabilities, then the high ones.
    """
    header = _u32(_LINUX_CAPABILITY_VERSION_3, 0)
    data = _u32(effective, permitted, inheritable)
    data += _u32(effective >> 32, permitted >> 32, inheritable >> 32)
    _call(_NR_CAPSET, "capset", header, data)


def seccomp_set_filter(program: bytes) -> None:
    """Install a classic-BPF seccomp filter (8 bytes per instruction).

    struct sock_fprog is {unsigned short len; (6 bytes padding) filter *}: the
    filter's address comes from a C array holding a copy of the program.
    """
    buf = type("_Filter", (_ctypes.Array,), {"_type_": _Char, "_length_": len(program)})
    filt = buf.from_buffer_copy(program)
    fprog = (len(program) // 8).to_bytes(2, "little") + bytes(6)
    fprog += _ctypes.addressof(filt).to_bytes(8, "little")
    _call(_NR_PRCTL, "seccomp", PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog, 0, 0)
