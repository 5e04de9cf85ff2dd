"""What the leader knows about one follower's log: match, next, and a state.

Mirrors etcd-io/raft tracker/progress.go (Progress). This is Figure 2's
nextIndex[]/matchIndex[] plus etcd's flow control:
- PROBE: we do not know where the follower's log ends; send one append per
  heartbeat interval and wait for the answer (§5.3 "decrement nextIndex").
- REPLICATE: the follower is in sync; stream appends optimistically, bounded
  by the Inflights window.
- SNAPSHOT: the entries it needs were compacted; wait for the snapshot.
Invariant: match < next.
"""

from __future__ import annotations

from miniraft.raft.tracker.inflights import Inflights
from miniraft.raft.tracker.state import ProgressStateType


class Progress:
    def __init__(
        self,
        match: int = 0,
        next: int = 1,
        inflights: Inflights | None = None,
        is_learner: bool = False,
    ) -> None:
        self.match = match
        self.next = next
        self.sent_commit = 0
        self.state = ProgressStateType.PROBE
        self.pending_snapshot = 0
        # Set by any message from the follower; CheckQuorum reads and clears it.
        self.recent_active = False
        self.msg_app_flow_paused = False
        self.inflights = inflights if inflights is not None else Inflights(256)
        self.is_learner = is_learner

    def reset_state(self, state: ProgressStateType) -> None:
        self.msg_app_flow_paused = False
        self.pending_snapshot = 0
        self.state = state
        self.inflights.reset()

    def become_probe(self) -> None:
        if self.state == ProgressStateType.SNAPSHOT:
            # Resume after the snapshot if it was applied, else after match.
            pending = self.pending_snapshot
            self.reset_state(ProgressStateType.PROBE)
            self.next = max(self.match + 1, pending + 1)
        else:
            self.reset_state(ProgressStateType.PROBE)
            self.next = self.match + 1
        self.sent_commit = min(self.sent_commit, self.next - 1)

    def become_replicate(self) -> None:
        self.reset_state(ProgressStateType.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, snapshoti: int) -> None:
        self.reset_state(ProgressStateType.SNAPSHOT)
        self.pending_snapshot = snapshoti
        self.next = snapshoti + 1
        self.sent_commit = snapshoti

    def sent_entries(self, entries: int, nbytes: int) -> None:
        """Account for a MsgApp carrying `entries` entries just sent."""
        if self.state == ProgressStateType.REPLICATE:
            if entries > 0:
                self.next += entries
                self.inflights.add(self.next - 1, nbytes)
            self.msg_app_flow_paused = self.inflights.full()
        elif self.state == ProgressStateType.PROBE:
            if entries > 0:
                self.msg_app_flow_paused = True  # one probe per round trip
        else:
            raise AssertionError(f"sending append in unhandled state {self.state}")

    def can_bump_commit(self, index: int) -> bool:
        return index > self.sent_commit and self.sent_commit < self.next - 1

    def maybe_update(self, n: int) -> bool:
        """An ack up to n; False if it was stale (n <= match)."""
        if n <= self.match:
            return False
        self.match = n
        self.next = max(self.next, n + 1)
        self.msg_app_flow_paused = False
        return True

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """A rejection of the append at index `rejected`; False if stale."""
        if self.state == ProgressStateType.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            self.sent_commit = min(self.sent_commit, self.next - 1)
            return True
        if self.next - 1 != rejected:
            return False  # not the probe we are waiting for
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.sent_commit = min(self.sent_commit, self.next - 1)
        self.msg_app_flow_paused = False
        return True

    def is_paused(self) -> bool:
        if self.state == ProgressStateType.SNAPSHOT:
            return True
        return self.msg_app_flow_paused

    def __str__(self) -> str:
        out = f"{self.state} match={self.match} next={self.next}"
        if self.is_learner:
            out += " learner"
        if self.is_paused():
            out += " paused"
        if self.pending_snapshot > 0:
            out += f" pendingSnap={self.pending_snapshot}"
        if not self.recent_active:
            out += " inactive"
        if n := self.inflights.count():
            out += f" inflight={n}" + ("[full]" if self.inflights.full() else "")
        return out
