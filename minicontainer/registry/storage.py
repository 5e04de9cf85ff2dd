"""Registry storage: repositories of links over one content-addressed blob store.

Mirrors distribution's registry/storage/paths.go layout (`repositories/<name>/_layers`,
`_manifests/revisions`, `_manifests/tags/<tag>/current/link`, `_uploads`) and
linkedblobstore.go (a blob is visible in a repository only once linked there; a
cross-repository mount only adds a link). Blobs themselves live in a containerd-style
ContentStore whose ingests are the upload sessions, so storage survives restarts.
Omitted: tag index history, storage drivers other than the local filesystem, redirects.
Contract: names reaching here were validated by routes.valid_name (no traversal).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from minicontainer.image.content import ContentStore, NotFound


class Storage:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.content = ContentStore(self.root)
        self.repos = self.root / "repositories"
        self.repos.mkdir(parents=True, exist_ok=True)
        # (digest, inode, mtime, size) of blobs already re-hashed by this process
        self.verified: set[tuple] = set()

    def _repo(self, name: str) -> Path:
        return self.repos / name

    def _link(self, path: Path, digest: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{uuid.uuid4().hex}")
        tmp.write_text(digest)
        os.replace(tmp, path)

    # blobs -----------------------------------------------------------------
    def link_blob(self, name: str, digest: str) -> None:
        self._link(self._repo(name) / "_layers" / digest.replace(":", "/"), digest)

    def blob_linked(self, name: str, digest: str) -> bool:
        p = self._repo(name) / "_layers" / digest.replace(":", "/")
        return p.is_file() and self.content.exists(digest)

    def unlink_blob(self, name: str, digest: str) -> bool:
        p = self._repo(name) / "_layers" / digest.replace(":", "/")
        if not p.is_file():
            return False
        p.unlink()
        return True

    def needs_verify(self, digest: str) -> tuple | None:
        st = self.content.path(digest).stat()
        key = (digest, st.st_ino, st.st_mtime_ns, st.st_size)
        return None if key in self.verified else key

    # uploads ---------------------------------------------------------------
    def start_upload(self, name: str) -> str:
        upload_id = str(uuid.uuid4())
        self.content.writer(upload_id)
        self._link(self._repo(name) / "_uploads" / upload_id, upload_id)
        return upload_id

    def upload(self, name: str, upload_id: str):
        if not (self._repo(name) / "_uploads" / upload_id).is_file():
            raise NotFound(upload_id)
        return self.content.open_ingest(upload_id)

    def end_upload(self, name: str, upload_id: str) -> None:
        (self._repo(name) / "_uploads" / upload_id).unlink(missing_ok=True)

    # manifests and tags ------------------------------------------------------
    def link_manifest(self, name: str, digest: str) -> None:
        self._link(self._repo(name) / "_manifests" / "revisions" / digest.replace(":", "/"), digest)

    def manifest_linked(self, name: str, digest: str) -> bool:
        p = self._repo(name) / "_manifests" / "revisions" / digest.replace(":", "/")
        return p.is_file() and self.content.exists(digest)

    def unlink_manifest(self, name: str, digest: str) -> bool:
        p = self._repo(name) / "_manifests" / "revisions" / digest.replace(":", "/")
        if not p.is_file():
            return False
        p.unlink()
        for tag in self.tags(name):
            if self.tag_digest(name, tag) == digest:
                self.untag(name, tag)
        return True

    def tag(self, name: str, tag: str, digest: str) -> None:
        self._link(self._repo(name) / "_manifests" / "tags" / tag / "current" / "link", digest)

    def tag_digest(self, name: str, tag: str) -> str | None:
        p = self._repo(name) / "_manifests" / "tags" / tag / "current" / "link"
        return p.read_text() if p.is_file() else None

    def untag(self, name: str, tag: str) -> bool:
        p = self._repo(name) / "_manifests" / "tags" / tag / "current" / "link"
        if not p.is_file():
            return False
        p.unlink()
        return True

    def tags(self, name: str) -> list[str]:
        d = self._repo(name) / "_manifests" / "tags"
        if not d.is_dir():
            return []
        return sorted(t.name for t in d.iterdir() if (t / "current" / "link").is_file())

    def repo_exists(self, name: str) -> bool:
        return (self._repo(name) / "_manifests").is_dir() or (self._repo(name) / "_layers").is_dir()

    def catalog(self) -> list[str]:
        """Every repository with a _manifests directory (distribution's catalog walk)."""
        out = []
        for dirpath, dirnames, _files in os.walk(self.repos):
            if "_manifests" in dirnames:
                out.append(os.path.relpath(dirpath, self.repos))
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(out)


def paginate(items: list[str], n: int | None, last: str | None) -> tuple[list[str], bool]:
    """Lexical pagination after `last`, at most n; the bool says more remain."""
    items = [i for i in items if last is None or i > last]
    if n == 0:
        return [], False
    if n is None or n >= len(items):
        return items, False
    return items[:n], True
