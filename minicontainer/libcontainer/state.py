"""The container state directory and its status, as runc keeps it.

Mirrors libcontainer/container_linux.go (State, currentStatus, runType) and
libcontainer/factory_linux.go (Load, validateID). Each container owns
`<root>/<id>/` holding `state.json` and, until `start`, the `exec.fifo`; the
status is derived, never stored: paused if the freezer says so, stopped if
the init process (checked by pid *and* start time) is gone, created while the
fifo exists, running otherwise.
Omitted: checkpoint/restore fields, intelReadCounter, the rootless flag.
"""

from __future__ import annotations

import os
import time

from minicontainer.libcontainer import fastjson
from minicontainer.libcontainer.errors import (
    ERR_INVALID_ID,
    ERR_NOT_EXIST,
    ContainerError,
)

STATE_FILENAME = "state.json"
EXEC_FIFO_FILENAME = "exec.fifo"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")

CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"


class State:
    """What `create` records; `config` is the OCI spec as loaded from the bundle.

    A plain class (no dataclasses import on the hot path); `to_dict` is state.json.
    """

    FIELDS = (
        "id",
        "bundle",
        "rootfs",
        "init_pid",
        "init_start_time",
        "created",
        "config",
        "cgroup_paths",
        "cgroup_version",
        "namespace_paths",
        "annotations",
        "owner",
    )

    def __init__(
        self,
        id: str,
        bundle: str,
        rootfs: str,
        init_pid: int,
        init_start_time: str,
        created: str,
        config: dict,
        cgroup_paths: dict[str, str] | None = None,
        cgroup_version: int = 1,
        namespace_paths: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        owner: str = "",
    ) -> None:
        self.id = id
        self.bundle = bundle
        self.rootfs = rootfs
        self.init_pid = init_pid
        self.init_start_time = init_start_time
        self.created = created
        self.config = config
        self.cgroup_paths = cgroup_paths or {}
        self.cgroup_version = cgroup_version
        self.namespace_paths = namespace_paths or {}
        self.annotations = annotations or {}
        self.owner = owner

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}


def validate_id(container_id: str) -> None:
    if not container_id or not _ID_CHARS.issuperset(container_id) or container_id in (".", ".."):
        raise ContainerError(ERR_INVALID_ID)


def state_dir(root: str, container_id: str) -> str:
    return os.path.join(root, container_id)


def load(root: str, container_id: str) -> State:
    """factory_linux.go Load: a missing directory is 'container does not exist'."""
    validate_id(container_id)
    path = os.path.join(state_dir(root, container_id), STATE_FILENAME)
    try:
        with open(path) as f:
            raw = fastjson.loads(f.read())
    except FileNotFoundError:
        raise ContainerError(ERR_NOT_EXIST) from None
    return State(**raw)


def save(root: str, st: State) -> None:
    """Write atomically (tmp + rename) so a reader never sees half a file."""
    d = state_dir(root, st.id)
    tmp = os.path.join(d, f".{STATE_FILENAME}.tmp")
    with open(tmp, "w") as f:
        f.write(fastjson.dumps(st.to_dict()))
    os.rename(tmp, os.path.join(d, STATE_FILENAME))


def list_ids(root: str) -> list[str]:
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    return [n for n in names if os.path.isfile(os.path.join(root, n, STATE_FILENAME))]


def process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (after the parenthesised comm), None if gone/zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rindex(b")") + 2 :].split()
    if rest[0] in (b"Z", b"X"):
        return None
    return rest[19].decode()


def init_alive(st: State) -> bool:
    if st.init_pid <= 0:
        return False
    return process_start_time(st.init_pid) == st.init_start_time


def current_status(root: str, st: State, frozen: bool) -> str:
    """container_linux.go currentStatus + runType."""
    if not init_alive(st):
        return STOPPED
    if frozen:
        return PAUSED
    fifo = os.path.join(state_dir(root, st.id), EXEC_FIFO_FILENAME)
    if os.path.exists(fifo):
        return CREATED
    return RUNNING


def oci_state(st: State, status: str) -> dict:
    """The runtime-spec State (runtime.md "State"), with runc's extra fields."""
    out: dict = {
        "ociVersion": st.config.get("ociVersion", ""),
        "id": st.id,
        "pid": st.init_pid if status != STOPPED else 0,
        "status": status,
        "bundle": st.bundle,
        "rootfs": st.rootfs,
        "created": st.created,
    }
    if st.annotations:
        out["annotations"] = st.annotations
    out["owner"] = st.owner  # runc's containerState declares owner after annotations
    return out


def hook_state(st: State, status: str) -> dict:
    """The state hooks read on stdin: runtime-spec's fields only."""
    out = {
        "ociVersion": st.config.get("ociVersion", ""),
        "id": st.id,
        "status": status,
        "pid": st.init_pid if status != STOPPED else 0,
        "bundle": st.bundle,
    }
    if st.annotations:
        out["annotations"] = st.annotations
    return out


def rfc3339nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction trimmed."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    fr = f"{frac:09d}".rstrip("0")
    return f"{base}.{fr}Z" if fr else f"{base}Z"
