"""A scriptable in-memory cluster for transcript tests and paper tests.

Mirrors etcd-io/raft rafttest/interaction_env*.go (InteractionEnv and its
handlers: add-nodes, campaign, propose, propose-conf-change, process-ready,
deliver-msgs, stabilize, tick-heartbeat, tick-election, raft-log, raft-state,
status, compact, transfer-leadership, report-unreachable). Nothing moves
unless a command says so: messages wait in `messages` until delivered, so a
test controls every interleaving. Output mimics upstream's so transcripts
can be read side by side with etcd-io/raft's testdata/*.txt.
Omitted: async storage writes (append/apply threads), forget-leader, log
level filtering beyond on/off.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from miniraft.raft import (
    ConfChangeV2,
    Config,
    ConfState,
    Entry,
    EntryType,
    HardState,
    MemoryStorage,
    Message,
    RaftError,
    RawNode,
    Snapshot,
    SnapshotMetadata,
    conf_change_from_entry,
    describe_entry,
    describe_message,
    describe_ready,
)
from miniraft.raft.raftpb import ConfChangeTransition, conf_changes_from_string


@dataclass
class EnvNode:
    rn: RawNode
    storage: MemoryStorage
    config: Config


class InteractionEnv:
    def __init__(self) -> None:
        self.nodes: list[EnvNode] = []
        self.messages: list[Message] = []
        self.output: list[str] = []
        self.log_enabled = True
        self.indent = ""

    # -- output ----------------------------------------------------------------

    def write(self, text: str) -> None:
        for line in text.rstrip("\n").split("\n"):
            self.output.append(self.indent + line)

    def take_output(self) -> str:
        out, self.output = "\n".join(self.output), []
        return out if out else "ok"

    def _logger(self, line: str) -> None:
        if self.log_enabled:
            self.write("INFO " + line)

    # -- commands ----------------------------------------------------------------

    def add_nodes(
        self,
        n: int,
        voters: tuple[int, ...] = (),
        learners: tuple[int, ...] = (),
        index: int = 0,
        pre_vote: bool = False,
        check_quorum: bool = False,
        election_tick: int = 10,
        heartbeat_tick: int = 1,
        max_size_per_msg: int = 1 << 20,
    ) -> None:
        for _ in range(n):
            node_id = len(self.nodes) + 1
            s = MemoryStorage()
            if index > 0:
                cs = ConfState(voters=voters, learners=learners)
                s.apply_snapshot(Snapshot(metadata=SnapshotMetadata(cs, index=index, term=1)))
            cfg = Config(
                id=node_id,
                election_tick=election_tick,
                heartbeat_tick=heartbeat_tick,
                storage=s,
                pre_vote=pre_vote,
                check_quorum=check_quorum,
                max_size_per_msg=max_size_per_msg,
                max_inflight_msgs=256,
                rand=random.Random(node_id),
                logger=self._logger,
            )
            self.nodes.append(EnvNode(RawNode(cfg), s, cfg))

    def node(self, node_id: int) -> EnvNode:
        return self.nodes[node_id - 1]

    def campaign(self, node_id: int) -> None:
        self.node(node_id).rn.campaign()

    def propose(self, node_id: int, data: bytes) -> None:
        try:
            self.node(node_id).rn.propose(data)
        except RaftError as e:
            self.write(str(e))

    def propose_conf_change(
        self, node_id: int, changes: str, transition: ConfChangeTransition | None = None
    ) -> None:
        cc = ConfChangeV2(
            transition=transition or ConfChangeTransition.AUTO,
            changes=conf_changes_from_string(changes),
        )
        try:
            self.node(node_id).rn.propose_conf_change(cc)
        except RaftError as e:
            self.write(str(e))

    def tick(self, node_id: int, n: int) -> None:
        for _ in range(n):
            self.node(node_id).rn.tick()

    def tick_election(self, node_id: int) -> None:
        self.tick(node_id, self.node(node_id).config.election_tick)

    def tick_heartbeat(self, node_id: int) -> None:
        self.tick(node_id, self.node(node_id).config.heartbeat_tick)

    def process_ready(self, node_id: int) -> None:
        """Persist, queue messages, apply, advance: the driver loop, once."""
        n = self.node(node_id)
        rd = n.rn.ready()
        self.write(describe_ready(rd))
        if not rd.snapshot.is_empty():
            n.storage.apply_snapshot(rd.snapshot)
        n.storage.append(rd.entries)
        if rd.hard_state != HardState():
            n.storage.set_hard_state(rd.hard_state)
        for e in rd.committed_entries:
            self._apply(n, e)
        self.messages.extend(rd.messages)
        n.rn.advance(rd)

    def _apply(self, n: EnvNode, e: Entry) -> None:
        if e.type == EntryType.NORMAL:
            return
        cc = conf_change_from_entry(e)
        assert cc is not None
        n.rn.apply_conf_change(cc)

    def deliver_msgs(self, node_ids: list[int], drop: bool = False) -> int:
        """Deliver (or drop) every queued message addressed to node_ids, in order."""
        delivered = 0
        for nid in node_ids:
            keep = []
            for m in self.messages:
                if m.to != nid:
                    keep.append(m)
                    continue
                delivered += 1
                self.write(("dropped: " if drop else "") + describe_message(m))
                if not drop:
                    try:
                        self.node(nid).rn.step(m)
                    except RaftError as e:
                        self.write(str(e))
            self.messages = keep
        return delivered

    def stabilize(self, node_ids: list[int] | None = None) -> None:
        ids = node_ids or [i + 1 for i in range(len(self.nodes))]
        while True:
            done = True
            for nid in ids:
                if self.node(nid).rn.has_ready():
                    done = False
                    self.write(f"> {nid} handling Ready")
                    self._indented(lambda nid=nid: self.process_ready(nid))
            for nid in ids:
                if any(m.to == nid for m in self.messages):
                    done = False
                    self.write(f"> {nid} receiving messages")
                    self._indented(lambda nid=nid: self.deliver_msgs([nid]))
            if done:
                return

    def _indented(self, f) -> None:
        self.indent = "  "
        try:
            f()
        finally:
            self.indent = ""

    def raft_log(self, node_id: int) -> None:
        s = self.node(node_id).storage
        ents = s.ents[1:]
        if not ents:
            self.write(f"log is empty: first index={s.first_index()}, last index={s.last_index()}")
        for e in ents:
            self.write(describe_entry(e))

    def raft_state(self) -> None:
        for n in self.nodes:
            st = n.rn.status()
            voter = "(Voter)" if n.rn.raft.id in st.config.voters.ids() else "(Non-Voter)"
            self.write(
                f"{st.id}: {str(st.raft_state)[5:]} {voter} Term:{st.hard_state.term} Lead:{st.lead}"
            )

    def status(self, node_id: int) -> None:
        st = self.node(node_id).rn.status()
        for i in sorted(st.progress):
            self.write(f"{i}: {st.progress[i]}")

    def compact(self, node_id: int, index: int) -> None:
        n = self.node(node_id)
        cs = n.rn.raft.trk.conf_state()
        n.storage.create_snapshot(index, cs, b"")
        n.storage.compact(index)
        self.raft_log(node_id)

    def transfer_leadership(self, frm: int, to: int) -> None:
        self.node(frm).rn.transfer_leadership(to)

    def report_unreachable(self, frm: int, to: int) -> None:
        self.node(frm).rn.report_unreachable(to)
