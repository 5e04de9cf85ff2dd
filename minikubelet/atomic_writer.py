"""Writing a volume's files so that a reader sees the old set or the new one, never a mix.

Mirrors pkg/volume/util/atomic_writer.go (AtomicWriter.Write): the files live in a
timestamped directory `..<time>.<random>`; `..data` is a symlink to the current one and
each user-visible top-level name is a symlink through it (`token -> ..data/token`). An
update writes a whole new timestamped directory, points a `..data_tmp` symlink at it and
renames that over `..data` (rename(2) is atomic), adds the new user-visible links, drops
the ones no longer in the payload, then removes the old directory. A payload equal to
what is there already writes nothing. This is what lets a running container read a
rotated ServiceAccount token or an updated ConfigMap without ever seeing half of it.
Omitted: file ownership (fsGroup), the Windows variant.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass

DATA_DIR_NAME = "..data"
NEW_DATA_DIR_NAME = "..data_tmp"


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int = 0o644


class PayloadError(ValueError):
    """A payload path that could escape the volume or collide with the writer's own names."""


def validate_path(path: str) -> None:
    """validatePath: relative, no '..' element, not starting with '..', not too long."""
    if not path:
        raise PayloadError("invalid path: must not be empty")
    if len(path) > 4096:
        raise PayloadError(f"invalid path: must be less than or equal to 4096 characters: {path!r}")
    if os.path.isabs(path):
        raise PayloadError(f"invalid path: must be relative path: {path}")
    if ".." in path.split("/"):
        raise PayloadError(f"invalid path: must not contain '..': {path}")
    if path.startswith(".."):
        raise PayloadError(f"invalid path: must not start with '..': {path}")


def _top(path: str) -> str:
    return os.path.normpath(path).split("/")[0]


def _current(target: str) -> dict[str, FileProjection] | None:
    """The payload now under ..data, or None when there is none yet."""
    data = os.path.join(target, DATA_DIR_NAME)
    if not os.path.islink(data):
        return None
    out = {}
    for root, _dirs, files in os.walk(data):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, data)] = FileProjection(
                    f.read(), os.stat(full).st_mode & 0o777
                )
    return out


def _write_payload(ts_dir: str, payload: dict[str, FileProjection]) -> None:
    for rel, fp in payload.items():
        path = os.path.join(ts_dir, os.path.normpath(rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(fp.data)
        os.chmod(path, fp.mode)  # after the write: the umask must not narrow it


def write(target: str, payload: dict[str, FileProjection]) -> bool:
    """AtomicWriter.Write; True when something changed on disk."""
    for rel in payload:
        validate_path(rel)
    os.makedirs(target, exist_ok=True)
    old = _current(target)
    data_link = os.path.join(target, DATA_DIR_NAME)
    old_ts = os.readlink(data_link) if os.path.islink(data_link) else ""
    old_visible = {_top(p) for p in old or {}}
    new_visible = {_top(p) for p in payload}
    if old == payload:
        return False
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime())
    ts_name = f"..{stamp}.{secrets.randbelow(10**9)}"
    ts_dir = os.path.join(target, ts_name)
    os.mkdir(ts_dir, 0o755)
    _write_payload(ts_dir, payload)
    tmp_link = os.path.join(target, NEW_DATA_DIR_NAME)
    if os.path.lexists(tmp_link):
        os.unlink(tmp_link)
    os.symlink(ts_name, tmp_link)
    os.rename(tmp_link, data_link)  # the switch: atomic
    for name in sorted(new_visible):
        link = os.path.join(target, name)
        if not os.path.lexists(link):
            os.symlink(os.path.join(DATA_DIR_NAME, name), link)
    for name in old_visible - new_visible:
        os.unlink(os.path.join(target, name))
    if old_ts:
        shutil.rmtree(os.path.join(target, old_ts), ignore_errors=True)
    return True
