"""Capabilities: names to numbers, and applying the five OCI sets.

Mirrors libcontainer/capabilities/capabilities.go (New, ApplyBoundingSet,
ApplyCaps) over the kernel's capability list (include/uapi/linux/capability.h).
Unknown names are skipped with a warning, as runc does; capabilities past the
kernel's cap_last_cap are ignored.
"""

from __future__ import annotations

import sys

from minicontainer.libcontainer import system

CAPABILITY_NAMES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]
CAPABILITY_BY_NAME = {name: i for i, name in enumerate(CAPABILITY_NAMES)}


def last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(CAPABILITY_NAMES) - 1


def mask(names: list[str] | None, last: int) -> int:
    """Names → bitmask; unknown names are warned about and skipped (capabilities.go New)."""
    out = 0
    for name in names or []:
        num = CAPABILITY_BY_NAME.get(name)
        if num is None:
            print(f'level=warning msg="unknown capability {name!r}"', file=sys.stderr)
            continue
        if num <= last:
            out |= 1 << num
    return out


class Caps:
    """The five sets as masks, built once from `process.capabilities`."""

    def __init__(self, spec_caps: dict | None) -> None:
        c = spec_caps or {}
        self.last = last_cap()
        self.bounding = mask(c.get("bounding"), self.last)
        self.effective = mask(c.get("effective"), self.last)
        self.permitted = mask(c.get("permitted"), self.last)
        self.inheritable = mask(c.get("inheritable"), self.last)
        self.ambient = mask(c.get("ambient"), self.last)

    def apply_bounding_set(self) -> None:
        """Drop every capability not in the bounding set (needs CAP_SETPCAP, held until ApplyCaps)."""
        for cap in range(self.last + 1):
            if not self.bounding & (1 << cap):
                system.prctl(system.PR_CAPBSET_DROP, cap)

    def apply_caps(self) -> None:
        """capset the three sets, then raise the ambient ones (each must be P and I)."""
        system.capset(self.effective, self.permitted, self.inheritable)
        system.prctl(system.PR_CAP_AMBIENT, system.PR_CAP_AMBIENT_CLEAR_ALL)
        for cap in range(self.last + 1):
            if self.ambient & (1 << cap):
                try:
                    system.prctl(system.PR_CAP_AMBIENT, system.PR_CAP_AMBIENT_RAISE, cap)
                except OSError:
                    # runc ignores ambient raises the kernel refuses (not in P or I).
                    continue
