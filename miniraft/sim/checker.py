"""Raft's safety properties (Figure 3 of the paper), checked after every step.

Each node's persisted log is mirrored as a hash chain, h[i] = H(h[i-1], term,
data), so two logs agree up to i exactly when their h[i] agree. Checks:
- Election Safety: at most one leader per term.
- Leader Append-Only: a leader never truncates its own log in its term.
- Log Matching: two logs holding the same (index, term) hold the same prefix.
- Leader Completeness: a new leader's log holds every committed entry.
- State Machine Safety: no two nodes apply different entries at one index;
  a node's commit index always lands on the globally committed prefix.
- Linearizable reads: a ReadIndex answer is at least the index of every write
  acknowledged before the read was issued (the thesis §6.4 requirement).
Every check is O(entries changed), which is what lets 200 seeds run in CI.
"""

from __future__ import annotations

from miniraft.raft import Entry, HardState, Ready, Snapshot, StateType


class SafetyChecker:
    def __init__(self, bootstrapped: list[int], bootstrap_index: int = 1) -> None:
        self.violations: list[str] = []
        self.leaders: dict[int, int] = {}  # term -> leader id
        self.chains: dict[int, list[int]] = {}  # node -> hash chain, index 0 = 0
        self.committed: list[int] = [0]  # the global committed hash chain
        self.applied: dict[int, tuple[int, bytes]] = {}  # index -> (term, data)
        self.role: dict[int, tuple[StateType, int]] = {}
        self.pair_hash: dict[tuple[int, int], int] = {}  # (index, term) -> h
        self.reads_checked = 0
        # The bootstrap snapshot is committed by construction on every member.
        for i in range(1, bootstrap_index + 1):
            self.committed.append(hash((self.committed[-1], "bootstrap", i)))
        for nid in bootstrapped:
            self.chains[nid] = list(self.committed)

    def fail(self, now: int, what: str) -> None:
        if len(self.violations) < 20:  # the first few are the interesting ones
            self.violations.append(f"tick {now}: {what}")

    # -- log mirror ----------------------------------------------------------

    def _append(self, now: int, nid: int, ents: tuple[Entry, ...]) -> None:
        chain = self.chains.setdefault(nid, [0])
        first = ents[0].index
        if first > len(chain):
            self.fail(now, f"node {nid} appended at {first} past its last index {len(chain) - 1}")
            return
        role, term = self.role.get(nid, (StateType.FOLLOWER, 0))
        if role == StateType.LEADER and first < len(chain):
            self.fail(now, f"Leader Append-Only: leader {nid} of term {term} truncated at {first}")
        del chain[first:]
        for e in ents:
            h = hash((chain[-1], e.term, e.data))
            chain.append(h)
            seen = self.pair_hash.setdefault((e.index, e.term), h)
            if seen != h:
                self.fail(
                    now, f"Log Matching: node {nid} entry {e.index}/{e.term} has another prefix"
                )

    def _restore(self, now: int, nid: int, snap: Snapshot) -> None:
        i = snap.metadata.index
        if i >= len(self.committed):
            self.fail(now, f"node {nid} installed snapshot {i} beyond the committed prefix")
            return
        self.chains[nid] = self.committed[: i + 1]

    def _commit(self, now: int, nid: int, commit: int) -> None:
        chain = self.chains.get(nid, [0])
        if commit >= len(chain):
            self.fail(now, f"node {nid} committed {commit} beyond its log ({len(chain) - 1})")
            return
        g = self.committed
        if commit < len(g):
            if chain[commit] != g[commit]:
                self.fail(
                    now, f"State Machine Safety: node {nid} committed a different entry {commit}"
                )
            return
        if chain[len(g) - 1] != g[-1]:
            self.fail(
                now, f"State Machine Safety: node {nid} commit {commit} forks committed prefix"
            )
            return
        g.extend(chain[len(g) : commit + 1])

    # -- hooks called by the cluster -------------------------------------------

    def on_ready(self, now: int, nid: int, rd: Ready) -> None:
        if rd.soft_state is not None:
            self.role[nid] = (rd.soft_state.raft_state, rd.hard_state.term or self._term(nid))
        if not rd.snapshot.is_empty():
            self._restore(now, nid, rd.snapshot)
        if rd.entries:
            self._append(now, nid, rd.entries)
        if rd.hard_state != HardState():
            role = self.role.get(nid, (StateType.FOLLOWER, 0))[0]
            self.role[nid] = (role, rd.hard_state.term)
            self._commit(now, nid, rd.hard_state.commit)
        if rd.soft_state is not None and rd.soft_state.raft_state == StateType.LEADER:
            self._new_leader(now, nid)

    def _term(self, nid: int) -> int:
        return self.role.get(nid, (StateType.FOLLOWER, 0))[1]

    def _new_leader(self, now: int, nid: int) -> None:
        term = self._term(nid)
        prev = self.leaders.setdefault(term, nid)
        if prev != nid:
            self.fail(now, f"Election Safety: nodes {prev} and {nid} both lead term {term}")
        chain, g = self.chains.get(nid, [0]), self.committed
        if len(chain) < len(g) or chain[len(g) - 1] != g[-1]:
            self.fail(
                now,
                f"Leader Completeness: leader {nid} of term {term} lacks committed entry {len(g) - 1}",
            )

    def on_crash(self, nid: int) -> None:
        # A restarted node is a follower; its persisted log (the chain) survives.
        self.role[nid] = (StateType.FOLLOWER, self._term(nid))

    def on_apply(self, now: int, nid: int, e: Entry) -> None:
        prev = self.applied.setdefault(e.index, (e.term, e.data))
        if prev != (e.term, e.data):
            self.fail(
                now,
                f"State Machine Safety: node {nid} applied {e.term}/{e.index} {e.data!r}, "
                f"another node applied {prev[0]}/{e.index} {prev[1]!r}",
            )

    def on_read(self, now: int, nid: int, read_index: int, acked_at_issue: int) -> None:
        self.reads_checked += 1
        if read_index < acked_at_issue:
            self.fail(
                now,
                f"Linearizability: node {nid} served a read at index {read_index}, "
                f"but index {acked_at_issue} was acknowledged before the read began",
            )
