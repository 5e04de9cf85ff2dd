"""A container's life: create (init blocked on exec.fifo), start, signal, destroy.

Mirrors libcontainer/container_linux.go (Start/Exec/exec, Signal, Pause,
Resume, Destroy via state_linux.go destroy), process_linux.go (initProcess.start:
apply cgroups, release the child, run prestart/createRuntime hooks on
procHooks, wait for procReady) and factory_linux.go (Create, the state dir).
`create` forks the stage-1 child (nsexec.py), which clones the init
(standard_init.py) as our child (CLONE_PARENT); the init waits on
`<root>/<id>/exec.fifo` until `start` opens it for reading.
Start latency: this module imports no ctypes. The child loads the namespace
and init code (capabilities, rootfs, seccomp if configured) right after the
fork, while the parent writes the cgroup files: the first write to a v1
`cgroup.procs` waits for an RCU grace period (~10 ms), so the child's imports
cost no wall time. `state`, `start`, `kill` and `delete` never load them.
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
from minicontainer.libcontainer.sync import (
    PROC_ERROR,
    PROC_GO,
    PROC_HOOKS,
    PROC_PID,
    PROC_READY,
    PROC_RESUME,
    PROC_USERMAP,
    PROC_USERMAP_DONE,
    Channel,
)

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
    return st.current_status(root, s, manager_for(s).is_frozen())


class InitConfig:
    """What `create` hands its init (runc's bootstrap data and initConfig; here, by fork)."""

    def __init__(self, spec: dict, bundle: str, rootfs: str, fifo: str, cgroup_paths: dict) -> None:
        self.spec = spec
        self.bundle = bundle
        self.rootfs = rootfs
        self.fifo = fifo
        # Opened O_PATH by the parent (createExecFifo + ExtraFiles): in a user namespace
        # the init may not be allowed to walk the state directory itself.
        self.fifo_fd = -1
        self.cgroup_paths = cgroup_paths
        self.console_sock: _socket.socket | None = None
        self.hook_state: dict = {}


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
        cfg = InitConfig(spec, bundle, rootfs, fifo, manager.paths)
        cfg.console_sock = console_sock
        cfg.fifo_fd = os.open(fifo, os.O_PATH | os.O_CLOEXEC)
        cfg.hook_state = st.hook_state(s, "created")
        try:
            init_pid = _start_init(cfg, manager, s, subreaper)
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
            _kill_and_reap(init_pid)
        if manager is not None:
            _destroy_cgroup(manager)
        _remove_state_dir(sdir)
        raise


def _start_init(cfg: InitConfig, manager, s: st.State, subreaper: bool) -> int:
    """initProcess.start: fork stage-1, cgroup it, walk the sync protocol to procReady."""
    if subreaper and not _new_pid_namespace(cfg.spec):
        # The init is our child (stage-1 clones it with CLONE_PARENT): we wait for it
        # without being a subreaper. runc's `run` is one anyway, for what the container
        # orphans; with a pid namespace those go to the container's PID 1, never to us.
        from minicontainer.libcontainer import system

        system.prctl(system.PR_SET_CHILD_SUBREAPER, 1)
    import _socket

    parent_sock, child_sock = _socket.socketpair()
    pid = os.fork()
    if pid == 0:
        parent_sock.close()
        _stage1_child(Channel(child_sock), cfg)
    child_sock.close()
    if cfg.console_sock is not None:
        cfg.console_sock.close()
    chan = Channel(parent_sock)
    init_pid = 0
    try:
        manager.apply(pid)
        resources = (cfg.spec.get("linux") or {}).get("resources") or {}
        manager.set(resources)
        chan.send(PROC_GO)
        init_pid = _bootstrap(chan, cfg.spec)
        _sync_until_ready(chan, cfg.spec, s, init_pid)
        os.waitpid(pid, 0)  # stage-1 has long exited: its teardown overlapped the init's work
        return init_pid
    except BaseException:
        if pid:
            _kill_and_reap(pid)
        if init_pid:
            _kill_and_reap(init_pid)
        raise
    finally:
        parent_sock.close()


def _new_pid_namespace(spec: dict) -> bool:
    namespaces = (spec.get("linux") or {}).get("namespaces") or []
    return any(n.get("type") == "pid" and not n.get("path") for n in namespaces)


def _stage1_child(chan: Channel, cfg: InitConfig) -> None:
    """The forked child: load the init's code (overlapping the parent's cgroup
    writes), then run nsexec's stage-1. Never returns."""
    try:
        from minicontainer.libcontainer.nsexec import stage1
        from minicontainer.libcontainer.standard_init import preload_modules, setup_loopback
        from minicontainer.libcontainer.standard_init import start as init_start

        preload_modules(cfg)

        namespaces = (cfg.spec.get("linux") or {}).get("namespaces") or []
        new_netns = any(n["type"] == "network" and not n.get("path") for n in namespaces)
        # runc's init brings lo up (the "loopback" network strategy); stage-1 is in the
        # same new network namespace and does it while the init mounts the rootfs.
        stage1(
            chan, namespaces, lambda: init_start(cfg, chan), setup_loopback if new_netns else None
        )
    finally:
        os._exit(1)


def _bootstrap(chan: Channel, spec: dict) -> int:
    """Answer stage-1's user-map request and learn the init's pid."""
    linux = spec.get("linux") or {}
    early: list[dict] = []
    while True:
        msg = chan.recv()
        if msg is None:
            raise ContainerError("unable to start container process: stage-1 child died")
        if msg["type"] in (PROC_HOOKS, PROC_READY, PROC_ERROR):
            early.append(msg)  # from the init, ahead of stage-1's pid report
        elif msg["type"] == PROC_USERMAP:
            from minicontainer.libcontainer.nsexec import write_id_maps

            write_id_maps(
                msg["pid"], linux.get("uidMappings") or [], linux.get("gidMappings") or []
            )
            chan.send(PROC_USERMAP_DONE)
        elif msg["type"] == PROC_PID:
            chan.held = early
            return msg["pid"]
        else:
            raise ContainerError(f"unable to start container process: {msg.get('msg')}")


def _sync_until_ready(chan: Channel, spec: dict, s: st.State, init_pid: int) -> None:
    while True:
        msg = chan.recv()
        if msg is None:
            raise ContainerError(
                "unable to start container process: container init exited prematurely"
            )
        if msg["type"] == PROC_HOOKS:
            s.init_pid = init_pid
            state = st.hook_state(s, "creating")
            try:
                hooks.run_hooks(spec, "prestart", state)
                hooks.run_hooks(spec, "createRuntime", state)
            except hooks.HookError as e:
                raise ContainerError(f"unable to start container process: {e}") from None
            chan.send(PROC_RESUME)
        elif msg["type"] == PROC_READY:
            return
        else:
            raise ContainerError(f"unable to start container process: {msg.get('msg')}")


def start(root: str, s: st.State) -> None:
    """exec(): open the fifo for reading, which releases the init; then poststart.

    The init is blocked opening the fifo for writing (or about to): our open lets
    it go on, and a blocking read returns the byte it writes. A read that finds
    no writer at all returns at once (EOF): the init has not reached the fifo
    yet, or it died.
    """
    fifo = os.path.join(st.state_dir(root, s.id), st.EXEC_FIFO_FILENAME)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        os.set_blocking(fd, True)  # O_NONBLOCK was only for the open
        while not os.read(fd, 1):
            if not st.init_alive(s):
                raise ContainerError("cannot start an already stopped container")
            time.sleep(0.001)
    finally:
        os.close(fd)
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
    if st.init_alive(s) or not _new_pid_namespace(s.config):
        if manager.is_frozen():
            signal_all(s, _signal.SIGKILL)
            manager.freeze(False)
        if st.init_alive(s):
            _kill_and_reap(s.init_pid)
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


def _kill_and_reap(pid: int) -> None:
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
