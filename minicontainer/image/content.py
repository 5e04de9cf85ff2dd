"""Content-addressed blob store with resumable ingests.

Mirrors containerd's content/local/store.go (Info, ReaderAt, Writer, Commit, Delete, Walk)
and content/local/writer.go: data is written under `ingest/<ref>/data`, hashed while it is
written, and renamed into `blobs/sha256/<hex>` only when the digest and size match.
Omitted: labels on blobs, leases, the gRPC content service.
Contract: a file under blobs/ always hashes to its name; a partial ingest can resume at its
current offset (what a registry's chunked upload and a re-started pull need).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


class ContentError(Exception):
    """containerd's errdefs: a NotFound, InvalidArgument or FailedPrecondition."""


class NotFound(ContentError):
    pass


class DigestMismatch(ContentError):
    pass


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def validate_digest(digest: str) -> str:
    """Return the hex part; only sha256 is accepted (like go-digest's default algorithm)."""
    if not DIGEST_RE.match(digest):
        raise ContentError(f"invalid digest {digest!r}")
    return digest.split(":", 1)[1]


@dataclass(frozen=True)
class Info:
    digest: str
    size: int


class Ingest:
    """An open writer (containerd's content.Writer): append, then commit under a digest."""

    def __init__(self, directory: Path, blobs: Path) -> None:
        self.dir = directory
        self.blobs = blobs
        self.data = directory / "data"
        self.data.touch(exist_ok=True)

    @property
    def offset(self) -> int:
        return self.data.stat().st_size

    def write(self, chunk: bytes) -> int:
        with open(self.data, "ab") as f:
            f.write(chunk)
        return self.offset

    def digest(self) -> str:
        return "sha256:" + _hash_file(self.data)

    def commit(self, expected: str | None = None, size: int | None = None) -> Info:
        """Verify and move into blobs/; on mismatch the ingest is removed (like containerd)."""
        actual = self.digest()
        got = self.offset
        if (size is not None and size != got) or (expected and expected != actual):
            self.abort()
            raise DigestMismatch(f"unexpected commit digest {actual}, expected {expected}")
        target = self.blobs / actual.split(":", 1)[1]
        if target.exists():
            self.abort()
        else:
            os.chmod(self.data, 0o444)
            os.replace(self.data, target)
            _rmtree(self.dir)
        return Info(actual, got)

    def abort(self) -> None:
        _rmtree(self.dir)


class ContentStore:
    """blobs/sha256/<hex> plus ingest/<ref>/ under one root."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs" / "sha256"
        self.ingests = self.root / "ingest"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.ingests.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.blobs / validate_digest(digest)

    def info(self, digest: str) -> Info:
        p = self.path(digest)
        try:
            return Info(digest, p.stat().st_size)
        except FileNotFoundError:
            raise NotFound(f"content digest {digest}: not found") from None

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def read(self, digest: str) -> bytes:
        self.info(digest)
        return self.path(digest).read_bytes()

    def verify(self, digest: str) -> bool:
        """Re-hash a stored blob: the registry never serves one that fails this."""
        return _hash_file(self.path(digest)) == validate_digest(digest)

    def writer(self, ref: str) -> Ingest:
        if not re.match(r"^[A-Za-z0-9_.-]+$", ref) or ref.startswith("."):
            raise ContentError(f"invalid ingest ref {ref!r}")
        d = self.ingests / ref
        d.mkdir(exist_ok=True)
        return Ingest(d, self.blobs)

    def open_ingest(self, ref: str) -> Ingest:
        if not (self.ingests / ref / "data").is_file() or "/" in ref or ref.startswith("."):
            raise NotFound(f"ingest {ref}: not found")
        return Ingest(self.ingests / ref, self.blobs)

    def put(self, data: bytes, expected: str | None = None) -> Info:
        """Write a whole blob (the common case for configs and manifests)."""
        digest = digest_of(data)
        if expected and expected != digest:
            raise DigestMismatch(f"unexpected commit digest {digest}, expected {expected}")
        if self.exists(digest):
            return Info(digest, len(data))
        w = self.writer("put-" + digest[7:23] + f"-{os.getpid()}")
        w.write(data)
        return w.commit(digest, len(data))

    def delete(self, digest: str) -> None:
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            raise NotFound(f"content digest {digest}: not found") from None

    def walk(self) -> Iterator[Info]:
        for p in sorted(self.blobs.iterdir()):
            yield Info("sha256:" + p.name, p.stat().st_size)


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
