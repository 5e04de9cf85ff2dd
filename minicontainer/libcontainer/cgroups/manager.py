"""Picking the cgroup manager for this host, as libcontainer/cgroups/manager/new.go does.

A pure cgroup v2 host gets the fs2 manager on /sys/fs/cgroup; a v1 or hybrid
host gets the fs (v1) manager, which also joins the hybrid cgroup2 tree.
`cgroupsPath` is absolute (under each mount) or relative (under our own
cgroup); with none, runc uses the container id, relative.
Omitted: the systemd drivers (refused by the CLI).
"""

from __future__ import annotations

import posixpath

from minicontainer.libcontainer.cgroups import fs, fs2, utils


def inner_path(cgroups_path: str | None, container_id: str) -> str:
    """paths.go innerPath: a cleaned cgroupsPath, or the id (relative) when unset."""
    if cgroups_path:
        # utils.CleanPath: clean as if rooted, so ".." can never climb out.
        cleaned = posixpath.normpath("/" + cgroups_path.lstrip("/"))
        return cleaned if cgroups_path.startswith("/") else cleaned.lstrip("/")
    return container_id


def new_manager(cgroups_path: str | None, container_id: str) -> fs.Manager | fs2.Manager:
    inner = inner_path(cgroups_path, container_id)
    if utils.is_cgroup2_unified_mode():
        return fs2.Manager({"": fs2.unified_path(inner)})
    return fs.Manager(fs.subsystem_paths(inner))


def load_manager(version: int, paths: dict[str, str]) -> fs.Manager | fs2.Manager:
    """Rebuild the manager `create` used from the paths saved in state.json."""
    if version == 2:
        return fs2.Manager(paths)
    return fs.Manager(paths)
