"""Starting a container's init: stage-1 or a direct clone, then the sync protocol.

Mirrors libcontainer/process_linux.go (initProcess.start: apply cgroups,
release the child, answer its user-map request, run the prestart and
createRuntime hooks on procHooks, wait for procReady). runc re-executes
itself as `runc init`; we fork the interpreter we already have.
Two ways in (see nsexec.py): when no namespace is joined by `path` and no
user namespace is made, the init is cloned straight from here with its
namespaces and into its cgroup2 directory (clone3, as crun does); otherwise
a forked stage-1 child joins, unshares and clones it with CLONE_PARENT, as
nsexec.c does. Either way the init is our child, and nobody writes its pid
to `cgroup.procs`, which waits ~10 ms for an RCU grace period: the cgroups
are joined from the inside (cgroups/utils.py join_self).
Omitted: intelRdt, the systemd notify socket, passing extra files.
"""

from __future__ import annotations

import os

from minicontainer.libcontainer import hooks, nsexec
from minicontainer.libcontainer import state as st
from minicontainer.libcontainer.container import kill_and_reap, new_pid_namespace
from minicontainer.libcontainer.errors import ContainerError
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


def start_init(cfg: InitConfig, manager, s: st.State, subreaper: bool) -> int:
    """initProcess.start: clone the init (directly or through stage-1), cgroup it,
    walk the sync protocol to procReady; returns the init's pid."""
    if subreaper and not new_pid_namespace(cfg.spec):
        # The init is our child (our clone, or stage-1's with CLONE_PARENT): we wait for it
        # without being a subreaper. runc's `run` is one anyway, for what the container
        # orphans; with a pid namespace those go to the container's PID 1, never to us.
        from minicontainer.libcontainer import system

        system.prctl(system.PR_SET_CHILD_SUBREAPER, 1)
    import _socket

    parent_sock, child_sock = _socket.socketpair()
    if nsexec.can_clone_init((cfg.spec.get("linux") or {}).get("namespaces") or []):
        return _clone_init(cfg, manager, s, parent_sock, child_sock)
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
        _make_cgroups(manager, cfg.spec)  # stage-1 joins them on PROC_GO
        chan.send(PROC_GO)
        init_pid = _bootstrap(chan, cfg.spec)
        _sync_until_ready(chan, cfg.spec, s, init_pid)
        os.waitpid(pid, 0)  # stage-1 has long exited: its teardown overlapped the init's work
        return init_pid
    except BaseException:
        if pid:
            kill_and_reap(pid)
        if init_pid:
            kill_and_reap(init_pid)
        raise
    finally:
        parent_sock.close()


def _make_cgroups(manager, spec: dict) -> None:
    """The directories and the limits, before any process joins (utils.join_self;
    an init cloned into cgroup2 only loads code until it is told to go on).

    runc applies the limits later (at procHooks); setting them before anything
    runs in the cgroup is never less strict, and a v1 devices reset ("a" into
    devices.deny) cannot race the init's mknod of /dev/null.
    """
    manager.create()
    manager.set((spec.get("linux") or {}).get("resources") or {})


def _clone_init(
    cfg: InitConfig, manager, s: st.State, parent_sock: _socket.socket, child_sock: _socket.socket
) -> int:
    """The one-stage start (nsexec.clone_init): no stage-1, the init is our clone."""
    namespaces = (cfg.spec.get("linux") or {}).get("namespaces") or []
    chan = Channel(parent_sock)
    pid = 0
    try:
        # Only the cgroup2 directory must exist before the clone; the v1 ones and
        # the limits are made while the init loads its code, and it joins them on go.
        unified = manager.paths.get("")
        if manager.version == 2:
            manager.create()
        elif unified:
            os.makedirs(unified, exist_ok=True)
        pid = nsexec.clone_init(namespaces, unified)
        if pid == 0:
            parent_sock.close()
            _init_child(Channel(child_sock), cfg, namespaces)
        child_sock.close()
        if cfg.console_sock is not None:
            cfg.console_sock.close()
        _make_cgroups(manager, cfg.spec)
        chan.send(PROC_GO)
        _sync_until_ready(chan, cfg.spec, s, pid)
        return pid
    except BaseException:
        if pid:
            kill_and_reap(pid)
        raise
    finally:
        parent_sock.close()
        child_sock.close()


def _init_child(chan: Channel, cfg: InitConfig, namespaces: list[dict]) -> None:
    """The init of the one-stage start: loads its code (while the parent makes
    the cgroups), then on go joins them, makes the cgroup namespace, brings up
    lo and runs standard_init. Never returns."""
    try:
        try:
            from minicontainer.libcontainer.standard_init import preload_modules, setup_loopback
            from minicontainer.libcontainer.standard_init import start as init_start

            preload_modules(cfg)
            chan.expect(PROC_GO)
            nsexec.init_prologue(namespaces, cfg.cgroup_paths)
            if any(n["type"] == "network" for n in namespaces):
                setup_loopback()  # runc's "loopback" network strategy, in the init
        except BaseException as e:
            chan.send(PROC_ERROR, msg=nsexec.error_text(e))
            return
        init_start(cfg, chan)
    finally:
        os._exit(1)


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
            chan,
            namespaces,
            lambda: init_start(cfg, chan),
            setup_loopback if new_netns else None,
            cfg.cgroup_paths,
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
