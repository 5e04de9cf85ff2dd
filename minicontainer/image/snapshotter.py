"""Overlay snapshotter: committed layers as read-only directories, containers as overlays.

Mirrors containerd's snapshots/overlay/overlay.go (Prepare, View, Commit, Remove, Mounts,
the `snapshots/<id>/fs` + `work` layout, `lowerdir=` ordered newest first) and
snapshots/storage/metastore.go (key → id, kind, parent), with the metastore as one JSON
file instead of bolt. `mount_all`/`unmount` are the thin syscall adapter (mount(8)).
Omitted: labels, usage accounting, the userxattr/idmapped variants, fuse-overlayfs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ACTIVE, VIEW, COMMITTED = "active", "view", "committed"


class SnapshotError(Exception):
    pass


@dataclass(frozen=True)
class Mount:
    """containerd's mount.Mount: what `mount -t type source target -o options` gets."""

    type: str
    source: str
    options: tuple[str, ...]


class Snapshotter:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        (self.root / "snapshots").mkdir(parents=True, exist_ok=True)
        self.meta_path = self.root / "metadata.json"

    def _load(self) -> dict:
        if not self.meta_path.exists():
            return {"next": 1, "snapshots": {}}
        return json.loads(self.meta_path.read_text())

    def _save(self, meta: dict) -> None:
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
        os.replace(tmp, self.meta_path)

    def exists(self, key: str) -> bool:
        return key in self._load()["snapshots"]

    def stat(self, key: str) -> dict:
        try:
            return self._load()["snapshots"][key]
        except KeyError:
            raise SnapshotError(f"snapshot {key}: not found") from None

    def fs_dir(self, key: str) -> Path:
        return self.root / "snapshots" / str(self.stat(key)["id"]) / "fs"

    def _create(self, key: str, parent: str | None, kind: str) -> list[Mount]:
        meta = self._load()
        if key in meta["snapshots"]:
            raise SnapshotError(f"snapshot {key}: already exists")
        if parent and meta["snapshots"].get(parent, {}).get("kind") != COMMITTED:
            raise SnapshotError(f"parent {parent} is not a committed snapshot")
        sid = meta["next"]
        meta["next"] = sid + 1
        meta["snapshots"][key] = {"id": sid, "kind": kind, "parent": parent}
        base = self.root / "snapshots" / str(sid)
        (base / "fs").mkdir(parents=True)
        if kind == ACTIVE:
            (base / "work").mkdir()
        os.chmod(base / "fs", 0o755)
        self._save(meta)
        return self.mounts(key)

    def prepare(self, key: str, parent: str | None = None) -> list[Mount]:
        return self._create(key, parent, ACTIVE)

    def view(self, key: str, parent: str | None = None) -> list[Mount]:
        return self._create(key, parent, VIEW)

    def parents(self, key: str) -> list[str]:
        """Committed ancestors, nearest first (the overlay lowerdir order)."""
        meta = self._load()["snapshots"]
        out, p = [], meta[key]["parent"]
        while p:
            out.append(p)
            p = meta[p]["parent"]
        return out

    def mounts(self, key: str) -> list[Mount]:
        info = self.stat(key)
        lowers = [str(self.fs_dir(p)) for p in self.parents(key)]
        if info["kind"] == VIEW and len(lowers) == 1:
            return [Mount("bind", lowers[0], ("ro", "rbind"))]
        if info["kind"] == VIEW:
            return [Mount("overlay", "overlay", ("ro", "lowerdir=" + ":".join(lowers)))]
        if not lowers:
            return [Mount("bind", str(self.fs_dir(key)), ("rw", "rbind"))]
        base = self.fs_dir(key).parent
        opts = (
            f"workdir={base / 'work'}",
            f"upperdir={base / 'fs'}",
            "lowerdir=" + ":".join(lowers),
        )
        return [Mount("overlay", "overlay", opts)]

    def commit(self, name: str, key: str) -> None:
        """Turn an active snapshot into a committed one named `name` (its upper becomes a lower)."""
        meta = self._load()
        info = meta["snapshots"].get(key)
        if info is None or info["kind"] != ACTIVE:
            raise SnapshotError(f"snapshot {key}: not an active snapshot")
        if name in meta["snapshots"]:
            raise SnapshotError(f"snapshot {name}: already exists")
        shutil.rmtree(self.root / "snapshots" / str(info["id"]) / "work", ignore_errors=True)
        meta["snapshots"][name] = {**info, "kind": COMMITTED}
        del meta["snapshots"][key]
        self._save(meta)

    def remove(self, key: str) -> None:
        meta = self._load()
        info = meta["snapshots"].get(key)
        if info is None:
            raise SnapshotError(f"snapshot {key}: not found")
        if any(s["parent"] == key for s in meta["snapshots"].values()):
            raise SnapshotError(f"cannot remove snapshot {key} with child: failed precondition")
        del meta["snapshots"][key]
        self._save(meta)
        shutil.rmtree(self.root / "snapshots" / str(info["id"]), ignore_errors=True)

    def keys(self) -> list[str]:
        return sorted(self._load()["snapshots"])


def mount_all(mounts: list[Mount], target: str | os.PathLike) -> None:
    for m in mounts:
        cmd = ["mount", "-t", m.type, m.source, str(target), "-o", ",".join(m.options)]
        if m.type == "bind":
            cmd = ["mount", "--bind", m.source, str(target)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise SnapshotError(f"mount {m.type} on {target}: {res.stderr.strip()}")
        if m.type == "bind" and "ro" in m.options:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)


def unmount(target: str | os.PathLike) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)
