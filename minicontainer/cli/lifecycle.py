"""The lifecycle commands: create, start, run, kill, delete, pause, resume.

Mirrors runc's create.go, start.go, run.go, kill.go, delete.go, pause.go and
utils_linux.go (startContainer, runner.run: subreaper, console socket,
pid file, wait and destroy for a foreground run; the signal forwarding of
signals.go). Messages and exit statuses are runc's. `run` also takes an image
instead of a bundle (docker's `run IMAGE [CMD]`); RUN_HELP states the rule.
Omitted: --preserve-fds, --no-pivot, --no-new-keyring, checkpoint flags.
"""

from __future__ import annotations

import _signal
import os
import sys

from minicontainer.cli.common import (
    EXACT,
    MAX,
    MIN,
    CommandError,
    check_args,
    container_id,
    get_container,
    guard,
    write_pid_file,
)
from minicontainer.cli.flags import Flag, parse
from minicontainer.libcontainer import configs, container
from minicontainer.libcontainer import state as st
from minicontainer.libcontainer.errors import ERR_NOT_PAUSED, ERR_NOT_RUNNING, ContainerError

TYPE_CHECKING = False  # as in sync.py: `_socket` is imported only where sockets are made
if TYPE_CHECKING:
    import _socket

CREATE_FLAGS = [
    Flag("bundle, b", "string", ""),
    Flag("console-socket", "string", ""),
    Flag("pid-file", "string", ""),
    Flag("no-pivot"),
    Flag("no-new-keyring"),
    Flag("preserve-fds", "int", 0),
]
RUN_FLAGS = [
    *CREATE_FLAGS,
    Flag("detach, d"),
    Flag("keep"),
    Flag("no-subreaper"),
    Flag("store", "string", ""),
    Flag("help, h"),
]

RUN_HELP = """NAME:
   minicontainer run - create and run a container

USAGE:
   minicontainer run [command options] <container-id>
   minicontainer run [--store DIR] IMAGE [COMMAND [ARG...]]

`run` serves two callers and picks one by what it is given, in this order:
  1. a bundle: --bundle/-b, or a config.json in the current directory. This is
     runc's run: create the container <container-id> from the bundle, start it,
     wait for it (unless --detach), and exit with its status.
  2. otherwise, an image: if the first argument names an image in the image
     store (--store, default $XDG_DATA_HOME/minicontainer), run it like
     `docker run IMAGE [COMMAND]` (the same as `minicontainer image run`): a
     throw-away container on an overlay of the image's layers, in the foreground.
  3. neither: runc's own error (no config.json in the bundle).

OPTIONS:
   --bundle value, -b value  the bundle directory (default: the current directory)
   --console-socket value    AF_UNIX socket that receives the pty master (with --detach)
   --detach, -d              do not wait for the container's process
   --pid-file value          write the init's pid to this file
   --keep                    keep the container's state after it exits
   --no-subreaper            do not become the subreaper of the init
   --no-pivot                (refused: minicontainer always uses pivot_root)
   --no-new-keyring          accepted, no effect
   --store value             the image store, for `run IMAGE`
"""


def run_command(name: str, argv: list[str], ctx) -> int:
    if name in ("create", "run"):
        return _create_or_run(name, argv, ctx)
    handler = {
        "start": _start,
        "kill": _kill,
        "delete": _delete,
        "pause": _pause,
        "resume": _resume,
    }[name]
    return guard(ctx, lambda: handler(argv, ctx))


def _create_or_run(name: str, argv: list[str], ctx) -> int:
    def body() -> int:
        opts, args = parse(argv, CREATE_FLAGS if name == "create" else RUN_FLAGS)
        if opts.get("help"):
            sys.stdout.write(RUN_HELP)
            return 0
        if name == "run" and _runs_an_image(opts, args):
            return _run_image(opts, args)
        check_args(name, args, 1, EXACT)
        return _launch(name, opts, container_id(args), ctx)

    return guard(ctx, body, prefix=f"runc {name} failed: ")


def image_store(opts: dict) -> str:
    from minicontainer.image.cli import default_store

    return opts["store"] or default_store()


def _runs_an_image(opts: dict, args: list[str]) -> bool:
    """RUN_HELP's rule: no bundle given or found here, and args[0] is a stored image."""
    if opts["bundle"] or os.path.exists("config.json") or not args:
        return False
    index = os.path.join(image_store(opts), "images", "index.json")
    if not os.path.exists(index):
        return False  # looked up without creating a store as a side effect
    from minicontainer.image.content import ContentError
    from minicontainer.image.layout import Layout

    try:
        Layout(os.path.dirname(index)).resolve(args[0])
    except ContentError:
        return False
    return True


def _run_image(opts: dict, args: list[str]) -> int:
    """`image run`: the image commands' own parser, errors and exit codes (podman's 125)."""
    for flag in ("detach", "pid-file", "console-socket", "keep"):
        if opts[flag]:
            raise CommandError(f"--{flag} needs a bundle: `run IMAGE` runs in the foreground")
    import gc

    gc.enable()  # as main() does for every image command
    from minicontainer.image.cli import main as image_main

    return image_main(["image", "run", "--store", image_store(opts), "--", *args])


def _launch(name: str, opts: dict, cid: str, ctx) -> int:
    """utils_linux.go startContainer + runner.run."""
    if opts["preserve-fds"] or opts["no-pivot"]:
        flag = "--preserve-fds" if opts["preserve-fds"] else "--no-pivot"
        raise CommandError(f"{flag} is not supported by minicontainer")
    bundle = os.path.abspath(opts["bundle"] or ".")
    try:
        # runc chdirs into the bundle: relative paths in config.json are relative to it.
        os.chdir(bundle)
    except OSError as e:
        raise CommandError(f"chdir {bundle}: {e.strerror.lower()}") from None
    spec = configs.load_spec(bundle)
    rootfs = configs.validate(spec, bundle)
    detach = name == "create" or opts.get("detach")
    terminal = bool(spec["process"].get("terminal"))
    if terminal and detach and not opts["console-socket"]:
        raise CommandError("cannot allocate tty if runc will detach without setting console socket")
    if opts["console-socket"] and not (terminal and detach):
        raise CommandError("cannot use console socket if runc will not detach or allocate tty")
    console_sock, local_console = None, None
    if opts["console-socket"] or terminal:
        import _socket
    if opts["console-socket"]:
        console_sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        console_sock.connect(opts["console-socket"])
    elif terminal:
        local_console, console_sock = _socket.socketpair()
    subreaper = name == "run" and not opts.get("no-subreaper")
    s = container.create(ctx.root, cid, bundle, spec, rootfs, console_sock, subreaper)
    write_pid_file(opts["pid-file"], s.init_pid)
    if name == "create":
        return 0
    try:
        container.start(ctx.root, s)
    except BaseException:
        container.destroy(ctx.root, s)
        raise
    if detach:
        return 0
    status = _wait_foreground(s, local_console)
    if not opts.get("keep"):
        container.destroy(ctx.root, s)
    return status


_FORWARDED = (
    _signal.SIGTERM,
    _signal.SIGINT,
    _signal.SIGHUP,
    _signal.SIGQUIT,
    _signal.SIGUSR1,
    _signal.SIGUSR2,
    _signal.SIGWINCH,
)


def _wait_foreground(s: st.State, local_console: _socket.socket | None) -> int:
    """signals.go forward(): pass our signals on, reap, return the init's exit status."""

    def forward(signum, _frame):
        try:
            os.kill(s.init_pid, signum)
        except ProcessLookupError:
            pass

    for sig in _FORWARDED:
        _signal.signal(sig, forward)
    if local_console is not None:
        from minicontainer.cli.tty import proxy_console

        proxy_console(local_console, s.init_pid)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == s.init_pid:
            return exit_status(status)


def exit_status(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _start(argv: list[str], ctx) -> int:
    _opts, args = parse(argv, [])
    check_args("start", args, 1, EXACT)
    s = get_container(ctx, args)
    status = container.status_of(ctx.root, s)
    if status == st.CREATED:
        container.start(ctx.root, s)
        return 0
    if status == st.STOPPED:
        raise CommandError("cannot start a container that has stopped")
    if status == st.RUNNING:
        raise CommandError("cannot start an already running container")
    raise CommandError(f"cannot start a container in the {status} state")


# Name → number from the C module: `signal.Signals` would import enum for nothing.
SIGNALS = {n: getattr(_signal, n) for n in dir(_signal) if n.startswith("SIG") and "_" not in n}


def parse_signal(raw: str) -> int:
    """kill.go parseSignal: a number, or a name with or without SIG."""
    try:
        return int(raw)
    except ValueError:
        pass
    name = raw.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    sig = SIGNALS.get(name)
    if sig is None:
        raise CommandError(f"unknown signal {raw!r}".replace("'", '"'))
    return int(sig)


def _kill(argv: list[str], ctx) -> int:
    opts, args = parse(argv, [Flag("all, a")])
    check_args("kill", args, 1, MIN)
    check_args("kill", args, 2, MAX)
    s = get_container(ctx, args)
    sig = parse_signal(args[1] if len(args) > 1 else "SIGTERM")
    status = container.status_of(ctx.root, s)
    if status == st.STOPPED:
        raise ContainerError(ERR_NOT_RUNNING)
    if opts["all"]:
        container.signal_all(s, sig)
    else:
        container.signal_init(s, sig)
    return 0


def _delete(argv: list[str], ctx) -> int:
    opts, args = parse(argv, [Flag("force, f")])
    check_args("delete", args, 1, EXACT)
    cid = container_id(args)
    try:
        s = st.load(ctx.root, cid)
    except ContainerError:
        # An aborted create can leave the directory without state.json behind.
        _remove_leftover(os.path.join(ctx.root, cid))
        if opts["force"]:
            return 0
        raise
    status = container.status_of(ctx.root, s)
    if status in (st.STOPPED, st.CREATED) or opts["force"]:
        container.destroy(ctx.root, s)
        return 0
    raise CommandError(f"cannot delete container {cid} that is not stopped: {status}")


def _remove_leftover(path: str) -> None:
    if os.path.isdir(path):
        import shutil  # only here: shutil imports re, enum, zlib… (~5 ms a call)

        shutil.rmtree(path, ignore_errors=True)


def _pause(argv: list[str], ctx) -> int:
    _opts, args = parse(argv, [])
    check_args("pause", args, 1, EXACT)
    s = get_container(ctx, args)
    if container.status_of(ctx.root, s) not in (st.RUNNING, st.CREATED):
        raise ContainerError(ERR_NOT_RUNNING)
    container.manager_for(s).freeze(True)
    return 0


def _resume(argv: list[str], ctx) -> int:
    _opts, args = parse(argv, [])
    check_args("resume", args, 1, EXACT)
    s = get_container(ctx, args)
    if container.status_of(ctx.root, s) != st.PAUSED:
        raise ContainerError(ERR_NOT_PAUSED)
    container.manager_for(s).freeze(False)
    return 0
