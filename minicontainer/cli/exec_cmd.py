"""`exec`: run a new process inside a running container.

Mirrors runc's exec.go (flags, getProcess: the bundle's process as the base,
overridden by --process FILE or by args, --env, --cwd, --user, --cap,
--no-new-privs, --additional-gids, --tty) and utils_linux.go runner.run for a
non-init process: checkTerminal's rules, the --console-socket hand-over of the
pty master for a detached `-t`, and for a foreground `-t` the local proxy
between our stdio and the pty (tty.go). Failures exit 255 with
"exec failed: ..." like runc.
Omitted: --preserve-fds, --cgroup, labels.
"""

from __future__ import annotations

import _socket
import copy
import os

from minicontainer.cli.common import MIN, CommandError, check_args, guard, write_pid_file
from minicontainer.cli.flags import Flag, parse
from minicontainer.cli.lifecycle import exit_status
from minicontainer.libcontainer import container, fastjson
from minicontainer.libcontainer import state as st
from minicontainer.libcontainer.setns_init import start_exec

EXEC_FLAGS = [
    Flag("console-socket", "string", ""),
    Flag("cwd", "string", ""),
    Flag("env, e", "list"),
    Flag("tty, t"),
    Flag("user, u", "string", ""),
    Flag("additional-gids, g", "list"),
    Flag("process, p", "string", ""),
    Flag("detach, d"),
    Flag("pid-file", "string", ""),
    Flag("process-label", "string", ""),
    Flag("apparmor", "string", ""),
    Flag("no-new-privs"),
    Flag("cap, c", "list"),
    Flag("preserve-fds", "int", 0),
    Flag("ignore-paused"),
]


def run_command(name: str, argv: list[str], ctx) -> int:
    return guard(ctx, lambda: _exec(argv, ctx), prefix="exec failed: ", code=255)


def get_process(opts: dict, args: list[str], base: dict) -> dict:
    """exec.go getProcess."""
    if opts["process"]:
        with open(opts["process"]) as f:
            return fastjson.loads(f.read())
    proc = copy.deepcopy(base)
    proc["args"] = args
    if not args:
        raise CommandError("args must not be empty")
    proc["env"] = list(proc.get("env") or []) + opts["env"]
    if opts["cwd"]:
        proc["cwd"] = opts["cwd"]
    if opts["no-new-privs"]:
        proc["noNewPrivileges"] = True
    if opts["user"]:
        uid, _, gid = opts["user"].partition(":")
        try:
            proc["user"] = {"uid": int(uid), "gid": int(gid) if gid else 0}
        except ValueError:
            raise CommandError(f"parsing {opts['user']} as int for uid failed") from None
    if opts["additional-gids"]:
        proc.setdefault("user", {})["additionalGids"] = [int(g) for g in opts["additional-gids"]]
    caps = proc.setdefault("capabilities", {})
    for cap in opts["cap"]:
        for kind in ("bounding", "effective", "permitted", "inheritable", "ambient"):
            caps.setdefault(kind, []).append(cap)
    proc["terminal"] = opts["tty"]
    return proc


def _exec(argv: list[str], ctx) -> int:
    opts, args = parse(argv, EXEC_FLAGS)
    check_args("exec", args, 1, MIN)
    if not args[0]:
        raise CommandError("container id cannot be empty")
    s = st.load(ctx.root, args[0])
    status = container.status_of(ctx.root, s)
    if status == st.STOPPED:
        raise CommandError("cannot exec in a stopped container")
    if status == st.PAUSED and not opts["ignore-paused"]:
        raise CommandError("cannot exec in a paused container (use --ignore-paused to override)")
    proc = get_process(opts, args[1:] if not opts["process"] else [], s.config.get("process") or {})
    console_sock, local_console = _console_for(opts, bool(proc.get("terminal")))
    if local_console is not None and not proc.get("consoleSize"):
        # The pty starts with our size (tty.go resizes it only once the process runs).
        proc["consoleSize"] = terminal_size()
    pid = start_exec(s, proc, console_sock)
    write_pid_file(opts["pid-file"], pid)
    if opts["detach"]:
        return 0
    if local_console is not None:
        from minicontainer.cli.tty import proxy_console

        proxy_console(local_console, pid)
    _, status_word = os.waitpid(pid, 0)
    return exit_status(status_word)


def _console_for(opts: dict, terminal: bool) -> tuple:
    """runner.checkTerminal, then where the pty master goes: the caller's console
    socket (detached), or a socketpair whose other end we proxy (foreground)."""
    detach, socket_path = opts["detach"], opts["console-socket"]
    if detach and terminal and not socket_path:
        raise CommandError("cannot allocate tty if runc will detach without setting console socket")
    if socket_path and not (detach and terminal):
        raise CommandError("cannot use console socket if runc will not detach or allocate tty")
    if socket_path:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.connect(socket_path)
        return sock, None
    if terminal:
        local, remote = _socket.socketpair()
        return remote, local
    return None, None


def terminal_size(fd: int = 0) -> dict | None:
    """Our terminal's size as an OCI consoleSize, or None when `fd` is no terminal."""
    import fcntl
    import struct
    import termios

    try:
        raw = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    height, width = struct.unpack("HHHH", raw)[:2]
    return {"height": height, "width": width}
