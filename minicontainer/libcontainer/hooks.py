"""OCI hooks: run a command with the container state as JSON on stdin.

Mirrors libcontainer/configs/config.go (Hooks, Command.Run with its timeout)
and the hook points of runtime-spec config.md#posix-platform-hooks:
prestart and createRuntime (runtime namespace, after the namespaces exist),
createContainer (container namespaces, before pivot_root), startContainer
(in the init just before exec), poststart (after `start`), poststop (`delete`).
A failing hook fails the operation, except poststart/poststop which only warn
in runc for some versions; we follow runc 1.1 (poststop errors are logged).
"""

from __future__ import annotations

import os

from minicontainer.libcontainer import fastjson


class HookError(Exception):
    pass


def run_hooks(spec: dict, kind: str, state: dict) -> None:
    for index, hook in enumerate((spec.get("hooks") or {}).get(kind) or []):
        run_hook(hook, state, kind, index)


def run_hook(hook: dict, state: dict, kind: str, index: int = 0) -> None:
    """Command.Run: path, args, env; state on stdin; kill on timeout."""
    import subprocess  # only hooks pay for subprocess' import

    args = hook.get("args") or [hook["path"]]
    env = dict(kv.split("=", 1) for kv in hook.get("env") or [] if "=" in kv)
    timeout = hook.get("timeout")
    try:
        proc = subprocess.run(
            args,
            executable=hook["path"],
            input=fastjson.dumps(state, compact=False).encode(),
            env=env,
            capture_output=True,
            timeout=timeout,
            close_fds=True,
        )
    except subprocess.TimeoutExpired:
        raise HookError(
            f"error running {kind} hook #{index}: timeout after {timeout} seconds"
        ) from None
    except OSError as e:
        raise HookError(f"error running {kind} hook: {e.strerror}: {hook['path']}") from None
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).decode(errors="replace")
        raise HookError(
            f"error running {kind} hook #{index}: exit status {proc.returncode}, stdout: {out}"
            if proc.returncode > 0
            else f"error running {kind} hook #{index}: signal: {-proc.returncode}"
        )
    if proc.stdout:
        os.write(2, proc.stdout)
