"""Join a path under a root without letting symlinks escape it.

Mirrors github.com/cyphar/filepath-securejoin SecureJoin, which runc uses for
every mount destination: each component is resolved in turn, and a symlink
is followed as if the root were "/". Pure except for readlink/lstat.
"""

from __future__ import annotations

import os

_MAX_SYMLINKS = 255


def secure_join(root: str, unsafe: str) -> str:
    """`root` + `unsafe`, with every symlink resolved inside `root`."""
    parts = [p for p in unsafe.split("/") if p]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        if os.path.islink(candidate):
            links += 1
            if links > _MAX_SYMLINKS:
                raise OSError(40, "too many levels of symbolic links", unsafe)
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)
