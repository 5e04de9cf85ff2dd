"""Layer tarballs: write a directory diff as a tar, apply a tar onto a snapshot directory.

Mirrors containerd's archive/tar.go (Apply, applyNaive, WriteDiff) and archive/
tar_opts_linux.go (OverlayConvertWhiteout): in a layer, a deleted path is an empty file
`.wh.<name>` and a directory whose lower content is hidden carries `.wh..wh..opq`; in an
overlayfs upper directory the same facts are a 0/0 character device and the xattr
`trusted.overlay.opaque=y`. We convert between the two forms in both directions.
Determinism: entries are sorted and mtimes are clamped to 0, so identical inputs give
identical layer digests (what BuildKit does with SOURCE_DATE_EPOCH=0 rewriting).
Omitted: xattrs other than opaque, device nodes other than whiteouts, sparse files.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"


class ArchiveError(Exception):
    pass


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Relative paths under root, parents before children, sorted (stable order)."""
    stack = [""]
    while stack:
        rel = stack.pop()
        names = sorted(os.listdir(root / rel), reverse=True)
        for name in names:
            child = f"{rel}/{name}" if rel else name
            st = os.lstat(root / child)
            if stat.S_ISDIR(st.st_mode):
                stack.append(child)
        for name in reversed(names):
            child = f"{rel}/{name}" if rel else name
            yield child, os.lstat(root / child)


def _is_opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def write_diff(upper: str | os.PathLike, out, convert_whiteouts: bool = True) -> str:
    """Write the tar of `upper` to the binary file `out`; return its sha256 (the diff ID)."""
    root = Path(upper)
    hashed = _HashingWriter(out)
    with tarfile.open(fileobj=hashed, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        for rel, st in _sorted_entries(root):
            full = root / rel
            if convert_whiteouts and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                parent, name = os.path.split(rel)
                ti = tarfile.TarInfo(os.path.join(parent, WHITEOUT_PREFIX + name))
                tf.addfile(_owned(ti, st, 0o644))
                continue
            ti = tf.gettarinfo(str(full), arcname=rel)
            ti.mtime, ti.uname, ti.gname = 0, "", ""
            if ti.isreg():
                with open(full, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)
            if convert_whiteouts and ti.isdir() and _is_opaque(full):
                tf.addfile(_owned(tarfile.TarInfo(f"{rel}/{WHITEOUT_OPAQUE}"), st, 0o644))
    return "sha256:" + hashed.sha.hexdigest()


def _sorted_entries(root: Path) -> list[tuple[str, os.stat_result]]:
    return sorted(_walk(root), key=lambda e: e[0].split("/"))


def _owned(ti: tarfile.TarInfo, st: os.stat_result, mode: int) -> tarfile.TarInfo:
    ti.uid, ti.gid, ti.mode, ti.mtime, ti.size = st.st_uid, st.st_gid, mode, 0, 0
    return ti


class _HashingWriter:
    def __init__(self, out) -> None:
        self.out, self.sha = out, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        return self.out.write(data)


def _safe_target(root: Path, name: str) -> Path:
    """Join a tar entry name under root; refuse `..` breakouts and symlinked parents."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"path {name!r} escapes the layer root")
    target = root.joinpath(*parts) if parts else root
    real_parent = os.path.realpath(target.parent)
    if real_parent != str(root) and not real_parent.startswith(str(root) + os.sep):
        raise ArchiveError(f"path {name!r} resolves outside the layer root")
    return target


def apply_layer(tar_path: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Unpack a layer into an (empty) snapshot directory in overlay form.

    `.wh.x` becomes a 0/0 character device `x`, `.wh..wh..opq` sets the opaque xattr on
    its directory, so the directory can serve as an overlayfs lower layer as it is.
    """
    root = Path(os.path.realpath(dest))
    dirs: list[tuple[Path, tarfile.TarInfo]] = []
    with tarfile.open(tar_path, mode="r|*") as tf:
        for ti in tf:
            target = _safe_target(root, ti.name)
            base = target.name
            if base == WHITEOUT_OPAQUE:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.setxattr(target.parent, OPAQUE_XATTR, b"y")
                continue
            if base.startswith(WHITEOUT_PREFIX):
                hidden = target.with_name(base[len(WHITEOUT_PREFIX) :])
                _remove(hidden)
                hidden.parent.mkdir(parents=True, exist_ok=True)
                os.mknod(hidden, stat.S_IFCHR | 0o000, os.makedev(0, 0))
                continue
            _extract_one(tf, ti, target, root)
            if ti.isdir():
                dirs.append((target, ti))
    for target, ti in reversed(dirs):  # directory times last, children would change them
        os.utime(target, (ti.mtime, ti.mtime))


def _extract_one(tf: tarfile.TarFile, ti: tarfile.TarInfo, target: Path, root: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (ti.isdir() and target.is_dir() and not target.is_symlink()):
        _remove(target)
    if ti.isdir():
        target.mkdir(exist_ok=True)
    elif ti.isreg():
        with open(target, "wb") as f:
            src = tf.extractfile(ti)
            while chunk := src.read(1 << 20):
                f.write(chunk)
    elif ti.issym():
        os.symlink(ti.linkname, target)
    elif ti.islnk():
        os.link(_safe_target(root, ti.linkname), target)
    elif ti.isfifo():
        os.mkfifo(target)
    else:
        return  # device nodes are left out (containers get /dev from the runtime)
    os.lchown(target, ti.uid, ti.gid)
    if not ti.issym():
        os.chmod(target, ti.mode & 0o7777)
        os.utime(target, (ti.mtime, ti.mtime))


def _remove(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        import shutil

        shutil.rmtree(path)


def chain_ids(diff_ids: list[str]) -> list[str]:
    """image-spec config.md ChainID: chain[0]=diff[0], chain[n]=sha256(chain[n-1]+" "+diff[n])."""
    out: list[str] = []
    for d in diff_ids:
        if out:
            d = "sha256:" + hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest()
        out.append(d)
    return out
