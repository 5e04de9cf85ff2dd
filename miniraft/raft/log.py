"""The Raft log: stable entries in Storage plus the unstable tail in memory.

Mirrors etcd-io/raft log.go (raftLog). Holds the three cursors of Figure 2 and
etcd's extra one: committed (known replicated on a quorum), applying (handed
to the application in a Ready), applied (reported back through advance()).
Invariant: applied <= applying <= committed <= last_index().
Omitted: the applying-size pause (MaxCommittedSizePerReady only caps one
Ready here), the logger, and the logSlice/entryID helper types.
"""

from __future__ import annotations

from miniraft.raft.log_unstable import Unstable
from miniraft.raft.raftpb import Entry, Snapshot
from miniraft.raft.raftpb_codec import limit_size
from miniraft.raft.storage import NO_LIMIT, ErrCompacted, ErrUnavailable, RaftError, Storage


class RaftLog:
    def __init__(self, storage: Storage, max_applying_ents_size: int = NO_LIMIT) -> None:
        self.storage = storage
        first, last = storage.first_index(), storage.last_index()
        self.unstable = Unstable(last + 1)
        # Everything in storage up to the snapshot is committed and applied.
        self.committed = first - 1
        self.applying = first - 1
        self.applied = first - 1
        self.max_applying_ents_size = max_applying_ents_size

    def __str__(self) -> str:
        return (
            f"committed={self.committed}, applied={self.applied}, applying={self.applying}, "
            f"unstable.offset={self.unstable.offset}, len(unstable.entries)={len(self.unstable.entries)}"
        )

    # -- appending ---------------------------------------------------------

    def maybe_append(
        self, index: int, log_term: int, committed: int, ents: tuple[Entry, ...]
    ) -> int | None:
        """Follower side of AppendEntries (§5.3): returns the last new index,
        or None when our log does not contain (index, log_term)."""
        if not self.match_term(index, log_term):
            return None
        lastnewi = index + len(ents)
        ci = self.find_conflict(ents)
        if ci:
            if ci <= self.committed:
                raise AssertionError(
                    f"entry {ci} conflict with committed entry [committed({self.committed})]"
                )
            self.append(list(ents[ci - (index + 1) :]))
        self.commit_to(min(committed, lastnewi))
        return lastnewi

    def append(self, ents: list[Entry]) -> int:
        if not ents:
            return self.last_index()
        after = ents[0].index - 1
        if after < self.committed:
            raise AssertionError(f"after({after}) is out of range [committed({self.committed})]")
        self.unstable.truncate_and_append(ents)
        return self.last_index()

    def find_conflict(self, ents: tuple[Entry, ...] | list[Entry]) -> int:
        """The first index whose term differs from ours (or is new); 0 if none."""
        for e in ents:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest (i, t) with i <= index and t <= term in our log.

        Both sides use it to skip a whole divergent term per round trip
        (the "fast backup" of §5.3's closing paragraph).
        """
        while index > 0:
            try:
                our = self.term(index)
            except RaftError:
                return index, 0
            if our <= term:
                return index, our
            index -= 1
        return 0, 0

    # -- what the next Ready carries ------------------------------------------

    def next_unstable_ents(self) -> list[Entry]:
        return self.unstable.next_entries()

    def has_next_unstable_ents(self) -> bool:
        return bool(self.unstable.next_entries())

    def next_unstable_snapshot(self) -> Snapshot | None:
        return self.unstable.next_snapshot()

    def has_next_or_in_progress_snapshot(self) -> bool:
        return self.unstable.snapshot is not None

    def _max_appliable_index(self, allow_unstable: bool) -> int:
        hi = self.committed
        if not allow_unstable:
            hi = min(hi, self.unstable.offset - 1)
        return hi

    def next_committed_ents(self, allow_unstable: bool) -> list[Entry]:
        """Committed entries not yet handed out for applying (§5.3 "apply")."""
        if self.has_next_or_in_progress_snapshot():
            return []  # the snapshot must be applied first
        lo, hi = self.applying + 1, self._max_appliable_index(allow_unstable) + 1
        if lo >= hi:
            return []
        return self.slice(lo, hi, self.max_applying_ents_size)

    def has_next_committed_ents(self, allow_unstable: bool) -> bool:
        if self.has_next_or_in_progress_snapshot():
            return False
        return self.applying + 1 <= self._max_appliable_index(allow_unstable)

    # -- cursors ---------------------------------------------------------------

    def first_index(self) -> int:
        i = self.unstable.maybe_first_index()
        return i if i is not None else self.storage.first_index()

    def last_index(self) -> int:
        i = self.unstable.maybe_last_index()
        return i if i is not None else self.storage.last_index()

    def commit_to(self, tocommit: int) -> None:
        # Never decrease the commit index (a stale heartbeat may carry less).
        if self.committed < tocommit:
            if self.last_index() < tocommit:
                raise AssertionError(
                    f"tocommit({tocommit}) is out of range [lastIndex({self.last_index()})]"
                )
            self.committed = tocommit

    def applied_to(self, i: int) -> None:
        if i == 0:
            return
        if self.committed < i or i < self.applied:
            raise AssertionError(
                f"applied({i}) is out of range [prevApplied({self.applied}), committed({self.committed})]"
            )
        self.applied = i
        self.applying = max(self.applying, i)

    def accept_applying(self, i: int) -> None:
        self.applying = i

    def stable_to(self, index: int, term: int) -> None:
        self.unstable.stable_to(index, term)

    def stable_snap_to(self, i: int) -> None:
        self.unstable.stable_snap_to(i)

    def accept_unstable(self) -> None:
        self.unstable.accept_in_progress()

    def last_term(self) -> int:
        return self.term(self.last_index())

    def term(self, i: int) -> int:
        """The term of entry i; valid for [first_index()-1, last_index()]."""
        t = self.unstable.maybe_term(i)
        if t is not None:
            return t
        if i + 1 < self.first_index():
            raise ErrCompacted()
        if i > self.last_index():
            raise ErrUnavailable()
        return self.storage.term(i)

    def zero_term_on_err(self, i: int) -> int:
        try:
            return self.term(i)
        except RaftError:
            return 0

    def entries(self, i: int, max_size: int = NO_LIMIT) -> list[Entry]:
        if i > self.last_index():
            return []
        return self.slice(i, self.last_index() + 1, max_size)

    def all_entries(self) -> list[Entry]:
        try:
            return self.entries(self.first_index())
        except ErrCompacted:  # racing a compaction: retry
            return self.all_entries()

    def is_up_to_date(self, lasti: int, term: int) -> bool:
        """§5.4.1: a candidate's log is at least as up-to-date as ours."""
        last_term = self.last_term()
        return term > last_term or (term == last_term and lasti >= self.last_index())

    def match_term(self, i: int, term: int) -> bool:
        try:
            return self.term(i) == term
        except RaftError:
            return False

    def maybe_commit(self, max_index: int, term: int) -> bool:
        """Commit max_index only if its entry is from `term` (Figure 8, §5.4.2)."""
        if max_index > self.committed and self.zero_term_on_err(max_index) == term:
            self.commit_to(max_index)
            return True
        return False

    def restore(self, s: Snapshot) -> None:
        self.committed = s.metadata.index
        self.unstable.restore(s)

    def snapshot(self) -> Snapshot:
        if self.unstable.snapshot is not None:
            return self.unstable.snapshot
        return self.storage.snapshot()

    def slice(self, lo: int, hi: int, max_size: int = NO_LIMIT) -> list[Entry]:
        """Entries [lo, hi) from storage and the unstable tail, size-limited."""
        self._must_check_out_of_bounds(lo, hi)
        if lo == hi:
            return []
        offset = self.unstable.offset
        if lo >= offset:
            return limit_size(self.unstable.slice(lo, hi), max_size)
        cut = min(hi, offset)
        try:
            ents = self.storage.entries(lo, cut, max_size)
        except ErrUnavailable as e:
            raise AssertionError(f"entries[{lo}:{cut}) is unavailable from storage") from e
        if len(ents) < cut - lo or hi <= offset:
            return list(ents)
        return limit_size(list(ents) + self.unstable.slice(offset, hi), max_size)

    def _must_check_out_of_bounds(self, lo: int, hi: int) -> None:
        if lo > hi:
            raise AssertionError(f"invalid slice {lo} > {hi}")
        fi = self.first_index()
        if lo < fi:
            raise ErrCompacted()
        if hi > self.last_index() + 1:
            raise AssertionError(f"slice[{lo},{hi}) out of bound [{fi},{self.last_index()}]")
