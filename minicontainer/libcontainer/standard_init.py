"""The container's init process: from a fresh namespace set to execve.

Mirrors libcontainer/standard_init_linux.go (linuxStandardInit.Init: network,
rootfs, console, hostname, sysctl, masked/readonly paths, no_new_privs, the
exec fifo, seccomp, exec) and init_linux.go (finalizeNamespace, setupUser,
setupRlimits). The order matters and follows runc's: anything that can fail
fails before `create` returns; after the fifo only seccomp and exec remain.
Omitted: AppArmor/SELinux labels, preserved fds, the systemd notify socket.
"""

from __future__ import annotations

import _socket
import os

from minicontainer.libcontainer import hooks as hooks_mod
from minicontainer.libcontainer import rootfs as rfs
from minicontainer.libcontainer import system as s
from minicontainer.libcontainer.capabilities import Caps
from minicontainer.libcontainer.process import InitConfig
from minicontainer.libcontainer.sync import PROC_HOOKS, PROC_READY, PROC_RESUME, Channel

_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_RLIM_INF = 2**64 - 1
# struct ifreq for SIOCSIFFLAGS: the name in 16 bytes, then the flags (a short).
_IFREQ_LO_UP = b"lo".ljust(16, b"\0") + _IFF_UP.to_bytes(2, "little") + bytes(22)


def _ns_types(spec: dict) -> dict[str, str]:
    return {n["type"]: n.get("path", "") for n in spec.get("linux", {}).get("namespaces", [])}


def setup_loopback() -> None:
    """runc's "loopback" network strategy for a new network namespace: bring lo up.

    Called by stage-1 (see process._stage1_child), in the init's network namespace.
    """
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        s.ioctl(sock.fileno(), _SIOCSIFFLAGS, _IFREQ_LO_UP)
    finally:
        sock.close()


def setup_rlimits(rlimits: list[dict]) -> None:
    for rl in rlimits:
        num = s.RLIMITS.get(rl["type"])
        if num is None:
            raise ValueError(f"wrong rlimit value: {rl['type']}")
        soft, hard = min(rl["soft"], _RLIM_INF), min(rl["hard"], _RLIM_INF)
        try:
            s.setrlimit(num, soft, hard)
        except OSError as e:
            raise OSError(f"error setting rlimit type {num}: {_go_errno(e)}") from None


def _go_errno(e: OSError) -> str:
    """An errno as Go prints it: "operation not permitted"."""
    return os.strerror(e.errno).lower() if e.errno else str(e)


def sync_parent_hooks(spec: dict, chan: Channel) -> None:
    """syncParentHooks: the parent runs prestart and createRuntime while we wait.

    runc always makes the round trip; we skip it when there are no such hooks,
    which saves the parent and the init a wake-up each on every start.
    """
    hooks = spec.get("hooks") or {}
    if hooks.get("prestart") or hooks.get("createRuntime"):
        chan.send(PROC_HOOKS)
        chan.expect(PROC_RESUME)


def prepare_rootfs(cfg: InitConfig, chan: Channel) -> None:
    """rootfs_linux.go prepareRootfs, with the procHooks round trip before pivot_root."""
    spec, linux = cfg.spec, cfg.spec.get("linux", {})
    namespaces = _ns_types(spec)
    mounts = spec.get("mounts") or []
    rfs.prepare_root(linux.get("rootfsPropagation"), cfg.rootfs)
    rfs.bind_rootfs(cfg.rootfs)
    for m in mounts:
        rfs.mount_to_rootfs(
            m,
            cfg.rootfs,
            cfg.bundle,
            cfg.cgroup_paths,
            "cgroup" in namespaces,
            linux.get("mountLabel") or "",
        )
    if rfs.needs_setup_dev(mounts):
        rfs.create_devices(cfg.rootfs, linux.get("devices") or [], "user" in namespaces)
        rfs.setup_dev_symlinks(cfg.rootfs)
        rfs.setup_ptmx(cfg.rootfs)
    sync_parent_hooks(spec, chan)
    hooks_mod.run_hooks(spec, "createContainer", cfg.hook_state)
    rfs.pivot_root(cfg.rootfs)


def finalize(cfg: InitConfig) -> None:
    """Everything between pivot_root and the exec fifo, in standard_init's order."""
    spec, linux = cfg.spec, cfg.spec.get("linux", {})
    proc = spec.get("process") or {}
    if (spec.get("root") or {}).get("readonly"):
        rfs.remount_readonly("/")
    namespaces = _ns_types(spec)
    if spec.get("hostname") and "uts" in namespaces:
        s.sethostname(spec["hostname"])
    if spec.get("domainname") and "uts" in namespaces:
        s.setdomainname(spec["domainname"])
    rfs.write_sysctl(linux.get("sysctl") or {})
    for path in linux.get("readonlyPaths") or []:
        rfs.readonly_path(path)
    for path in linux.get("maskedPaths") or []:
        rfs.mask_path(path)
    if proc.get("oomScoreAdj") is not None:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(proc["oomScoreAdj"]))
    setup_rlimits(proc.get("rlimits") or [])
    if proc.get("noNewPrivileges"):
        s.prctl(s.PR_SET_NO_NEW_PRIVS, 1)


def apply_apparmor(profile: str | None) -> None:
    """apparmor.ApplyProfile: ask the kernel to switch profile at the next exec."""
    if not profile:
        return
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            enabled = f.read().strip() == "Y"
    except OSError:
        enabled = False
    if not enabled:
        raise OSError("apparmor: config provided but apparmor not supported")
    path = "/proc/self/attr/apparmor/exec"
    if not os.path.exists(path):
        path = "/proc/self/attr/exec"
    try:
        with open(path, "w") as f:
            f.write(f"exec {profile}")
    except OSError as e:
        raise OSError(
            "unable to apply apparmor profile: apparmor failed to apply profile: "
            f"write {path}: {e.strerror.lower()}"
        ) from None


def setup_user(proc: dict) -> None:
    """init_linux.go setupUser + finalizeNamespace: keep caps across setuid, then capset."""
    user = proc.get("user") or {}
    caps = Caps(proc.get("capabilities"))
    caps.apply_bounding_set()
    s.prctl(s.PR_SET_KEEPCAPS, 1)
    os.setgroups(list(user.get("additionalGids") or []))
    os.setresgid(user.get("gid", 0), user.get("gid", 0), user.get("gid", 0))
    os.setresuid(user.get("uid", 0), user.get("uid", 0), user.get("uid", 0))
    s.prctl(s.PR_SET_KEEPCAPS, 0)
    caps.apply_caps()
    if user.get("umask") is not None:
        os.umask(user["umask"])


def make_env(proc: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for kv in proc.get("env") or []:
        key, _, value = kv.partition("=")
        env[key] = value
    if "HOME" not in env:
        env["HOME"] = _home_dir((proc.get("user") or {}).get("uid", 0))
    return env


def _home_dir(uid: int) -> str:
    """runc looks the uid up in the container's /etc/passwd, defaulting to '/'."""
    try:
        with open("/etc/passwd") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    return parts[5]
    except OSError:
        pass
    return "/"


def look_path(name: str, env: dict[str, str]) -> str:
    """Go's exec.LookPath, with the container's PATH, worded like its errors."""
    if "/" in name:
        if not os.path.exists(name):
            raise OSError(f'exec: "{name}": stat {name}: no such file or directory')
        return name
    for d in env.get("PATH", "").split(":"):
        cand = os.path.join(d or ".", name)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise OSError(f'exec: "{name}": executable file not found in $PATH')


def mark_cloexec_above(keep: int, fd_dir: str | int = "/proc/self/fd") -> None:
    """Nothing but stdio leaks into the container process."""
    for name in os.listdir(fd_dir):
        fd = int(name)
        if fd > keep:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                continue


def preload_modules(cfg: InitConfig) -> None:
    """Import what only some containers need, while the host's files are reachable.

    Called by stage-1 before it enters the namespaces: after a user namespace
    maps us to an unprivileged host uid, the interpreter's library (under a
    0700 home, say) can be unreadable, and after pivot_root it is gone. Loaded
    only when needed: the syscall table is our biggest module.
    """
    if cfg.console_sock is not None:
        from minicontainer.libcontainer import console  # noqa: F401
    if (cfg.spec.get("linux") or {}).get("seccomp"):
        from minicontainer.libcontainer import seccomp  # noqa: F401
    if cfg.spec.get("hooks"):
        import subprocess  # noqa: F401  (createContainer and startContainer run in here)


def start(cfg: InitConfig, chan: Channel) -> None:
    """linuxStandardInit.Init. Never returns: execve, or report the error and exit."""
    spec = cfg.spec
    proc = spec.get("process") or {}
    try:
        fifo_fd = cfg.fifo_fd
        # /proc/self/fd as it is now: without a mount namespace the chroot'ed
        # container has no /proc of its own to reopen the fifo through.
        fd_dir = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        # Loaded by preload_modules, before the namespaces: found in sys.modules.
        if cfg.console_sock is not None:
            from minicontainer.libcontainer.console import setup_console
        if (spec.get("linux") or {}).get("seccomp"):
            from minicontainer.libcontainer.seccomp import compile_profile
        if "mount" in _ns_types(spec):
            prepare_rootfs(cfg, chan)
        else:
            # No mount namespace: mounting would change the host's table, so (unlike
            # runc, which mounts anyway) only chroot, as runc's prepareRootfs does at the end.
            sync_parent_hooks(spec, chan)
            os.chroot(cfg.rootfs)
            os.chdir("/")
        if cfg.console_sock is not None:
            setup_console(cfg.console_sock, proc.get("consoleSize"))
        finalize(cfg)
        apply_apparmor(proc.get("apparmorProfile"))
        profile = (spec.get("linux") or {}).get("seccomp")
        program = compile_profile(profile) if profile else None
        if program and not proc.get("noNewPrivileges"):
            s.seccomp_set_filter(program)
        setup_user(proc)
        os.chdir(proc.get("cwd") or "/")
        env = make_env(proc)
        path = look_path(proc["args"][0], env)
        mark_cloexec_above(2, fd_dir)
        chan.send(PROC_READY)
        chan.sock.close()
        _wait_exec_fifo(fifo_fd, fd_dir)
        if program and proc.get("noNewPrivileges"):
            s.seccomp_set_filter(program)
        hooks_mod.run_hooks(spec, "startContainer", cfg.hook_state)
        os.execve(path, proc["args"], env)
    except BaseException as e:
        _report(chan, e)
    os._exit(1)


def _wait_exec_fifo(fifo_fd: int, fd_dir: int) -> None:
    """Opening the fifo for writing blocks until `start` opens it for reading.

    The write end stays open until execve closes it (O_CLOEXEC): `start` reads
    to EOF, as runc's readFromExecFifo (io.ReadAll) does, so it returns once
    the startContainer hooks have run and the process is exec'd (or died).
    """
    fd = os.open(str(fifo_fd), os.O_WRONLY | os.O_CLOEXEC, dir_fd=fd_dir)
    os.write(fd, b"0")
    os.close(fifo_fd)
    os.close(fd_dir)


def error_text(e: BaseException) -> str:
    """The message runc would print for an error raised in the init."""
    if isinstance(e, OSError):
        if len(e.args) == 1:
            return str(e.args[0])
        if e.strerror:
            return e.strerror + (f": {e.filename}" if e.filename else "")
    return str(e)


def _report(chan: Channel, e: BaseException) -> None:
    msg = error_text(e)
    try:
        chan.send("procError", msg=msg)
    except OSError:
        os.write(2, f"minicontainer init: {msg}\n".encode())
