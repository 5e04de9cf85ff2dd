"""Helpers shared by the commands: argument checks, loading a container, fatal.

Mirrors runc's utils.go (checkArgs and its messages) and utils_linux.go
(getContainer, revisePidFile). Errors are raised as `CommandError(message,
code)`; `guard` turns them into a log line and an exit status, never a traceback.
"""

from __future__ import annotations

import os
import sys

from minicontainer.cli.flags import UsageError
from minicontainer.libcontainer import state as st
from minicontainer.libcontainer.errors import ContainerError

EXACT, MIN, MAX = "exact", "min", "max"


class CommandError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def check_args(cmd: str, args: list[str], expected: int, kind: str) -> None:
    from minicontainer.cli.main import PROG

    bad = (
        (kind == EXACT and len(args) != expected)
        or (kind == MIN and len(args) < expected)
        or (kind == MAX and len(args) > expected)
    )
    if bad:
        word = {EXACT: "exactly", MIN: "a minimum of", MAX: "a maximum of"}[kind]
        sys.stdout.write(f"Incorrect Usage.\n\nUSAGE:\n   {PROG} {cmd} <container-id>\n\n")
        raise CommandError(f'{PROG}: "{cmd}" requires {word} {expected} argument(s)')


def container_id(args: list[str]) -> str:
    if not args or not args[0]:
        raise CommandError("container id cannot be empty")
    return args[0]


def get_container(ctx, args: list[str]) -> st.State:
    return st.load(ctx.root, container_id(args))


def write_pid_file(path: str, pid: int) -> None:
    """revisePidFile: write to a temp file, then rename, so readers never see it half-written."""
    if not path:
        return
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path))
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


def guard(ctx, fn, prefix: str = "", code: int = 1) -> int:
    """Run a command body; log its error the runc way and return the exit status."""
    try:
        return fn()
    except CommandError as e:
        ctx.log.error(prefix + e.message)
        return e.code if e.code != 1 else code
    except ContainerError as e:
        ctx.log.error(prefix + e.message)
        return code
    except UsageError as e:
        sys.stdout.write(f"Incorrect Usage. {e}\n")
        return 1
    except OSError as e:
        msg = e.strerror or str(e)
        if e.filename and e.filename not in msg:
            msg = f"{msg}: {e.filename}"
        if len(e.args) == 1:
            msg = str(e.args[0])
        ctx.log.error(prefix + msg)
        return code
