"""The history of one key: generations of revisions, from creation to tombstone.

Mirrors etcd server/storage/mvcc/key_index.go (keyIndex, generation).
A generation starts at a create and ends at a tombstone (a delete); `version`
counts modifications within the generation. Compaction drops the revisions
that no read at or after the compaction revision can reach, and reports the
ones it keeps in `available` so the store can delete the rest of the backend.
Omitted: the keys gauge metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from miniraft.server.mvcc.errors import ErrRevisionNotFound
from miniraft.server.mvcc.revision import Revision


@dataclass
class Generation:
    """One life of a key: created at `created`, `ver` modifications, `revs` in order."""

    ver: int = 0
    created: Revision = Revision(0, 0)
    revs: list[Revision] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not self.revs

    def walk(self, keep_going) -> int:
        """Index of the first revision (newest first) for which keep_going is False, else -1."""
        for i in range(len(self.revs) - 1, -1, -1):
            if not keep_going(self.revs[i]):
                return i
        return -1


@dataclass
class KeyIndex:
    key: bytes
    modified: Revision = Revision(0, 0)
    generations: list[Generation] = field(default_factory=list)

    def put(self, main: int, sub: int) -> None:
        rev = Revision(main, sub)
        if rev <= self.modified:
            raise ValueError(f"put with smaller revision {rev} <= {self.modified}")
        if not self.generations:
            self.generations.append(Generation())
        g = self.generations[-1]
        if g.is_empty():
            g.created = rev
        g.revs.append(rev)
        g.ver += 1
        self.modified = rev

    def restore(self, created: Revision, modified: Revision, ver: int) -> None:
        """Start a key's index from a backend record (used when rebuilding from a snapshot)."""
        self.modified = modified
        self.generations.append(Generation(ver=ver, created=created, revs=[modified]))

    def tombstone(self, main: int, sub: int) -> None:
        """Record a delete: a last revision, then a fresh empty generation."""
        if self.is_empty():
            raise ValueError("tombstone on an empty keyIndex")
        if self.generations[-1].is_empty():
            raise ErrRevisionNotFound()
        self.put(main, sub)
        self.generations.append(Generation())

    def get(self, at_rev: int) -> tuple[Revision, Revision, int]:
        """(modified, created, version) of the key as of at_rev; ErrRevisionNotFound if absent."""
        g = self.find_generation(at_rev)
        if g is None or g.is_empty():
            raise ErrRevisionNotFound()
        n = g.walk(lambda rev: rev.main > at_rev)
        if n == -1:
            raise ErrRevisionNotFound()
        return g.revs[n], g.created, g.ver - (len(g.revs) - n - 1)

    def since(self, rev: int) -> list[Revision]:
        """Revisions since rev (inclusive), one per main revision (the last sub wins)."""
        since = Revision(rev, 0)
        gi = len(self.generations) - 1
        while gi > 0:
            g = self.generations[gi]
            if not g.is_empty() and since > g.created:
                break
            gi -= 1
        revs: list[Revision] = []
        last = 0
        for g in self.generations[gi:]:
            for r in g.revs:
                if since > r:
                    continue
                if r.main == last:
                    revs[-1] = r
                    continue
                revs.append(r)
                last = r.main
        return revs

    def compact(self, at_rev: int, available: set[Revision]) -> None:
        """Drop what no read at >= at_rev needs; add the kept revisions <= at_rev to available."""
        if self.is_empty():
            raise ValueError("compact on an empty keyIndex")
        gen_idx, rev_index = self._do_compact(at_rev, available)
        g = self.generations[gen_idx]
        if not g.is_empty() and rev_index != -1:
            g.revs = g.revs[rev_index:]
        self.generations = self.generations[gen_idx:]

    def keep(self, at_rev: int, available: set[Revision]) -> None:
        """Like compact, without changing the index: which revisions would survive."""
        if self.is_empty():
            return
        gen_idx, rev_index = self._do_compact(at_rev, available)
        g = self.generations[gen_idx]
        last_gen = gen_idx == len(self.generations) - 1
        if not g.is_empty() and rev_index == len(g.revs) - 1 and not last_gen:
            available.discard(g.revs[rev_index])

    def _do_compact(self, at_rev: int, available: set[Revision]) -> tuple[int, int]:
        def keep_going(rev: Revision) -> bool:
            if rev.main <= at_rev:
                available.add(rev)
                return False
            return True

        gen_idx = 0
        g = self.generations[0]
        while gen_idx < len(self.generations) - 1:
            if g.revs[-1].main >= at_rev:  # the generation's tombstone
                break
            gen_idx += 1
            g = self.generations[gen_idx]
        return gen_idx, g.walk(keep_going)

    def is_empty(self) -> bool:
        return len(self.generations) == 1 and self.generations[0].is_empty()

    def find_generation(self, rev: int) -> Generation | None:
        """The generation that holds rev, or None when the key did not exist at rev."""
        last = len(self.generations) - 1
        for cg in range(last, -1, -1):
            g = self.generations[cg]
            if not g.revs:
                continue
            if cg != last and g.revs[-1].main <= rev:
                return None  # deleted at or before rev
            if g.revs[0].main <= rev:
                return g
        return None
