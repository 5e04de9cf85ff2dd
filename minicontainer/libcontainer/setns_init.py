"""Running an extra process inside an existing container (`exec`).

Mirrors libcontainer/process_linux.go (setnsProcess.start: join the cgroup,
let nsexec setns into the init's namespaces) and setns_init_linux.go
(linuxSetnsInit.Init: no_new_privs, seccomp, capabilities, user, exec).
The intermediate child joins the namespaces and forks, so the process lands
inside the pid namespace too; the caller is a subreaper and can wait for it.
With `terminal: true` the process opens a pty in the container's /dev/ptmx and
sends the master over the console socket (console_linux.go setupConsole), as
the container's init does; the slave becomes its stdio and controlling tty.
Omitted: AppArmor/SELinux labels, preserved fds.
"""

from __future__ import annotations

import _socket
import os

from minicontainer.libcontainer import nsexec
from minicontainer.libcontainer import state as st
from minicontainer.libcontainer import system as s
from minicontainer.libcontainer.cgroups import utils as cg
from minicontainer.libcontainer.namespaces import NS_FILES
from minicontainer.libcontainer.seccomp import compile_profile
from minicontainer.libcontainer.standard_init import (
    look_path,
    make_env,
    mark_cloexec_above,
    setup_rlimits,
    setup_user,
)
from minicontainer.libcontainer.sync import PROC_PID, PROC_READY, Channel


def start_exec(cstate: st.State, proc: dict, console_sock: _socket.socket | None = None) -> int:
    """Fork into the container; returns the new process's host pid once it is about to exec.

    `console_sock` (when proc["terminal"]) receives the pty master from the process.
    """
    s.prctl(s.PR_SET_CHILD_SUBREAPER, 1)
    if proc.get("terminal"):
        # Loaded here: after setns the child no longer sees the host's files.
        from minicontainer.libcontainer import console  # noqa: F401
    parent_sock, child_sock = _socket.socketpair()
    pid = os.fork()
    if pid == 0:
        parent_sock.close()
        _intermediate(Channel(child_sock), cstate, proc, console_sock)
    child_sock.close()
    if console_sock is not None:
        console_sock.close()
    chan = Channel(parent_sock)
    proc_pid, ready, error = 0, False, ""
    try:
        # The pid (from the intermediate) and ready (from the process) may come in either order.
        while not (proc_pid and ready) and not error:
            msg = chan.recv()
            if msg is None:
                error = "exec child died"
            elif msg["type"] == PROC_PID:
                proc_pid = msg["pid"]
            elif msg["type"] == PROC_READY:
                ready = True
            else:
                error = msg.get("msg") or "exec process died"
    finally:
        parent_sock.close()
        os.waitpid(pid, 0)
    if error:
        if proc_pid:
            os.waitpid(proc_pid, 0)
        raise OSError(error)
    return proc_pid


def _intermediate(
    chan: Channel, cstate: st.State, proc: dict, console_sock: _socket.socket | None
) -> None:
    code = 1
    try:
        # As the init's stage-1 does (cgroups/utils.py join_self): no pid is
        # written to cgroup.procs, the cgroup2 directory is entered by clone3.
        existing = {k: p for k, p in cstate.cgroup_paths.items() if os.path.isdir(p)}
        into = cg.join_self(existing, "user" not in cstate.namespace_paths)
        cgroup_fd = os.open(into, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) if into else -1
        paths = [
            (kind, f"/proc/{cstate.init_pid}/ns/{NS_FILES[kind]}")
            for kind in cstate.namespace_paths
        ]
        nsexec.join_namespaces(_only_different(paths))
        pid = s.clone3(cgroup_fd=cgroup_fd) if cgroup_fd >= 0 else os.fork()
        if pid == 0:
            if cgroup_fd >= 0:
                os.close(cgroup_fd)
            _setns_init(chan, cstate, proc, console_sock)
        chan.send(PROC_PID, pid=pid)
        code = 0
    except BaseException as e:
        chan.send("procError", msg=str(e))
    finally:
        os._exit(code)


def _only_different(paths: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """setns into a namespace we are already in fails for user ns (EINVAL): skip those."""
    out = []
    for kind, path in paths:
        mine = f"/proc/self/ns/{NS_FILES[kind]}"
        try:
            if os.stat(path).st_ino != os.stat(mine).st_ino:
                out.append((kind, path))
        except FileNotFoundError:
            out.append((kind, path))
    return out


def _setns_init(
    chan: Channel, cstate: st.State, proc: dict, console_sock: _socket.socket | None
) -> None:
    """linuxSetnsInit.Init. Never returns."""
    try:
        os.chdir("/")
        if proc.get("terminal") and console_sock is not None:
            # setns into the mount namespace moved our root there: this is the
            # container's /dev/ptmx, so the pty belongs to the container's devpts.
            from minicontainer.libcontainer.console import setup_console

            setup_console(console_sock, proc.get("consoleSize"))
        setup_rlimits(proc.get("rlimits") or [])
        if proc.get("noNewPrivileges"):
            s.prctl(s.PR_SET_NO_NEW_PRIVS, 1)
        profile = (cstate.config.get("linux") or {}).get("seccomp")
        program = compile_profile(profile) if profile else None
        if program and not proc.get("noNewPrivileges"):
            s.seccomp_set_filter(program)
        setup_user(proc)
        os.chdir(proc.get("cwd") or "/")
        env = make_env(proc)
        path = look_path(proc["args"][0], env)
        mark_cloexec_above(2)
        chan.send(PROC_READY)
        chan.sock.close()
        if program and proc.get("noNewPrivileges"):
            s.seccomp_set_filter(program)
        os.execve(path, proc["args"], env)
    except BaseException as e:
        try:
            chan.send("procError", msg=str(e.args[0]) if len(e.args) == 1 else str(e))
        except OSError:
            pass
    os._exit(1)
