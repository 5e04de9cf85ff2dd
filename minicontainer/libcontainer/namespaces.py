"""The namespace table: OCI namespace types, their clone flags and /proc files.

Mirrors libcontainer/configs/namespaces_linux.go (NamespaceType, the clone
flag of each type, NsName) and the namespace checks of
configs/validate/validator.go. Pure data and checks, without ctypes, so the
commands that only read state (`state`, `list`, `start`) never load it.
"""

from __future__ import annotations

from minicontainer.libcontainer.errors import ContainerError

CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

NAMESPACE_FLAGS = {
    "pid": CLONE_NEWPID,
    "network": CLONE_NEWNET,
    "mount": CLONE_NEWNS,
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "user": CLONE_NEWUSER,
    "cgroup": CLONE_NEWCGROUP,
    "time": CLONE_NEWTIME,
}
# /proc/PID/ns file name for each OCI namespace type (NsName).
NS_FILES = {
    "pid": "pid",
    "network": "net",
    "mount": "mnt",
    "ipc": "ipc",
    "uts": "uts",
    "user": "user",
    "cgroup": "cgroup",
    "time": "time",
}


def validate_namespaces(namespaces: list[dict]) -> None:
    """configs validation: known types only, each at most once."""
    seen = set()
    for ns in namespaces:
        kind = ns.get("type", "")
        if kind not in NAMESPACE_FLAGS:
            raise ContainerError(f'namespace {{"{kind}" "{ns.get("path", "")}"}} does not exist')
        if kind in seen:
            raise ContainerError(f"malformed spec file: duplicated ns {kind!r}")
        seen.add(kind)
