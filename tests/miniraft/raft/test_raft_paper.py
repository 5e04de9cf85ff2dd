"""Paper tests: each checks one rule of the Raft paper (Ongaro & Ousterhout,
"In Search of an Understandable Consensus Algorithm"), citing its section, in
the manner of etcd-io/raft raft_paper_test.go."""

from __future__ import annotations

import random

import pytest

from miniraft.raft import (
    Config,
    ConfState,
    Entry,
    HardState,
    MemoryStorage,
    Message,
    MessageType,
    RawNode,
    Snapshot,
    SnapshotMetadata,
    StateType,
)

MT = MessageType


def new_node(
    node_id: int = 1,
    peers: tuple[int, ...] = (1, 2, 3),
    ents: list[tuple[int, int]] | None = None,
    term: int = 0,
    election: int = 10,
    heartbeat: int = 1,
    seed: int = 0,
) -> tuple[RawNode, MemoryStorage]:
    """A node over a storage holding a snapshot at index 0 and entries (index, term)."""
    s = MemoryStorage()
    s.snap = Snapshot(metadata=SnapshotMetadata(conf_state=ConfState(voters=peers)))
    if ents:
        s.append([Entry(term=t, index=i) for i, t in ents])
    if term:
        s.set_hard_state(HardState(term=term))
    cfg = Config(node_id, election, heartbeat, s, rand=random.Random(seed), max_inflight_msgs=256)
    return RawNode(cfg), s


def drain(rn: RawNode, s: MemoryStorage) -> list[Message]:
    """Run the driver loop until idle; return every message to send."""
    out: list[Message] = []
    while rn.has_ready():
        rd = rn.ready()
        s.append(rd.entries)
        if rd.hard_state != HardState():
            s.set_hard_state(rd.hard_state)
        out.extend(rd.messages)
        rn.advance(rd)
    return out


def become_leader(rn: RawNode, s: MemoryStorage) -> list[Message]:
    """Campaign and receive every vote; returns the new leader's first messages."""
    rn.campaign()
    drain(rn, s)
    r = rn.raft
    for peer in r.trk.voter_nodes():
        if peer != r.id:
            rn.step(Message(type=MT.MSG_VOTE_RESP, frm=peer, to=r.id, term=r.term))
    msgs = drain(rn, s)
    assert r.state == StateType.LEADER
    return msgs


@pytest.mark.parametrize("state", ["follower", "candidate", "leader"])
def test_update_term_from_message(state: str) -> None:
    """§5.1: a server seeing a larger term updates its term and reverts to follower."""
    rn, s = new_node()
    if state == "candidate":
        rn.campaign()
    elif state == "leader":
        become_leader(rn, s)
    rn.step(Message(type=MT.MSG_APP, frm=2, to=1, term=2))
    assert rn.raft.term == 2
    assert rn.raft.state == StateType.FOLLOWER


def test_reject_stale_term_message() -> None:
    """§5.1: a request with a stale term number is rejected (ignored here)."""
    rn, s = new_node(term=2)
    drain(rn, s)
    rn.step(Message(type=MT.MSG_APP, frm=2, to=1, term=1, index=0, log_term=0))
    assert drain(rn, s) == []
    assert rn.raft.term == 2


def test_start_as_follower() -> None:
    """§5.2: when servers start up, they begin as followers."""
    rn, _ = new_node()
    assert rn.raft.state == StateType.FOLLOWER


def test_leader_bcast_beat() -> None:
    """§5.2: a leader sends heartbeats to all followers to maintain authority."""
    rn, s = new_node(heartbeat=1)
    become_leader(rn, s)
    drain(rn, s)
    rn.tick()
    msgs = drain(rn, s)
    assert sorted((m.to, m.type) for m in msgs) == [(2, MT.MSG_HEARTBEAT), (3, MT.MSG_HEARTBEAT)]


@pytest.mark.parametrize("state", ["follower", "candidate"])
def test_nonleader_start_election(state: str) -> None:
    """§5.2: after an election timeout a follower (or a candidate that neither won
    nor lost) increments its term, votes for itself and requests votes."""
    rn, s = new_node(election=10)
    if state == "candidate":
        rn.campaign()
    drain(rn, s)
    term = rn.raft.term
    for _ in range(2 * 10):
        rn.tick()
    msgs = drain(rn, s)
    assert rn.raft.term == term + 1
    assert rn.raft.state == StateType.CANDIDATE
    assert rn.raft.trk.votes.get(1) is True
    votes = sorted((m.to, m.type, m.term) for m in msgs)
    assert votes == [(2, MT.MSG_VOTE, term + 1), (3, MT.MSG_VOTE, term + 1)]


@pytest.mark.parametrize(
    "size,granted,rejected,want",
    [
        (1, [], [], StateType.LEADER),
        (3, [2, 3], [], StateType.LEADER),
        (3, [2], [], StateType.LEADER),
        (5, [2, 3, 4, 5], [], StateType.LEADER),
        (5, [2, 3], [], StateType.LEADER),
        (3, [], [2, 3], StateType.FOLLOWER),
        (5, [], [2, 3, 4], StateType.FOLLOWER),
        (3, [], [], StateType.CANDIDATE),
        (5, [2], [], StateType.CANDIDATE),
        (5, [2], [3, 4], StateType.CANDIDATE),
    ],
)
def test_leader_election_in_one_round(size, granted, rejected, want) -> None:
    """§5.2: a candidate wins with votes from a majority, becomes a follower when a
    majority rejects it, and otherwise stays a candidate."""
    rn, s = new_node(peers=tuple(range(1, size + 1)))
    rn.campaign()
    drain(rn, s)
    term = rn.raft.term
    for p in granted:
        rn.step(Message(type=MT.MSG_VOTE_RESP, frm=p, to=1, term=term))
    for p in rejected:
        rn.step(Message(type=MT.MSG_VOTE_RESP, frm=p, to=1, term=term, reject=True))
    drain(rn, s)
    assert rn.raft.state == want


@pytest.mark.parametrize(
    "vote,candidate,reject",
    [(0, 2, False), (0, 3, False), (2, 2, False), (3, 3, False), (2, 3, True), (3, 2, True)],
)
def test_follower_vote(vote: int, candidate: int, reject: bool) -> None:
    """§5.2: each server votes for at most one candidate in a term, first come first served."""
    rn, s = new_node()
    rn.raft.load_state(HardState(term=1, vote=vote))
    rn.step(Message(type=MT.MSG_VOTE, frm=candidate, to=1, term=1))
    resp = [m for m in drain(rn, s) if m.type == MT.MSG_VOTE_RESP]
    assert [(m.to, m.reject) for m in resp] == [(candidate, reject)]


@pytest.mark.parametrize("term_offset", [0, 1])
def test_candidate_fallback(term_offset: int) -> None:
    """§5.2: a candidate receiving AppendEntries from a leader whose term is at least
    as large as its own recognizes the leader and returns to follower."""
    rn, s = new_node()
    rn.campaign()
    drain(rn, s)
    term = rn.raft.term + term_offset
    rn.step(Message(type=MT.MSG_APP, frm=2, to=1, term=term))
    assert rn.raft.state == StateType.FOLLOWER
    assert rn.raft.term == term


def test_election_timeout_randomized() -> None:
    """§5.2: election timeouts are chosen randomly from a fixed interval."""
    seen = set()
    for seed in range(50):
        rn, _ = new_node(election=10, seed=seed)
        t = rn.raft.randomized_election_timeout
        assert 10 <= t < 20
        seen.add(t)
    assert len(seen) > 5


def test_leader_start_replication() -> None:
    """§5.3: the leader appends a command to its log, then sends AppendEntries in parallel."""
    rn, s = new_node()
    become_leader(rn, s)
    commit_all_with_acks(rn, s)
    li = rn.raft.raft_log.last_index()
    rn.propose(b"some data")
    msgs = drain(rn, s)
    assert rn.raft.raft_log.last_index() == li + 1
    apps = sorted((m.to, m.index, m.log_term, m.entries) for m in msgs if m.type == MT.MSG_APP)
    ent = (Entry(term=1, index=li + 1, data=b"some data"),)
    assert apps == [(2, li, 1, ent), (3, li, 1, ent)]


def commit_all_with_acks(rn: RawNode, s: MemoryStorage, acks: tuple[int, ...] = (2, 3)) -> None:
    r = rn.raft
    for p in acks:
        rn.step(
            Message(type=MT.MSG_APP_RESP, frm=p, to=1, term=r.term, index=r.raft_log.last_index())
        )
    drain(rn, s)


def test_leader_commit_entry_on_majority() -> None:
    """§5.3: an entry is committed once the leader replicated it on a majority; the
    leader then tells followers the new commit index in later AppendEntries."""
    rn, s = new_node(peers=(1, 2, 3, 4, 5))
    become_leader(rn, s)
    commit_all_with_acks(rn, s, (2, 3, 4, 5))
    rn.propose(b"x")
    drain(rn, s)
    li = rn.raft.raft_log.last_index()
    rn.step(Message(type=MT.MSG_APP_RESP, frm=2, to=1, term=1, index=li))
    drain(rn, s)
    assert rn.raft.raft_log.committed == li - 1  # self + 2 of 5: not yet
    rn.step(Message(type=MT.MSG_APP_RESP, frm=3, to=1, term=1, index=li))
    msgs = drain(rn, s)
    assert rn.raft.raft_log.committed == li
    assert {m.commit for m in msgs if m.type == MT.MSG_APP} == {li}


def test_follower_commit_entry() -> None:
    """§5.3: once a follower learns an entry is committed, it applies it in order."""
    rn, s = new_node()
    ents = (Entry(term=1, index=1, data=b"a"), Entry(term=1, index=2, data=b"b"))
    rn.step(Message(type=MT.MSG_APP, frm=2, to=1, term=1, entries=ents, commit=1))
    rd = rn.ready()
    assert [e.data for e in rd.committed_entries] == [b"a"]


@pytest.mark.parametrize(
    "term,index,reject,hint",
    [
        (0, 0, False, 0),  # matches the snapshot position
        (1, 1, False, 0),
        (2, 2, False, 0),
        (1, 2, True, 1),  # term mismatch at 2: hint back to 1
        (3, 3, True, 2),  # beyond our log: hint our last index
    ],
)
def test_follower_check_msg_app(term: int, index: int, reject: bool, hint: int) -> None:
    """§5.3: a follower refuses new entries if its log lacks an entry with the
    previous index and term (the consistency check behind Log Matching)."""
    rn, s = new_node(ents=[(1, 1), (2, 2)], term=2)
    rn.step(Message(type=MT.MSG_APP, frm=2, to=1, term=2, log_term=term, index=index))
    resp = [m for m in drain(rn, s) if m.type == MT.MSG_APP_RESP]
    assert [(m.reject, m.reject_hint if m.reject else 0) for m in resp] == [(reject, hint)]


@pytest.mark.parametrize(
    "index,term,new,want",
    [
        (2, 2, [(3, 3)], [(1, 1), (2, 2), (3, 3)]),
        (1, 1, [(2, 3), (3, 4)], [(1, 1), (2, 3), (3, 4)]),  # conflict at 2 truncates
        (0, 0, [(1, 1)], [(1, 1), (2, 2)]),  # already present: nothing changes
        (0, 0, [(1, 3)], [(1, 3)]),
    ],
)
def test_follower_append_entries(index, term, new, want) -> None:
    """§5.3: a conflicting entry and all that follow it are deleted; new entries are appended."""
    rn, s = new_node(ents=[(1, 1), (2, 2)], term=2)
    ents = tuple(Entry(term=t, index=i) for i, t in new)
    rn.step(Message(type=MT.MSG_APP, frm=2, to=1, term=3, log_term=term, index=index, entries=ents))
    drain(rn, s)
    got = [(e.index, e.term) for e in rn.raft.raft_log.all_entries()]
    assert got == want


FIG7_LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
FIG7_FOLLOWERS = {
    "a": [1, 1, 1, 4, 4, 5, 5, 6, 6],
    "b": [1, 1, 1, 4],
    "c": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    "d": [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    "e": [1, 1, 1, 4, 4, 4, 4],
    "f": [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
}


@pytest.mark.parametrize("case", sorted(FIG7_FOLLOWERS))
def test_leader_sync_follower_log(case: str) -> None:
    """§5.3, Figure 7: whatever the follower's log (missing, extra or conflicting
    entries), the leader brings it into agreement with its own."""
    lead_ents = [(i + 1, t) for i, t in enumerate(FIG7_LEADER)]
    fol_ents = [(i + 1, t) for i, t in enumerate(FIG7_FOLLOWERS[case])]
    lead, ls = new_node(1, (1, 2, 3), lead_ents, term=8)
    fol, fs = new_node(2, (1, 2, 3), fol_ents, term=7)
    lead.raft.load_state(HardState(term=8, commit=len(FIG7_LEADER)))
    fol.raft.load_state(HardState(term=7))
    queue = become_leader(lead, ls)
    nodes = {1: (lead, ls), 2: (fol, fs)}
    for _ in range(200):
        queue = [m for m in queue if m.to in nodes]
        if not queue:
            break
        m, queue = queue[0], queue[1:]
        rn, s = nodes[m.to]
        rn.step(m)
        queue.extend(drain(rn, s))
    got = [(e.index, e.term) for e in fol.raft.raft_log.all_entries()]
    want = [(e.index, e.term) for e in lead.raft.raft_log.all_entries()]
    assert got == want


@pytest.mark.parametrize(
    "cand_index,cand_term,granted",
    [(2, 2, True), (3, 2, True), (1, 2, False), (5, 1, False), (1, 3, True)],
)
def test_vote_request_up_to_date(cand_index: int, cand_term: int, granted: bool) -> None:
    """§5.4.1: a voter denies its vote if its own log is more up-to-date than the
    candidate's (compare last terms, then lengths)."""
    rn, s = new_node(ents=[(1, 1), (2, 2)], term=2)
    rn.step(Message(type=MT.MSG_VOTE, frm=2, to=1, term=3, index=cand_index, log_term=cand_term))
    resp = [m for m in drain(rn, s) if m.type == MT.MSG_VOTE_RESP]
    assert [not m.reject for m in resp] == [granted]


def test_leader_only_commits_log_from_current_term() -> None:
    """§5.4.2: a leader never commits entries from previous terms by counting
    replicas; they commit indirectly once an entry of its own term commits."""
    rn, s = new_node(ents=[(1, 1), (2, 2)], term=2)
    become_leader(rn, s)  # term 3, appends its empty entry at index 3
    rn.step(Message(type=MT.MSG_APP_RESP, frm=2, to=1, term=3, index=2))
    drain(rn, s)
    assert rn.raft.raft_log.committed == 0  # index 2 is on a majority, but of term 2
    rn.step(Message(type=MT.MSG_APP_RESP, frm=2, to=1, term=3, index=3))
    drain(rn, s)
    assert rn.raft.raft_log.committed == 3
