"""The build context: .dockerignore, resolving COPY sources, hashing and copying them.

Mirrors moby/patternmatcher (.dockerignore: last matching pattern wins, `!` re-includes,
a pattern matching a directory excludes what is under it) and BuildKit's
cache/contenthash (a COPY's cache key is a hash of the names, modes and bytes it copies)
and fileop copy semantics (a directory source copies its contents; a trailing `/` or many
sources make the destination a directory).
Omitted: `**` across path separators beyond fnmatch's `*`, ADD's URL and archive forms.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import shutil
import stat
from pathlib import Path


class ContextError(Exception):
    pass


def read_dockerignore(context: Path) -> list[str]:
    p = context / ".dockerignore"
    if not p.is_file():
        return []
    lines = (ln.strip() for ln in p.read_text().splitlines())
    return [
        os.path.normpath(ln).lstrip("/")
        if not ln.startswith("!")
        else "!" + os.path.normpath(ln[1:]).lstrip("/")
        for ln in lines
        if ln and not ln.startswith("#")
    ]


def ignored(rel: str, patterns: list[str]) -> bool:
    verdict = False
    for pat in patterns:
        negate = pat.startswith("!")
        p = pat[1:] if negate else pat
        parts = rel.split("/")
        hit = any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), p) for i in range(len(parts)))
        if hit:
            verdict = not negate
    return verdict


def resolve_sources(root: Path, patterns: list[str], srcs: list[str]) -> list[Path]:
    """Expand globs under root; refuse paths that leave it (`COPY ../x` is an error)."""
    out: list[Path] = []
    real_root = os.path.realpath(root)
    for src in srcs:
        matches = sorted(glob.glob(os.path.join(root, src.lstrip("/")))) or []
        if not matches:
            raise ContextError(f'failed to compute cache key: "/{src.lstrip("/")}": not found')
        for m in matches:
            real = os.path.realpath(m) if not os.path.islink(m) else os.path.abspath(m)
            if real != real_root and not real.startswith(real_root + os.sep):
                raise ContextError(f"forbidden path outside the build context: {src}")
            rel = os.path.relpath(m, root)
            if rel != "." and ignored(rel, patterns):
                continue
            out.append(Path(m))
    return out


def _walk_files(path: Path, root: Path, patterns: list[str]):
    if not path.is_dir() or path.is_symlink():
        yield path
        return
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        yield Path(dirpath)
        for name in sorted(filenames) + [
            d for d in dirnames if os.path.islink(os.path.join(dirpath, d))
        ]:
            p = Path(dirpath) / name
            if not ignored(os.path.relpath(p, root), patterns):
                yield p
        dirnames[:] = [
            d
            for d in dirnames
            if not os.path.islink(os.path.join(dirpath, d))
            and not ignored(os.path.relpath(os.path.join(dirpath, d), root), patterns)
        ]


def hash_sources(sources: list[Path], root: Path, patterns: list[str]) -> str:
    """Digest of relative names, modes, symlink targets and bytes: the COPY cache input."""
    h = hashlib.sha256()
    for src in sources:
        for p in _walk_files(src, root, patterns):
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)}\0{st.st_mode:o}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
    return "sha256:" + h.hexdigest()


def copy_sources(
    sources: list[Path], root: Path, patterns: list[str], dest: Path, dest_is_dir: bool, owner
) -> None:
    """Copy into dest (inside a snapshot's upper directory), optionally chowning."""
    for src in sources:
        if src.is_dir() and not src.is_symlink():
            for p in _walk_files(src, root, patterns):
                _copy_one(p, dest / os.path.relpath(p, src), owner)
        else:
            target = dest / src.name if dest_is_dir else dest
            _copy_one(src, target, owner)


def _copy_one(src: Path, target: Path, owner) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        if target.is_symlink() or target.exists():
            target.unlink()
        os.symlink(os.readlink(src), target)
    elif src.is_dir():
        target.mkdir(exist_ok=True)
        shutil.copystat(src, target)
    else:
        shutil.copy2(src, target)
    if owner is not None:
        os.lchown(target, *owner)
