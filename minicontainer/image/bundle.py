"""Turn an image config into an OCI runtime bundle and run it with a runtime CLI.

Mirrors containerd's pkg/oci/spec_opts.go (WithImageConfig: Env, Entrypoint+Cmd,
WorkingDir, User → process) and BuildKit's executor/runcexecutor (write config.json next
to the mounted rootfs, call `runc run --bundle`). The runtime is `python -m minicontainer`
by default or `runc`, driven exactly as a user would drive it.
Omitted: a network namespace (containers share the host network, as `docker run
--network host`), user names in USER other than those in the image's /etc/passwd.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

CAPS = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]


def resolve_user(rootfs: Path, user: str) -> tuple[int, int]:
    """`uid[:gid]` or a name from the image's /etc/passwd (containerd's WithUser)."""
    name, _, group = (user or "0").partition(":")
    if name.isdigit():
        uid, gid = int(name), 0
    else:
        uid = gid = -1
        passwd = rootfs / "etc" / "passwd"
        for line in passwd.read_text().splitlines() if passwd.is_file() else []:
            f = line.split(":")
            if len(f) > 3 and f[0] == name:
                uid, gid = int(f[2]), int(f[3])
        if uid < 0:
            raise ValueError(f"unable to find user {name}: no matching entries in passwd file")
    if group:
        gid = int(group) if group.isdigit() else 0
    return uid, gid


def make_spec(image_config: dict, args: list[str], rootfs: Path) -> dict:
    cfg = image_config.get("config") or {}
    uid, gid = resolve_user(rootfs, cfg.get("User", ""))
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "mode=755"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
        },
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["mode=1777"]},
    ]
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid},
            "args": args,
            "env": cfg.get("Env") or [],
            "cwd": cfg.get("WorkingDir") or "/",
            "capabilities": {k: CAPS for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "minicontainer",
        "mounts": mounts,
        "linux": {"namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount")]},
    }


def process_args(image_config: dict, cmd: list[str] | None) -> list[str]:
    """Entrypoint + (cmd given on the command line, else the image's Cmd)."""
    cfg = image_config.get("config") or {}
    args = (cfg.get("Entrypoint") or []) + (cmd or cfg.get("Cmd") or [])
    if not args:
        raise ValueError("no command specified")
    return args


def runtime_argv(runtime: str, state_root: str, bundle: Path, cid: str) -> list[str]:
    if runtime == "runc":
        return ["runc", "--root", state_root, "run", "--bundle", str(bundle), cid]
    return [
        sys.executable,
        "-m",
        "minicontainer",
        "--root",
        state_root,
        "run",
        "--bundle",
        str(bundle),
        cid,
    ]


def run_bundle(runtime: str, state_root: str, bundle: Path, cid: str, spec: dict, **kw) -> int:
    """Write config.json and run the container in the foreground; return its exit status.

    SIGTERM/SIGINT to us become `kill <id> KILL` through the runtime (like `docker stop`
    after its grace period): a pid-1 shell in the container would ignore SIGTERM.
    """
    (bundle / "config.json").write_text(json.dumps(spec, indent=1))
    os.makedirs(state_root, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = runtime_argv(runtime, state_root, bundle, cid)
    proc = subprocess.Popen(argv, env=env, **kw)

    def stop(_signum, _frame) -> None:
        kill = [*argv[: argv.index("run")], "kill", cid, "KILL"]
        subprocess.run(kill, env=env, capture_output=True)

    main = threading.current_thread() is threading.main_thread()
    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)} if main else {}
    try:
        return proc.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
