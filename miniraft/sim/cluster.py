"""A deterministic simulated Raft cluster: nodes, network, clients, checker.

Plays the role of etcd-io/raft's test `network` plus rafttest's
InteractionEnv, but driven by one seed: every random choice (election
timeouts, delays, drops, faults, client operations) comes from `rng`, and
nodes, messages and clients are visited in a fixed order, so a seed replays
exactly. One tick: inject faults, tick every live node, deliver the messages
that are due, let clients act; after every step that can produce a Ready,
the Ready is persisted, sent, applied and advanced, and the SafetyChecker
looks at it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from miniraft.raft import (
    ConfChange,
    ConfChangeV2,
    ConfState,
    Entry,
    MemoryStorage,
    Message,
    MessageType,
    RaftError,
    Ready,
    Snapshot,
    SnapshotMetadata,
    SnapshotStatus,
    StateType,
    describe_entry,
)
from miniraft.sim.checker import SafetyChecker
from miniraft.sim.clients import Client, PendingRead, PendingWrite
from miniraft.sim.network import NetworkFaults, SimNetwork
from miniraft.sim.node import SimNode

Tracer = Callable[[str], None]


def bootstrap_storage(voters: list[int]) -> MemoryStorage:
    """Every initial member starts from the same snapshot at index 1 (etcd's
    bootstrap does the same with ConfChange entries at term 1)."""
    s = MemoryStorage()
    meta = SnapshotMetadata(conf_state=ConfState(voters=tuple(voters)), index=1, term=1)
    s.apply_snapshot(Snapshot(metadata=meta))
    return s


class Cluster:
    def __init__(
        self,
        n: int,
        seed: int,
        net_faults: NetworkFaults | None = None,
        clients: int = 3,
        election_tick: int = 10,
        pre_vote: bool = True,
        check_quorum: bool = True,
        tracer: Tracer | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.now = 0
        self.tracer = tracer
        self.election_tick = election_tick
        self.net = SimNetwork(random.Random(self.rng.random()), net_faults or NetworkFaults())
        self.node_opts = dict(
            pre_vote=pre_vote, check_quorum=check_quorum, election_tick=election_tick
        )
        ids = list(range(1, n + 1))
        self.checker = SafetyChecker(ids)
        self.nodes: dict[int, SimNode] = {}
        for i in ids:
            self.nodes[i] = self._new_node(i, bootstrap_storage(ids))
        self.clients = [Client(c) for c in range(1, clients + 1)]
        self.client_rate = 0.3
        self.acked_index = 0  # highest index of an acknowledged write
        self.write_index: dict[bytes, int] = {}
        self.read_log: list[tuple[int, int, bytes]] = []  # (node, index, ctx) answered
        # Moments a reactive fault (nemesis) may strike:
        # ("leader" | "first commit" | "commit", node).
        self.events: list[tuple[str, int]] = []
        self.first_commit_term: dict[int, int] = {}  # node -> term it last committed in
        self.mid_ready_crash = 0.0  # probability a Ready is interrupted by a crash

    def _new_node(self, i: int, storage: MemoryStorage) -> SimNode:
        logger = None
        if self.tracer is not None:
            tracer = self.tracer

            def logger(line: str, i: int = i) -> None:
                tracer(f"t={self.now:<6} {self._who(i)} {line}")

        return SimNode(
            i, storage, random.Random(self.rng.random()), logger=logger, **self.node_opts
        )

    def _who(self, nid: int) -> str:
        """`n2 Leader       T1`: node, role and term, for every trace line."""
        node = self.nodes.get(nid)
        rn = node.rn if node is not None else None
        if rn is None or not hasattr(rn, "raft"):
            return f"n{nid} {'-':<13} T-"
        r = rn.raft
        return f"n{nid} {str(r.state)[5:]:<13} T{r.term}"

    def trace(self, line: str) -> None:
        if self.tracer is not None:
            self.tracer(f"t={self.now:<6} {line}")

    # -- the Ready loop --------------------------------------------------------

    def process_ready(self, node: SimNode) -> None:
        rn = node.rn
        while rn is not None and node.alive and rn.has_ready():
            rd = rn.ready()
            if self.mid_ready_crash and self.rng.random() < self.mid_ready_crash:
                self._crash_mid_ready(node, rd)
                return
            self.checker.on_ready(self.now, node.id, rd)
            if rd.soft_state is not None:
                self._trace_role(node, rd.soft_state.raft_state)
                if rd.soft_state.raft_state == StateType.LEADER:
                    self.events.append(("leader", node.id))
            if rd.committed_entries and rn.raft.state == StateType.LEADER:
                first = self.first_commit_term.get(node.id) != rn.raft.term
                self.first_commit_term[node.id] = rn.raft.term
                self.events.append(("first commit" if first else "commit", node.id))
            node.persist(rd)  # durable before any message leaves (Figure 2)
            for m in rd.messages:
                self.send(m)
            if self.tracer is not None and rd.committed_entries:
                ents = ", ".join(describe_entry(e) for e in rd.committed_entries)
                self.trace(f"{self._who(node.id)} apply [{ents}]")
            node.apply(rd, self._on_apply)
            rn.advance(rd)
            node.maybe_compact()
            self._serve_reads(node)

    def _crash_mid_ready(self, node: SimNode, rd: Ready) -> None:
        """Power loss while handling a Ready: either nothing of it reached the
        disk, or it did but none of its messages left the machine."""
        if self.rng.random() < 0.5:
            self.checker.on_ready(self.now, node.id, rd)
            node.persist(rd)
            self.trace(f"n{node.id} CRASH after persisting a Ready, before sending it")
        else:
            self.trace(f"n{node.id} CRASH before persisting a Ready")
        node.crash()
        self.checker.on_crash(node.id)

    def _trace_role(self, node: SimNode, state: StateType) -> None:
        if self.tracer is not None:
            self.trace(f"{self._who(node.id)} Ready: SoftState {state}")

    def send(self, m: Message) -> None:
        if m.type == MessageType.MSG_SNAP:
            m = replace(m, snapshot=self.nodes[m.frm].merged_snapshot())
        if self.tracer is not None:
            self.trace(f"{self._who(m.frm)} send {m.describe().splitlines()[0]}")
        ok = self.net.send(m, self.now)
        if not ok and m.type == MessageType.MSG_SNAP:
            self._report_snapshot(m, SnapshotStatus.FAILURE)

    def _report_snapshot(self, m: Message, status: SnapshotStatus) -> None:
        # The transport tells the leader whether a snapshot got through (etcd's
        # rafthttp does the same), or it would wait in StateSnapshot forever.
        sender = self.nodes.get(m.frm)
        if sender is not None and sender.rn is not None:
            sender.rn.report_snapshot(m.to, status)
            self.process_ready(sender)

    def deliver(self, m: Message) -> None:
        node = self.nodes.get(m.to)
        if node is None or not node.alive or self.net.cut(m):
            if m.type == MessageType.MSG_SNAP:
                self._report_snapshot(m, SnapshotStatus.FAILURE)
            return
        node.step(m)
        self.process_ready(node)
        if m.type == MessageType.MSG_SNAP:
            self._report_snapshot(m, SnapshotStatus.FINISH)

    def _on_apply(self, nid: int, e: Entry) -> None:
        self.checker.on_apply(self.now, nid, e)
        if e.data and e.data not in self.write_index:
            self.write_index[e.data] = e.index
        for c in self.clients:
            if c.write is not None and c.write.data == e.data:
                self.acked_index = max(self.acked_index, e.index)
                c.write = None

    def _serve_reads(self, node: SimNode) -> None:
        for rs in node.read_states:
            self.read_log.append((node.id, rs.index, rs.request_ctx))
            for c in self.clients:
                r = c.read
                if r is not None and r.ctx == rs.request_ctx and r.node == node.id:
                    r.read_index = rs.index
        node.read_states = []
        for c in self.clients:
            r = c.read
            ready = r is not None and r.node == node.id and r.read_index is not None
            if ready and node.applied >= r.read_index:
                self.checker.on_read(self.now, node.id, r.read_index, r.acked_at_issue)
                self.trace(
                    f"{self._who(node.id)} read {r.ctx.decode()!r} served at index {r.read_index}"
                )
                c.read = None

    # -- time ------------------------------------------------------------------

    def tick(self) -> None:
        self.now += 1
        for i in sorted(self.nodes):
            node = self.nodes[i]
            if node.alive and node.rn is not None:
                node.rn.tick()
                self.process_ready(node)
        for m in self.net.due(self.now):
            self.deliver(m)
        self.clients_act()

    def run_until(self, pred: Callable[[], bool], limit: int) -> bool:
        """Tick until pred() holds (True) or `limit` ticks passed (False)."""
        for _ in range(limit):
            if pred():
                return True
            self.tick()
        return pred()

    def alive_ids(self) -> list[int]:
        return [i for i in sorted(self.nodes) if self.nodes[i].alive]

    def clients_act(self, retry: int = 30, read_timeout: int = 60) -> None:
        for c in self.clients:
            if c.write is not None and self.now - c.write.last_try >= retry:
                self._propose(c.write)
            elif c.read is not None and self.now - c.read.issued >= read_timeout:
                c.read = None  # a read may fail; it just may not lie
            elif not c.busy() and self.rng.random() < self.client_rate:
                self._new_op(c)

    def _new_op(self, c: Client) -> None:
        alive = self.alive_ids()
        if not alive:
            return
        nid = self.rng.choice(alive)
        if self.rng.random() < 0.7:
            key = f"k{self.rng.randrange(4)}"
            c.write = PendingWrite(c.next_write_data(key), nid, self.now)
            self._propose(c.write, nid)
        else:
            c.read = PendingRead(c.next_read_ctx(), nid, self.now, self.acked_index)
            self.trace(f"client read_index {c.read.ctx.decode()!r} at n{nid}")
            node = self.nodes[nid]
            if node.rn is not None:
                node.rn.read_index(c.read.ctx)
                self.process_ready(node)

    def _propose(self, w: PendingWrite, nid: int | None = None) -> None:
        w.last_try = self.now
        alive = self.alive_ids()
        if not alive:
            return
        w.node = nid if nid is not None else self.rng.choice(alive)
        node = self.nodes[w.node]
        if node.rn is None:
            return
        self.trace(f"client propose {w.data.decode()!r} at n{w.node}")
        try:
            node.rn.propose(w.data)
        except RaftError:
            return  # no leader known: retry later
        self.process_ready(node)

    # -- faults and membership ---------------------------------------------------

    def crash(self, nid: int) -> None:
        self.trace(f"n{nid} CRASH (unpersisted state lost)")
        self.nodes[nid].crash()
        self.checker.on_crash(nid)

    def restart(self, nid: int) -> None:
        self.trace(f"n{nid} RESTART from storage")
        self.nodes[nid].start()
        self.process_ready(self.nodes[nid])

    def add_node(self, nid: int) -> None:
        """A new, empty member; it learns everything from the leader (MsgSnap)."""
        self.nodes[nid] = self._new_node(nid, MemoryStorage())

    def propose(self, via: int, data: bytes) -> bool:
        """A direct proposal (scripted scenarios); False if it was dropped."""
        node = self.nodes[via]
        if node.rn is None:
            return False
        try:
            node.rn.propose(data)
        except RaftError:
            return False
        self.process_ready(node)
        return True

    def propose_conf_change(self, via: int, cc: ConfChange | ConfChangeV2) -> bool:
        node = self.nodes[via]
        if node.rn is None:
            return False
        try:
            node.rn.propose_conf_change(cc)
        except RaftError:
            return False
        self.process_ready(node)
        return True

    def leader(self) -> int | None:
        """The live leader of the highest term, if any."""
        best: tuple[int, int] | None = None
        for i in self.alive_ids():
            r = self.nodes[i].rn.raft  # type: ignore[union-attr]
            if r.state == StateType.LEADER and (best is None or r.term > best[0]):
                best = (r.term, i)
        return best[1] if best else None

    def max_term(self) -> int:
        return max(n.storage.hard_state.term for n in self.nodes.values())
