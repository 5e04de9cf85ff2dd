"""The per-container monitor process (containerd-shim's role, much reduced).

Mirrors containerd's runtime v2 shim as the kubelet relies on it through CRI: it is
a child subreaper that runs `<runtime> create` + `start` with the container's stdout
and stderr going to the log file, reaps the container's init, and records the exit
code, finish time and whether the cgroup saw an OOM kill in an exit file. It lives in
its own session, so killing the kubelet leaves containers running and a restarted
kubelet reads their state back from the files.
It starts once per container, so it is kept lean: the kubelet runs it as a script with
`python -I -S` (no site-packages scan), it imports no argparse or subprocess (the
flags are a fixed internal interface; children are posix_spawn'ed), and so costs about
half the CPU of a `python -m` start-up.
Omitted: stdin/tty, log rotation, the CRI log line format (lines are written raw).
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def now() -> float:
    """Seconds since the epoch (CRI carries nanoseconds; the kubelet rounds to seconds)."""
    return time.time()


def write_json(path: str, data: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def oom_killed(memory_cgroup: str) -> bool:
    """True when the container's memory cgroup counted an OOM kill (v1 or v2 files)."""
    for name, key in (("memory.oom_control", "oom_kill"), ("memory.events", "oom_kill")):
        try:
            with open(os.path.join(memory_cgroup, name)) as f:
                for line in f:
                    k, _, v = line.partition(" ")
                    if k == key and int(v) > 0:
                        return True
        except OSError:
            continue
    return False


def _last_line(path: str) -> str:
    with open(path, errors="replace") as f:
        lines = f.read().strip().splitlines()
    return lines[-1] if lines else ""


def _reap(pid: int) -> int:
    """Reap children until `pid` exits; its exit code in the shell's convention (128+sig)."""
    while True:
        try:
            got, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if got == pid:
            return (
                os.waitstatus_to_exitcode(status) % 256
                if os.WIFEXITED(status)
                else (128 + os.WTERMSIG(status))
            )


def spawn_and_wait(argv: list[str], out: int) -> int:
    """Run argv with stdin from /dev/null and stdout+stderr to `out`; its exit status."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, out, 2)]  # fmt: skip
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def run(args: dict[str, str]) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    base = [*json.loads(args["runtime"]), "--root", args["root"]]
    pid_file = os.path.join(args["state"], "pid")
    log = os.open(args["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    # The runtime hands its own stdio to the container ("pass-through"), so the log file,
    # not a pipe, must be its stdout and stderr: a pipe would never see EOF.
    create = [*base, "create", "--bundle", args["bundle"], "--pid-file", pid_file, args["id"]]
    if spawn_and_wait(create, log) != 0:
        message = _last_line(args["log"]) or "create failed"
        exit_info = {"exitCode": 128, "reason": "StartError", "message": message}
        write_json(os.path.join(args["state"], "exit.json"), {**exit_info, "finishedAt": now()})
        return 1
    with open(pid_file) as f:
        pid = int(f.read())
    with open(os.devnull, "w") as null:
        spawn_and_wait([*base, "start", args["id"]], null.fileno())
    write_json(os.path.join(args["state"], "started.json"), {"startedAt": now(), "pid": pid})
    code = _reap(pid)
    reason = "OOMKilled" if oom_killed(args.get("memory-cgroup", "")) else ""
    result = {"exitCode": code, "finishedAt": now(), "reason": reason}
    write_json(os.path.join(args["state"], "exit.json"), result)
    return 0


FLAGS = ("runtime", "root", "id", "bundle", "log", "state", "memory-cgroup")


def parse_flags(argv: list[str]) -> dict[str, str]:
    """`--name value` pairs, every one of FLAGS but --memory-cgroup required."""
    args = {}
    for flag, value in zip(argv[::2], argv[1::2], strict=False):
        name = flag.removeprefix("--")
        if not flag.startswith("--") or name not in FLAGS:
            raise SystemExit(f"shim: unknown flag {flag}")
        args[name] = value
    missing = [f"--{f}" for f in FLAGS[:-1] if f not in args]
    if missing or len(argv) % 2:
        raise SystemExit(f"shim: usage: shim.py {' '.join(f'--{f} X' for f in FLAGS)}")
    return args


def main() -> None:
    sys.exit(run(parse_flags(sys.argv[1:])))


if __name__ == "__main__":
    main()
