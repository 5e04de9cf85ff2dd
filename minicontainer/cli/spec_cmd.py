"""`spec`: write the default config.json, as runc's spec.go does.

Mirrors runc's spec.go and libcontainer/specconv/example.go (Example): the
same defaults (sh with a terminal, three capabilities, RLIMIT_NOFILE 1024,
readonly rootfs, the standard mounts, masked and readonly paths, five
namespaces) so a bundle made by either tool is the same file.
Omitted: --rootless (ToRootless).
"""

from __future__ import annotations

import os

from minicontainer.cli.common import CommandError, guard
from minicontainer.cli.flags import Flag, parse
from minicontainer.libcontainer import fastjson

OCI_VERSION = "1.0.2-dev"
_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def example() -> dict:
    """specconv.Example."""
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {
                k: list(_CAPS) for k in ("bounding", "effective", "permitted", "ambient")
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": _mounts(),
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": [
                *("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys"),
                *("/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats"),
                *("/proc/sched_debug", "/sys/firmware", "/proc/scsi"),
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    }


def _mounts() -> list[dict]:
    def m(dest: str, kind: str, src: str, opts: list[str] | None = None) -> dict:
        out = {"destination": dest, "type": kind, "source": src}
        if opts:
            out["options"] = opts
        return out

    return [
        m("/proc", "proc", "proc"),
        m("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        m(
            "/dev/pts",
            "devpts",
            "devpts",
            ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        m("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        m("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        m("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        m("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]),
    ]


def run_command(name: str, argv: list[str], ctx) -> int:
    def body() -> int:
        opts, _args = parse(argv, [Flag("bundle, b", "string", "")])
        if opts["bundle"]:
            os.chdir(opts["bundle"])
        if os.path.exists("config.json"):
            raise CommandError("File config.json exists. Remove it first")
        with open("config.json", "w") as f:
            f.write(fastjson.dumps(example(), indent="\t"))
        return 0

    return guard(ctx, body)
