"""A container's life: create (init blocked on exec.fifo), start, signal, destroy.

Mirrors libcontainer/container_linux.go (Start/Exec/exec, Signal, Pause,
Resume, Destroy via state_linux.go destroy) and factory_linux.go (Create,
the state dir). Starting the init itself is process.py (process_linux.go);
the init waits on `<root>/<id>/exec.fifo` until `start` opens it for reading.
Start latency: `state`, `start`, `kill` and `delete` load neither process.py
nor the init's modules.
Omitted: checkpoint/restore, intelRdt, rootless cgroups, systemd notify.
"""

from __future__ import annotations

import _signal
import os
import time

from minicontainer.libcontainer import hooks
from minicontainer.libcontainer import state as st
from minicontainer.libcontainer.errors import ERR_EXIST, ERR_NOT_RUNNING, ContainerError
from minicontainer.libcontainer.namespaces import NS_FILES

TYPE_CHECKING = False  # as in sync.py: `_socket` is imported only where sockets are made
if TYPE_CHECKING:
    import _socket


def manager_for(s: st.State):
    # Imported here: `state` and `kill` of a stopped container never touch cgroups.
    from minicontainer.libcontainer.cgroups.manager import load_manager

    return load_manager(s.cgroup_version, s.cgroup_paths)


def status_of(root: str, s: st.State) -> str:
    """currentStatus: a dead init is stopped whatever its cgroup says (no freezer read)."""
    if not st.init_alive(s):
        return st.STOPPED
    from minicontainer.libcontainer.cgroups.utils import is_frozen  # not the managers

    return st.current_status(root, s, is_frozen(s.cgroup_version, s.cgroup_paths))


def create(
    root: str,
    cid: str,
    bundle: str,
    spec: dict,
    rootfs: str,
    console_sock: _socket.socket | None = None,
    subreaper: bool = False,
) -> st.State:
    """factory Create + container Start: leaves the init blocked on the fifo.

    `subreaper`: a foreground `run` also reaps what the container orphans.
    """
    st.validate_id(cid)
    os.makedirs(root, mode=0o711, exist_ok=True)
    sdir = st.state_dir(root, cid)
    try:
        os.mkdir(sdir, 0o711)
    except FileExistsError:
        raise ContainerError(ERR_EXIST) from None
    linux = spec.get("linux") or {}
    manager = None
    init_pid = 0
    try:
        fifo = os.path.join(sdir, st.EXEC_FIFO_FILENAME)
        old_mask = os.umask(0)  # createExecFifo: any container user must be able to open it
        try:
            os.mkfifo(fifo, 0o622)
        finally:
            os.umask(old_mask)
        from minicontainer.libcontainer.cgroups.manager import new_manager

        manager = new_manager(linux.get("cgroupsPath"), cid)
        s = st.State(
            id=cid,
            bundle=bundle,
            rootfs=rootfs,
            init_pid=0,
            init_start_time="",
            created=st.rfc3339nano(time.time_ns()),
            config=spec,
            cgroup_paths=manager.paths,
            cgroup_version=manager.version,
            annotations=spec.get("annotations") or {},
        )
        from minicontainer.libcontainer.process import InitConfig, start_init

        cfg = InitConfig(spec, bundle, rootfs, fifo, manager.paths)
        cfg.console_sock = console_sock
        cfg.fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        cfg.hook_state = st.hook_state(s, "created")
        try:
            init_pid = start_init(cfg, manager, s, subreaper)
        finally:
            os.close(cfg.fifo_fd)
        s.init_pid = init_pid
        s.init_start_time = st.process_start_time(init_pid) or ""
        s.namespace_paths = {
            n["type"]: f"/proc/{init_pid}/ns/{NS_FILES[n['type']]}"
            for n in linux.get("namespaces") or []
        }
        st.save(root, s)
        return s
    except BaseException:
        if init_pid:
            kill_and_reap(init_pid)
        if manager is not None:
            _destroy_cgroup(manager)
        _remove_state_dir(sdir)
        raise


def start(root: str, s: st.State) -> None:
    """exec(): open the fifo for reading, which releases the init; then poststart.

    The init is blocked opening the fifo for writing (or about to): our open lets
    it go on; it writes one byte and keeps the fifo open until its execve.
    Like runc's readFromExecFifo we read to EOF, so `start` returns once the
    process is exec'd, and no byte at all means the init died first. We poll
    rather than sleep and retry: a fifo that never had a writer does not poll
    readable (no POLLHUP until a writer has come and gone), so `run`, which
    gets here just after procReady, wakes the moment the init opens it.
    Between polls we check that the init is still alive.
    """
    import select  # built into Debian's python3.11; poll, not a 1 ms sleep loop

    fifo = os.path.join(st.state_dir(root, s.id), st.EXEC_FIFO_FILENAME)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    data = b""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            if not poller.poll(100):
                if not data and not st.init_alive(s):
                    break
                continue
            try:
                chunk = os.read(fd, 64)
            except BlockingIOError:
                continue
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if not data:
        raise ContainerError("cannot start an already stopped container")
    os.unlink(fifo)
    try:
        hooks.run_hooks(s.config, "poststart", st.hook_state(s, st.RUNNING))
    except hooks.HookError as e:
        signal_init(s, _signal.SIGKILL)
        raise ContainerError(str(e)) from None


def signal_init(s: st.State, sig: int) -> None:
    if not st.init_alive(s):
        raise ContainerError(ERR_NOT_RUNNING)
    os.kill(s.init_pid, sig)


def signal_all(s: st.State, sig: int) -> None:
    """signalAllProcesses: freeze, signal every task of the cgroup, thaw."""
    manager = manager_for(s)
    for pid in manager.get_all_pids():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue


def destroy(root: str, s: st.State) -> None:
    """state_linux.go destroy: kill everything in the cgroup, remove it, poststop, state dir.

    Like runc, a container with its own pid namespace whose init is gone needs no
    signalling: the kernel killed the namespace's other processes with its PID 1.
    """
    manager = manager_for(s)
    if st.init_alive(s) or not new_pid_namespace(s.config):
        if manager.is_frozen():
            signal_all(s, _signal.SIGKILL)
            manager.freeze(False)
        if st.init_alive(s):
            kill_and_reap(s.init_pid)
        _kill_cgroup(manager)
    manager.destroy()
    _remove_state_dir(st.state_dir(root, s.id))
    try:
        hooks.run_hooks(s.config, "poststop", st.hook_state(s, st.STOPPED))
    except hooks.HookError as e:
        os.write(2, f'level=warning msg="{e}"\n'.encode())


def _kill_cgroup(manager) -> None:
    for pid in manager.get_all_pids():
        try:
            os.kill(pid, _signal.SIGKILL)
        except ProcessLookupError:
            continue


def _destroy_cgroup(manager) -> None:
    _kill_cgroup(manager)
    manager.destroy()


def kill_and_reap(pid: int) -> None:
    """SIGKILL, then reap it if it is our child (or wait for it to vanish)."""
    try:
        os.kill(pid, _signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(2000):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            if st.process_start_time(pid) is None:
                return
        time.sleep(0.001)


def new_pid_namespace(spec: dict) -> bool:
    namespaces = (spec.get("linux") or {}).get("namespaces") or []
    return any(n.get("type") == "pid" and not n.get("path") for n in namespaces)


def _remove_state_dir(path: str) -> None:
    for name in ("state.json", st.EXEC_FIFO_FILENAME, ".state.json.tmp"):
        try:
            os.unlink(os.path.join(path, name))
        except FileNotFoundError:
            continue
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
