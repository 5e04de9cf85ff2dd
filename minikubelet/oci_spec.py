"""An OCI runtime-spec config.json for one CRI container.

Mirrors containerd's CRI plugin (internal/cri/server/container_create*.go, which turns
a CRI ContainerConfig and the image config into an OCI spec: WithProcessArgs — the
image's Entrypoint unless a command is given, args replacing the image's Cmd —, the
default PATH, HOSTNAME, the image's Env then the container's, WorkingDir, the sandbox's
/etc/resolv.conf and /etc/hostname) and the defaults of `runc spec`: the overlay rootfs;
bind mounts for volumes; the pod's network namespace joined through
linux.namespaces[].path; resources as linux.resources.
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
DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SpecError(ValueError):
    """The spec cannot be generated (containerd: "failed to generate spec: …")."""


def process_args(command: list[str], args: list[str], image_config: dict) -> list[str]:
    """WithProcessArgs: no command → the image's Entrypoint, and no args either → its Cmd."""
    if not command:
        if not args:
            args = list(image_config.get("Cmd") or [])
        entrypoint = list(image_config.get("Entrypoint") or [])
        if entrypoint != [""]:
            command = entrypoint
    argv = [*command, *args]
    if not argv:
        raise SpecError("no command specified")
    return argv


def replace_or_append_env(base: list[str], extra: list[str]) -> list[str]:
    """oci.WithEnv: a KEY=value replaces an earlier KEY, a new KEY is appended."""
    out = list(base)
    index = {e.split("=", 1)[0]: i for i, e in enumerate(out)}
    for e in extra:
        key = e.split("=", 1)[0]
        if key in index:
            out[index[key]] = e
        else:
            index[key] = len(out)
            out.append(e)
    return out


def process_env(hostname: str, image_config: dict, envs: list[str]) -> list[str]:
    """Default PATH, HOSTNAME, then the image's Env, then the container's (later wins)."""
    env = replace_or_append_env([DEFAULT_PATH_ENV], [f"HOSTNAME={hostname}"])
    env = replace_or_append_env(env, list(image_config.get("Env") or []))
    return replace_or_append_env(env, envs)


def sandbox_mounts(
    binds: list[tuple[str, str, bool]], resolv_conf: str, hostname_file: str
) -> list[tuple[str, str, bool]]:
    """The sandbox's resolv.conf and hostname files, unless the container mounts its own."""
    taken = {dest for _h, dest, _ro in binds}
    extra = [(src, dest, False) for src, dest in
             ((hostname_file, "/etc/hostname"), (resolv_conf, "/etc/resolv.conf"))
             if dest not in taken and src]  # fmt: skip
    return [*binds, *extra]


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
