"""One simulated server: a RawNode, its 'disk', and a key-value state machine.

Plays the role of etcd-io/raft rafttest/node.go and of the driver loop in
rawnode.go's doc: persist the Ready (snapshot, entries, hard state) to a
MemoryStorage that survives crashes, send its messages, apply committed
entries to a dict, then advance(). A crash throws away the RawNode and the
dict, i.e. everything not persisted; restart rebuilds both from storage
(state machine from the snapshot, then committed entries are re-applied).
Compaction: every `snapshot_every` applied entries the node snapshots its
dict and compacts its log, so lagging peers need MsgSnap.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from miniraft.raft import (
    Config,
    ConfState,
    Entry,
    EntryType,
    HardState,
    MemoryStorage,
    Message,
    RaftError,
    RawNode,
    ReadState,
    Ready,
    Snapshot,
    SnapshotMetadata,
    conf_change_from_entry,
)
from miniraft.raft.storage import ErrCompacted, ErrSnapOutOfDate


def encode_put(key: str, value: str) -> bytes:
    return f"put {key} {value}".encode()


class SimNode:
    def __init__(
        self,
        node_id: int,
        storage: MemoryStorage,
        rng: random.Random,
        pre_vote: bool = True,
        check_quorum: bool = True,
        election_tick: int = 10,
        heartbeat_tick: int = 2,
        snapshot_every: int = 40,
        logger: Callable[[str], None] | None = None,
    ) -> None:
        self.id = node_id
        self.storage = storage
        self.rng = rng
        self.opts = dict(
            pre_vote=pre_vote,
            check_quorum=check_quorum,
            election_tick=election_tick,
            heartbeat_tick=heartbeat_tick,
        )
        self.snapshot_every = snapshot_every
        self.logger = logger
        self.alive = False
        self.rn: RawNode | None = None
        self.kv: dict[str, str] = {}
        self.applied = 0
        self.conf_state = ConfState()
        self.read_states: list[ReadState] = []
        self.start()

    def start(self) -> None:
        """Boot (or reboot) from whatever the storage holds."""
        snap = self.storage.snapshot()
        self.kv = json.loads(snap.data) if snap.data else {}
        self.applied = snap.metadata.index
        self.conf_state = snap.metadata.conf_state
        cfg = Config(
            id=self.id,
            storage=self.storage,
            # One entry per MsgApp (limit_size never returns an empty batch)
            # and a window of 4: followers catch up in many steps, and a new
            # leader's old-term entries travel apart from its own empty entry,
            # the window Figure 8 needs (see docs/miniraft.md, "Simulation").
            max_size_per_msg=1,
            max_inflight_msgs=4,
            rand=random.Random(self.rng.random()),
            step_down_on_removal=True,
            logger=self.logger,
            **self.opts,
        )
        self.rn = RawNode(cfg)
        self.alive = True
        self.read_states = []

    def crash(self) -> None:
        self.rn = None
        self.alive = False
        self.kv = {}
        self.read_states = []

    def persist(self, rd: Ready) -> None:
        """The 'fsync' half of the Ready contract: durable before sending."""
        if not rd.snapshot.is_empty():
            try:
                self.storage.apply_snapshot(rd.snapshot)
            except ErrSnapOutOfDate:
                pass
        if rd.entries:
            self.storage.append(rd.entries)
        if rd.hard_state != HardState():
            self.storage.set_hard_state(rd.hard_state)

    def apply(self, rd: Ready, on_apply: Callable[[int, Entry], None]) -> None:
        if not rd.snapshot.is_empty():
            s = rd.snapshot
            self.kv = json.loads(s.data) if s.data else {}
            self.applied = s.metadata.index
            self.conf_state = s.metadata.conf_state
        for e in rd.committed_entries:
            if e.type != EntryType.NORMAL:
                cc = conf_change_from_entry(e)
                assert self.rn is not None and cc is not None
                self.conf_state = self.rn.apply_conf_change(cc)
            elif e.data.startswith(b"put "):
                _, key, value = e.data.decode().split(" ", 2)
                self.kv[key] = value
            self.applied = e.index
            on_apply(self.id, e)
        self.read_states.extend(rd.read_states)

    def maybe_compact(self) -> None:
        """Snapshot the dict and drop old log entries (§7)."""
        if self.applied - self.storage.first_index() < self.snapshot_every:
            return
        data = json.dumps(self.kv, sort_keys=True).encode()
        try:
            self.storage.create_snapshot(self.applied, self.conf_state, data)
            self.storage.compact(self.applied - self.snapshot_every // 4)
        except (ErrSnapOutOfDate, ErrCompacted):
            pass

    def step(self, m: Message) -> None:
        if self.rn is not None:
            try:
                self.rn.step(m)
            except RaftError:
                pass  # e.g. a response from a peer that was removed

    def merged_snapshot(self) -> Snapshot:
        """A snapshot of the state applied right now, with its membership.

        etcd's server does the same when it sends MsgSnap
        (etcdserver createMergedSnapshotMessage): the stored snapshot may
        predate the follower's own membership, and raft ignores a snapshot
        whose ConfState does not include the receiver.
        """
        assert self.rn is not None
        term = self.rn.raft.raft_log.term(self.applied)
        meta = SnapshotMetadata(conf_state=self.conf_state, index=self.applied, term=term)
        return Snapshot(data=json.dumps(self.kv, sort_keys=True).encode(), metadata=meta)
