"""Parsing OCI mount options into mount(2) flags, propagation and data.

Mirrors libcontainer/specconv/spec_linux.go parseMountOptions (the flag
table, the propagation table and the leftover "data" string). Pure.
Omitted: recursive mount attributes (rro, rnosuid, ...) and idmapped mounts.
"""

from __future__ import annotations

from minicontainer.libcontainer import system as s

# name → (clear?, flag)
FLAGS: dict[str, tuple[bool, int]] = {
    "acl": (False, 1 << 16),
    "async": (True, s.MS_SYNCHRONOUS),
    "atime": (True, s.MS_NOATIME),
    "bind": (False, s.MS_BIND),
    "defaults": (False, 0),
    "dev": (True, s.MS_NODEV),
    "diratime": (True, s.MS_NODIRATIME),
    "dirsync": (False, s.MS_DIRSYNC),
    "exec": (True, s.MS_NOEXEC),
    "iversion": (False, 1 << 23),
    "lazytime": (False, s.MS_LAZYTIME),
    "loud": (True, s.MS_SILENT),
    "mand": (False, s.MS_MANDLOCK),
    "noacl": (True, 1 << 16),
    "noatime": (False, s.MS_NOATIME),
    "nodev": (False, s.MS_NODEV),
    "nodiratime": (False, s.MS_NODIRATIME),
    "noexec": (False, s.MS_NOEXEC),
    "noiversion": (True, 1 << 23),
    "nolazytime": (True, s.MS_LAZYTIME),
    "nomand": (True, s.MS_MANDLOCK),
    "norelatime": (True, s.MS_RELATIME),
    "nostrictatime": (True, s.MS_STRICTATIME),
    "nosuid": (False, s.MS_NOSUID),
    "nosymfollow": (False, s.MS_NOSYMFOLLOW),
    "rbind": (False, s.MS_BIND | s.MS_REC),
    "relatime": (False, s.MS_RELATIME),
    "remount": (False, s.MS_REMOUNT),
    "ro": (False, s.MS_RDONLY),
    "rw": (True, s.MS_RDONLY),
    "silent": (False, s.MS_SILENT),
    "strictatime": (False, s.MS_STRICTATIME),
    "suid": (True, s.MS_NOSUID),
    "sync": (False, s.MS_SYNCHRONOUS),
}

PROPAGATION: dict[str, int] = {
    "private": s.MS_PRIVATE,
    "shared": s.MS_SHARED,
    "slave": s.MS_SLAVE,
    "unbindable": s.MS_UNBINDABLE,
    "rprivate": s.MS_PRIVATE | s.MS_REC,
    "rshared": s.MS_SHARED | s.MS_REC,
    "rslave": s.MS_SLAVE | s.MS_REC,
    "runbindable": s.MS_UNBINDABLE | s.MS_REC,
}


class MountOptions:
    """flags for mount(2), propagation changes to apply after it, and the data string."""

    __slots__ = ("flags", "propagation", "data")

    def __init__(self, flags: int, propagation: list[int], data: str) -> None:
        self.flags = flags
        self.propagation = propagation
        self.data = data


def parse_mount_options(options: list[str] | None) -> MountOptions:
    flags, prop, data = 0, [], []
    for opt in options or []:
        if opt in FLAGS:
            clear, flag = FLAGS[opt]
            flags = flags & ~flag if clear else flags | flag
        elif opt in PROPAGATION:
            prop.append(PROPAGATION[opt])
        elif opt == "tmpcopyup":
            continue  # runc extension we do not implement; harmless to drop for empty dirs
        else:
            data.append(opt)
    return MountOptions(flags, prop, ",".join(data))
