"""`minicontainer`: runc's main.go — global flags, the command table, fatal().

Mirrors runc's main.go (global flags --root, --log, --log-format, --debug,
--systemd-cgroup, --rootless, --criu) and utils.go (checkArgs, fatal). Each
command lives in its own module and is imported only when chosen, so a
`state` never pays for the create path's imports.
Exit statuses: 1 for errors, 255 for `exec` failures, the container's own
status for `run` and foreground `exec` (128+signal when killed).
"""

from __future__ import annotations

import os
import sys

from minicontainer.cli.flags import Flag, UsageError, parse
from minicontainer.cli.logs import Logger

DEFAULT_ROOT = "/run/minicontainer"
PROG = "minicontainer"

GLOBAL_FLAGS = [
    Flag("debug"),
    Flag("log", "string", ""),
    Flag("log-format", "string", "text"),
    Flag("root", "string", DEFAULT_ROOT),
    Flag("criu", "string", "criu"),
    Flag("systemd-cgroup"),
    Flag("rootless", "string", "auto"),
    Flag("help, h"),
    Flag("version, v"),
]

# command → (module, one-line usage)
COMMANDS = {
    "spec": ("spec_cmd", "create a new specification file"),
    "create": ("lifecycle", "create a container"),
    "start": ("lifecycle", "executes the user defined process in a created container"),
    "run": ("lifecycle", "create and run a container"),
    "kill": (
        "lifecycle",
        "kill sends the specified signal (default: SIGTERM) to the container's init process",
    ),
    "delete": (
        "lifecycle",
        "delete any resources held by the container often used with detached container",
    ),
    "pause": ("lifecycle", "pause suspends all processes inside the container"),
    "resume": ("lifecycle", "resumes all processes that have been previously paused"),
    "state": ("query", "output the state of a container"),
    "list": ("query", "lists containers started by runc with the given root"),
    "ps": ("query", "ps displays the processes running inside a container"),
    "exec": ("exec_cmd", "execute new process inside the container"),
}

# The image side (containerd/BuildKit/podman's role, not runc's): minicontainer.image.cli.
IMAGE_COMMANDS = {
    "build": "build an image from a Dockerfile",
    "image": "manage images: ls, rm, inspect, history, import, export, prune, scan, run",
    "push": "push an image to a registry",
    "pull": "pull an image from a registry",
}


class Context:
    """What every command gets: the global flag values and the logger."""

    def __init__(self, gflags: dict, log: Logger) -> None:
        self.root = os.path.abspath(gflags["root"])
        self.log = log
        self.gflags = gflags


def usage() -> str:
    lines = [f"NAME:\n   {PROG} - Open Container Initiative runtime\n", "COMMANDS:"]
    lines += [f"   {name:<10}{text}" for name, (_m, text) in COMMANDS.items()]
    lines += [f"   {name:<10}{text}" for name, text in IMAGE_COMMANDS.items()]
    lines.append("\nGLOBAL OPTIONS:")
    lines += [f"   --{f.key}" for f in GLOBAL_FLAGS]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    try:
        gflags, rest = parse(argv, GLOBAL_FLAGS)
    except UsageError as e:
        sys.stdout.write(f"Incorrect Usage. {e}\n\n{usage()}")
        return 1
    log = Logger(gflags["log"], gflags["log-format"], gflags["debug"])
    if gflags["log-format"] not in ("text", "json"):
        Logger().error("invalid log-format: " + gflags["log-format"])
        return 1
    if gflags["version"]:
        sys.stdout.write("minicontainer version 0.1.0\nspec: 1.0.2-dev\n")
        return 0
    if not rest or gflags["help"] or rest[0] in ("help", "h"):
        sys.stdout.write(usage())
        return 0
    if gflags["systemd-cgroup"]:
        log.error(
            "systemd cgroup driver is not supported by minicontainer: use the cgroupfs driver"
        )
        return 1
    name = rest[0]
    if name in IMAGE_COMMANDS:
        import gc

        gc.enable()  # the launcher disables it for the short runtime calls; builds run long
        from minicontainer.image.cli import main as image_main

        return image_main(rest)
    if name not in COMMANDS:
        log.error(f"No help topic for '{name}'\n")
        return 3
    # __import__, not importlib.import_module: importlib drags in warnings (~1 ms).
    package = __import__(f"minicontainer.cli.{COMMANDS[name][0]}")
    module = getattr(package.cli, COMMANDS[name][0])
    return module.run_command(name, rest[1:], Context(gflags, log))


def entry() -> None:
    """The `minicontainer` console script (and the lean launcher, cli/launcher.py).

    A runtime command ends with os._exit: the interpreter's teardown (module by
    module, then the GC) costs a few ms a call and frees nothing the kernel would
    not. The image commands may leave threads and files to close: normal exit.
    """
    code = main(sys.argv[1:])
    if "minicontainer.image.cli" in sys.modules:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        code = code or 1
    os._exit(code)
