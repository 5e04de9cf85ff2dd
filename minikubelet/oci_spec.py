"""An OCI runtime-spec config.json for one CRI container.

Mirrors containerd's CRI plugin (pkg/cri/.../container_create_linux.go, which turns a
CRI ContainerConfig into an OCI spec) and the defaults of `runc spec`: process args,
env, cwd and user; the overlay rootfs; bind mounts for volumes; the pod's network
namespace joined through linux.namespaces[].path; resources as linux.resources.
Omitted: seccomp profiles, AppArmor/SELinux, devices beyond the defaults, hugepages.
"""

from __future__ import annotations

CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]  # fmt: skip

MASKED = ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]  # fmt: skip
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def _mounts(binds: list[tuple[str, str, bool]]) -> list[dict]:
    def m(dest: str, kind: str, src: str, opts: list[str]) -> dict:
        return {"destination": dest, "type": kind, "source": src, "options": opts}

    out = [
        m("/proc", "proc", "proc", []),
        m("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        m(
            "/dev/pts",
            "devpts",
            "devpts",
            ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
        ),  # fmt: skip
        m("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        m("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        m("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
    ]
    for host, dest, readonly in binds:
        out.append(m(dest, "bind", host, ["rbind", "ro" if readonly else "rw"]))
    return out


def resources(cpu_shares: int, cpu_quota: int, memory_limit: int) -> dict:
    """LinuxContainerResources -> linux.resources (0 means unset, as in CRI)."""
    out: dict = {"devices": [{"allow": False, "access": "rwm"}]}
    cpu: dict = {}
    if cpu_shares:
        cpu["shares"] = cpu_shares
    if cpu_quota:
        cpu["quota"], cpu["period"] = cpu_quota, 100000
    if cpu:
        out["cpu"] = cpu
    if memory_limit:
        # swap equal to the limit: no swap beyond it, so an overrun is an OOM kill.
        out["memory"] = {"limit": memory_limit, "swap": memory_limit}
    return out


def build_spec(
    *,
    args: list[str],
    env: list[str],
    cwd: str,
    uid: int,
    gid: int,
    rootfs: str,
    hostname: str,
    netns_path: str,
    cgroups_path: str,
    binds: list[tuple[str, str, bool]],
    linux_resources: dict,
) -> dict:
    caps = {k: list(CAPS) for k in ("bounding", "effective", "permitted")}
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid},
            "args": args,
            "env": env,
            "cwd": cwd or "/",
            "capabilities": caps,
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": False,
        },
        "root": {"path": rootfs, "readonly": False},
        "hostname": hostname,
        "mounts": _mounts(binds),
        "linux": {
            "resources": linux_resources,
            "cgroupsPath": cgroups_path,
            "namespaces": [
                {"type": "pid"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
                {"type": "network", "path": netns_path},
            ],
            "maskedPaths": MASKED,
            "readonlyPaths": READONLY,
        },
    }
