"""EtcdServer: drives the Raft core — persist, send, apply, advance — and owns the state.

Mirrors etcd server/etcdserver/server.go (EtcdServer.run, applyAll,
applySnapshot, applyEntries, applyConfChange, triggerSnapshot, snapshot) and
raft.go (raftNode.start: the Ready loop). One Ready is handled in etcd's order:
soft state (leader changes promote/demote the lessor), read states, snapshot
files, WAL save + fsync (in a thread, so proposals keep batching meanwhile),
Raft storage, messages out, committed entries applied, advance. Proposals
— ours and those followers forwarded — are queued and stepped as one MsgProp
per loop turn (everything that arrived while the previous Ready was being
written), so one append, one MsgApp per peer and one fsync carry them all.
Omitted: the separate apply goroutine/FIFO scheduler, alarms, downgrade,
the v2 store, corruption checker.
"""

from __future__ import annotations

import asyncio
import time

from miniraft.api.etcdserverpb import raft_internal_pb2 as ipb
from miniraft.raft import (
    NONE,
    ConfChangeType,
    Config,
    ConfState,
    Entry,
    EntryType,
    ErrProposalDropped,
    HardState,
    Message,
    MessageType,
    RaftError,
    RawNode,
    Ready,
    SnapshotStatus,
    StateType,
    unmarshal_conf_change,
)
from miniraft.server.etcdserver import backend_snapshot
from miniraft.server.etcdserver.apply import Applier, ApplyResult
from miniraft.server.etcdserver.bootstrap import Bootstrapped
from miniraft.server.etcdserver.config import ServerConfig
from miniraft.server.etcdserver.errors import ErrGRPCNoLeader
from miniraft.server.etcdserver.idutil import Generator
from miniraft.server.etcdserver.membership import Member, MembershipError, RaftCluster
from miniraft.server.etcdserver.wait import Wait, WaitTime
from miniraft.server.lease.lessor import Lessor
from miniraft.server.logutil import Logger
from miniraft.server.mvcc.watchable_store import WatchableStore
from miniraft.server.rafthttp.transport import Transport
from miniraft.server.wal.wal import WalSnapshot


class EtcdServer:
    def __init__(self, cfg: ServerConfig, boot: Bootstrapped, log: Logger) -> None:
        self.cfg = cfg
        self.log = log
        self.id = boot.member_id
        self.cluster: RaftCluster = boot.cluster
        self.storage = boot.storage
        self.wal = boot.wal
        self.snapshotter = boot.snapshotter
        self.reqid = Generator(self.id, int(time.time() * 1000))
        self.kv = WatchableStore()
        self.lessor = Lessor(cfg.min_lease_ttl, self.kv.write)
        self.kv.le = self.lessor
        self.applier = Applier(self.kv, self.lessor, self.cluster, time.monotonic)
        self.w = Wait()
        self.applied_wait = WaitTime()
        self.applied_index = 0
        self.snapshot_index = 0
        self.conf_state = ConfState()
        self.lead = NONE
        self.term = 0
        self.role = StateType.FOLLOWER
        self.read_states: dict[bytes, int] = {}
        self.read_state_ev = asyncio.Event()
        self.leader_changed = asyncio.Event()
        self.stopped = asyncio.Event()
        self._kick = asyncio.Event()
        self.proposals: list[tuple[int, bytes]] = []  # (request ID, data) for the next MsgProp
        self.forwarded: list[Entry] = []  # entries of MsgProps other members forwarded to us
        self._tasks: list[asyncio.Task] = []
        if boot.snapshot is not None:
            self._restore_state(boot.snapshot.data, boot.snapshot.metadata.index)
            self.conf_state = boot.snapshot.metadata.conf_state
        self.node = RawNode(
            Config(
                id=self.id,
                election_tick=cfg.election_ticks,
                heartbeat_tick=1,
                storage=self.storage,
                applied=self.applied_index,
                max_size_per_msg=1024 * 1024,
                max_inflight_msgs=512,
                check_quorum=True,
                pre_vote=cfg.pre_vote,
                logger=lambda line: self.log.info(line, component="raft"),
            )
        )
        self.transport = Transport(self.id, self, log)

    # -- state -------------------------------------------------------------------------

    def _restore_state(self, data: bytes, index: int) -> None:
        image = backend_snapshot.decode(data)
        self.cluster = backend_snapshot.restore(image, self.kv, self.lessor)
        self.applier.cluster = self.cluster
        self.applied_index = self.snapshot_index = index
        self.kv.consistent_index = index

    def is_leader(self) -> bool:
        return self.role == StateType.LEADER

    def leader_member(self) -> Member | None:
        return self.cluster.members.get(self.lead)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.transport.start(self.cfg.listen_peer_urls)
        for m in self.cluster.members.values():
            if m.id != self.id:
                self.transport.add_peer(m.id, m.peer_urls)
        self._tasks = [
            asyncio.create_task(self._run_raft(), name="raft"),
            asyncio.create_task(self._ticker(), name="ticker"),
        ]
        self.kick()

    async def stop(self) -> None:
        self.stopped.set()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        await self.transport.stop()
        self.wal.close()

    def kick(self) -> None:
        self._kick.set()

    async def _ticker(self) -> None:
        interval = self.cfg.heartbeat_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self.node.tick()
            self.kick()

    # -- raft messages in (called by the transport) ------------------------------------

    def process(self, m) -> None:
        if m.frm in self.cluster.removed:
            return  # etcd rejects messages from removed members
        if m.type == MessageType.MSG_PROP:
            # Proposals a follower forwarded join the next batch, so one append and one
            # MsgApp per peer carry them with ours, instead of one MsgApp per arrival.
            self.forwarded.extend(m.entries)
            self.kick()
            return
        try:
            self.node.step(m)
        except RaftError:
            return
        self.kick()

    def report_unreachable(self, node_id: int) -> None:
        self.node.report_unreachable(node_id)

    def report_snapshot(self, node_id: int, ok: bool) -> None:
        self.node.report_snapshot(node_id, SnapshotStatus.FINISH if ok else SnapshotStatus.FAILURE)
        self.kick()

    # -- proposals ---------------------------------------------------------------------

    def propose(self, rid: int, data: bytes) -> None:
        """Queue a proposal; the Ready loop steps everything queued as one MsgProp."""
        self.proposals.append((rid, data))
        self.kick()

    def _flush_proposals(self) -> None:
        # Everything proposed while the last Ready was being written becomes one MsgProp:
        # one append, one MsgApp per peer and one fsync for all of them (raft accepts
        # many entries per MsgProp; etcd's raft benchmarks propose that way).
        if not self.proposals and not self.forwarded:
            return
        batch, self.proposals = self.proposals, []
        ents, self.forwarded = self.forwarded, []
        ents.extend(Entry(data=data) for _, data in batch)
        m = Message(type=MessageType.MSG_PROP, frm=self.id, entries=tuple(ents))
        try:
            self.node.step(m)
        except ErrProposalDropped:
            for rid, _ in batch:
                self.w.fail(rid, ErrGRPCNoLeader)

    # -- the Ready loop ----------------------------------------------------------------

    async def _run_raft(self) -> None:
        try:
            while True:
                await self._kick.wait()
                self._kick.clear()
                self._flush_proposals()
                while self.node.has_ready():
                    await self._handle_ready(self.node.ready())
                    self._flush_proposals()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a broken disk or invariant: stop like etcd's lg.Fatal
            self.log.error("raft loop failed; stopping", error=repr(e))
            self.stopped.set()
            raise

    async def _handle_ready(self, rd: Ready) -> None:
        if rd.soft_state is not None:
            self._on_soft_state(rd.soft_state.lead, rd.soft_state.raft_state)
        if rd.hard_state != HardState():
            self.term = rd.hard_state.term
        for rs in rd.read_states:
            self.read_states[rs.request_ctx] = rs.index
            self.read_state_ev.set()
        lead_sent = self.is_leader()
        if lead_sent:
            # A leader may replicate while it writes its own disk (Raft thesis §10.2.1):
            # it only counts itself toward a commit after advance(), like etcd's raft.go.
            self.transport.send(rd.messages)
        snap = rd.snapshot
        has_snap = not snap.is_empty()
        if has_snap:
            await asyncio.to_thread(self._save_snapshot_files, snap)
        saving = None
        if rd.must_sync:  # entries or a new term/vote: fsync, off the event loop
            saving = asyncio.get_running_loop().run_in_executor(
                None, self.wal.save, rd.hard_state, list(rd.entries)
            )
        elif rd.hard_state != HardState():  # only the commit index moved: no fsync needed
            self.wal.save(rd.hard_state, [])
        if not has_snap:
            # Committed entries are already durable on a quorum: apply them while our
            # own disk write runs, as etcd hands them to its apply goroutine first.
            self._apply_entries(rd.committed_entries)
        if saving is not None:
            await saving
        if has_snap:
            self.storage.apply_snapshot(snap)
            self._apply_snapshot(snap)
        if rd.hard_state != HardState():
            self.storage.set_hard_state(rd.hard_state)
        self.storage.append(rd.entries)
        if not lead_sent:
            self.transport.send(rd.messages)
        if has_snap:
            self._apply_entries(rd.committed_entries)
        self.node.advance(rd)
        await self._maybe_trigger_snapshot()

    def _save_snapshot_files(self, snap) -> None:
        self.snapshotter.save_snap(snap)
        self.wal.save_snapshot(WalSnapshot(snap.metadata.index, snap.metadata.term))

    def _on_soft_state(self, lead: int, state: StateType) -> None:
        was_leader = self.role == StateType.LEADER
        if lead != self.lead:
            self.log.info(
                "raft leader changed",
                member=f"{self.id:x}",
                leader=f"{lead:x}",
                term=self.node.status().hard_state.term,
            )
            self.leader_changed.set()
            self.leader_changed = asyncio.Event()
        self.lead, self.role = lead, state
        if state == StateType.LEADER and not was_leader:
            # New leader: every lease gets its (checkpointed) TTL again, plus an election.
            self.lessor.promote(self.cfg.election_ms / 1000, time.monotonic())
        elif was_leader and state != StateType.LEADER:
            self.lessor.demote()

    def _apply_snapshot(self, snap) -> None:
        if snap.metadata.index <= self.applied_index:
            return
        self.log.info("applying snapshot", index=snap.metadata.index, member=f"{self.id:x}")
        self._restore_state(snap.data, snap.metadata.index)
        self.conf_state = snap.metadata.conf_state
        self.kv.restore_watchers()
        if self.is_leader():
            self.lessor.promote(self.cfg.election_ms / 1000, time.monotonic())
        for m in self.cluster.members.values():
            if m.id != self.id:
                self.transport.add_peer(m.id, m.peer_urls)
        self.applied_wait.trigger(self.applied_index)

    def _apply_entries(self, ents) -> None:
        for e in ents:
            if e.index <= self.applied_index:
                continue
            if e.type == EntryType.NORMAL:
                self._apply_normal(e)
            else:
                self._apply_conf_change(e)
            self.applied_index = e.index
            self.kv.consistent_index = e.index
        if ents:
            self.applied_wait.trigger(self.applied_index)

    def _apply_normal(self, e) -> None:
        if not e.data:
            return  # the empty entry a new leader appends
        r = ipb.InternalRaftRequest.FromString(e.data)
        result = self.applier.apply(r)
        self.w.trigger(r.header.ID, result)

    def _apply_conf_change(self, e) -> None:
        cc = unmarshal_conf_change(e.data)
        err = None
        try:
            self._apply_membership(cc)
        except MembershipError as exc:
            err = exc
            cc = type(cc)(type=cc.type, node_id=NONE, context=cc.context, id=cc.id)
        self.conf_state = self.node.apply_conf_change(cc)
        self.w.trigger(cc.id, ApplyResult(err=err))

    def _apply_membership(self, cc) -> None:
        c = self.cluster
        if cc.type in (ConfChangeType.ADD_NODE, ConfChangeType.ADD_LEARNER_NODE):
            m = c.members.get(cc.node_id)
            if m is not None and m.is_learner and cc.type == ConfChangeType.ADD_NODE:
                c.promote_member(cc.node_id)  # MemberPromote: a learner becomes a voter
                return
            m = Member.from_json(cc.context)
            c.validate_add(m)
            c.add_member(m)
            if m.id != self.id:
                self.transport.add_peer(m.id, m.peer_urls)
            self.log.info("added member", member=f"{m.id:x}", peer_urls=m.peer_urls)
        elif cc.type == ConfChangeType.REMOVE_NODE:
            c.validate_remove(cc.node_id)
            c.remove_member(cc.node_id)
            self.log.info("removed member", member=f"{cc.node_id:x}")
            if cc.node_id == self.id:
                self.log.warn("the member has been permanently removed from the cluster")
                asyncio.get_running_loop().call_soon(self.stopped.set)
            else:
                self.transport.remove_peer(cc.node_id)
        elif cc.type == ConfChangeType.UPDATE_NODE:
            m = Member.from_json(cc.context)
            c.update_peer_urls(m.id, m.peer_urls)
            if m.id != self.id:
                self.transport.add_peer(m.id, m.peer_urls)

    async def _maybe_trigger_snapshot(self) -> None:
        if self.applied_index - self.snapshot_index <= self.cfg.snapshot_count:
            return
        index = self.applied_index
        data = backend_snapshot.encode(self.kv, self.lessor, self.cluster)
        snap = self.storage.create_snapshot(index, self.conf_state, data)
        await asyncio.to_thread(self._persist_snapshot, snap)
        self.snapshot_index = index
        compact_index = index - self.cfg.snapshot_catchup_entries
        if compact_index > self.storage.first_index():
            self.storage.compact(compact_index)
        self.log.info("saved snapshot", index=index, member=f"{self.id:x}")

    def _persist_snapshot(self, snap) -> None:
        self._save_snapshot_files(snap)
        self.wal.cut()
        self.wal.release_lock_to(snap.metadata.index)
        self.snapshotter.purge()
