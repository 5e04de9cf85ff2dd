"""Scenario tests on the simulated cluster, mirroring the paper and the classic
course labs. Each scenario scripts its faults; the SafetyChecker watches every
step, so each test also asserts that no safety property was violated."""

from __future__ import annotations

from miniraft.raft import (
    ConfChangeSingle,
    ConfChangeType,
    ConfChangeV2,
    MessageType,
    StateType,
)
from miniraft.sim.cluster import Cluster
from miniraft.sim.network import NetworkFaults


def quiet_cluster(n: int = 5, seed: int = 1, **kw) -> Cluster:
    c = Cluster(n, seed, **kw)
    c.client_rate = 0.0  # scenarios propose explicitly
    return c


def elect(c: Cluster, among: set[int] | None = None, limit: int = 300) -> int:
    ok = c.run_until(
        lambda: c.leader() is not None and (among is None or c.leader() in among), limit
    )
    assert ok, "no leader elected"
    lead = c.leader()
    assert lead is not None
    return lead


def committed_on(c: Cluster, nid: int) -> int:
    rn = c.nodes[nid].rn
    assert rn is not None
    return rn.raft.raft_log.committed


def test_initial_election() -> None:
    """§5.2: from a cold start one leader is elected and everyone follows it."""
    c = quiet_cluster()
    lead = elect(c)
    c.run_until(lambda: all(n.rn.raft.lead == lead for n in c.nodes.values()), 100)
    assert [n.rn.raft.lead for n in c.nodes.values()] == [lead] * 5
    assert sum(n.rn.raft.state == StateType.LEADER for n in c.nodes.values()) == 1
    assert c.checker.violations == []


def test_reelection_after_leader_partitioned() -> None:
    """§5.2: when the leader is cut off, the majority elects a new one in a higher term."""
    c = quiet_cluster()
    old = elect(c)
    old_term = c.nodes[old].rn.raft.term
    rest = set(c.nodes) - {old}
    c.net.partition([{old}, rest])
    new = elect(c, among=rest)
    assert c.nodes[new].rn.raft.term > old_term
    assert c.checker.violations == []


def test_no_quorum_no_commit() -> None:
    """§5.3: an entry commits only on a majority; a leader with a minority commits nothing."""
    c = quiet_cluster()
    lead = elect(c)
    ids = sorted(c.nodes)
    buddy = next(i for i in ids if i != lead)
    c.net.partition([{lead, buddy}, set(ids) - {lead, buddy}])
    before = committed_on(c, lead)
    assert c.propose(lead, b"put k lonely")
    for _ in range(200):
        c.tick()
    assert committed_on(c, lead) == before
    assert all(e[1] != b"put k lonely" for e in c.checker.applied.values())
    assert c.checker.violations == []


def test_stale_leader_rejoins_and_is_overwritten() -> None:
    """§5.3/§5.4: a deposed leader rejoins, steps down, and its uncommitted
    entries are replaced by the new leader's log."""
    c = quiet_cluster()
    old = elect(c)
    rest = set(c.nodes) - {old}
    c.net.partition([{old}, rest])
    c.propose(old, b"put k stale")
    new = elect(c, among=rest)
    c.propose(new, b"put k fresh")
    c.run_until(lambda: committed_on(c, new) >= c.nodes[new].rn.raft.raft_log.last_index(), 200)
    c.net.heal()
    c.run_until(lambda: c.nodes[old].applied == committed_on(c, new), 300)
    data = [e.data for e in c.nodes[old].rn.raft.raft_log.all_entries()]
    assert b"put k fresh" in data and b"put k stale" not in data
    assert c.nodes[old].rn.raft.state == StateType.FOLLOWER
    assert c.checker.violations == []


def test_fast_backup_over_long_divergent_log() -> None:
    """§5.3 (last paragraphs): with reject hints the leader skips a whole
    divergent term per round trip instead of one entry per round trip."""
    c = quiet_cluster(5)
    for n in c.nodes.values():
        n.snapshot_every = 10**9  # no compaction: force log repair, not MsgSnap
    old = elect(c)
    ids = set(c.nodes)
    c.net.partition([{old}, ids - {old}])
    for k in range(60):
        c.propose(old, f"put k dead{k}".encode())
    mid = elect(c, among=ids - {old})
    for k in range(60):
        c.propose(mid, f"put k live{k}".encode())
    c.run_until(lambda: committed_on(c, mid) > 60, 400)
    # A fresh leader starts with next = its last index + 1 for everyone, so it
    # must discover where the old leader's long divergent tail begins.
    c.net.partition([{old}, {mid}, ids - {old, mid}])
    new = elect(c, among=ids - {old, mid})
    rejects = []
    real_send = c.net.send

    def counting_send(m, now):
        if m.type == MessageType.MSG_APP_RESP and m.reject and m.frm == old:
            rejects.append(m)
        return real_send(m, now)

    c.net.send = counting_send
    c.net.partition([{mid}, ids - {mid}])
    assert c.run_until(lambda: c.nodes[old].applied == committed_on(c, new), 600)
    assert 0 < len(rejects) <= 4, f"{len(rejects)} rejections for a 60-entry divergence"
    assert c.checker.violations == []


def figure8(c: Cluster) -> None:
    """Script Raft paper Figure 8 on nodes a, b, x (§5.4.2).

    a leads and appends entries nobody has; b leads a later term and appends a
    conflicting entry only it has; a returns, leads again and copies its old
    entries onto x (a majority) before its own-term entry gets there; then b
    returns and wins x's vote. Whether a was allowed to *commit* those old
    entries decides whether a committed entry gets overwritten.
    """
    a = elect(c)
    b, x = sorted(set(c.nodes) - {a})
    c.run_until(lambda: c.nodes[x].applied >= committed_on(c, a) > 1, 100)
    c.net.partition([{a}, {b, x}])
    for k in range(4):
        c.propose(a, f"put k a{k}".encode())
    b_lead = elect(c, among={b, x})
    b, x = b_lead, ({b, x} - {b_lead}).pop()
    c.net.partition([{b}, {a, x}])  # cuts b's first MsgApp in flight
    elect(c, among={a})
    base = committed_on(c, x)
    c.run_until(lambda: committed_on(c, a) > base, 300)
    c.net.partition([{a}, {b, x}])
    elect(c, among={b, x})  # b can only win if x lacks a's current-term entry
    c.run_until(lambda: committed_on(c, x) > base + 1, 300)


def test_figure8_scenario_is_safe() -> None:
    """§5.4.2, Figure 8: with the current-term commit rule the schedule is harmless."""
    c = quiet_cluster(3, seed=3)
    figure8(c)
    assert c.checker.violations == []


def test_persistence_across_crashes() -> None:
    """Figure 2 "persistent state": term, vote and log survive a crash of every node."""
    c = quiet_cluster(3)
    lead = elect(c)
    for k in range(10):
        c.propose(lead, f"put k v{k}".encode())
    c.run_until(lambda: all(n.applied >= 12 for n in c.nodes.values()), 300)
    before = {i: (n.storage.hard_state, n.kv.copy()) for i, n in c.nodes.items()}
    for i in sorted(c.nodes):
        c.crash(i)
    for i in sorted(c.nodes):
        c.restart(i)
    for i, n in c.nodes.items():
        assert n.rn.raft.term == before[i][0].term
        assert n.rn.raft.vote == before[i][0].vote
    lead = elect(c)
    c.run_until(lambda: all(n.applied >= 12 for n in c.nodes.values()), 300)
    for i, n in c.nodes.items():
        assert n.kv == before[i][1]
    assert c.checker.violations == []


def test_snapshot_install_for_far_behind_follower() -> None:
    """§7: a follower that missed compacted entries is caught up with InstallSnapshot."""
    c = quiet_cluster(3)
    lead = elect(c)
    lagger = next(i for i in sorted(c.nodes) if i != lead)
    c.crash(lagger)
    for k in range(150):
        c.propose(lead, f"put k{k % 7} v{k}".encode())
        c.tick()
    c.run_until(lambda: committed_on(c, lead) >= 150, 300)
    assert c.nodes[lead].storage.first_index() > 2  # the log was compacted
    snaps = []
    real_send = c.net.send
    c.net.send = lambda m, now: (
        snaps.append(m) if m.type == MessageType.MSG_SNAP else None,
        real_send(m, now),
    )[1]
    c.restart(lagger)
    assert c.run_until(lambda: c.nodes[lagger].applied >= committed_on(c, lead), 500)
    assert snaps and all(m.to == lagger for m in snaps)
    assert c.nodes[lagger].kv == c.nodes[lead].kv
    assert c.checker.violations == []


def test_membership_change_under_failures() -> None:
    """§6 (and thesis §4): add a learner, promote it, remove a voter, all while the
    network drops and duplicates messages; each change waits for the previous."""
    c = quiet_cluster(3, net_faults=NetworkFaults(drop=0.1, dup=0.1, max_delay=3))
    lead = elect(c)
    c.add_node(4)

    def change(kind: ConfChangeType, nid: int) -> None:
        cc = ConfChangeV2(changes=(ConfChangeSingle(kind, nid),))
        assert c.run_until(
            lambda: c.leader() is not None and c.propose_conf_change(c.leader(), cc), 300
        )

        def applied() -> bool:
            lead = c.leader()
            return lead is not None and _member(c, lead, kind, nid)

        assert c.run_until(applied, 600), f"{kind} {nid} never applied"

    change(ConfChangeType.ADD_LEARNER_NODE, 4)
    change(ConfChangeType.ADD_NODE, 4)
    victim = next(i for i in (1, 2, 3) if i != lead)
    change(ConfChangeType.REMOVE_NODE, victim)
    c.crash(victim)
    lead = elect(c)
    c.propose(lead, b"put k after")
    assert c.run_until(lambda: c.nodes[4].kv.get("k") == "after", 600)
    assert c.checker.violations == []


def _member(c: Cluster, lead: int, kind: ConfChangeType, nid: int) -> bool:
    cs = c.nodes[lead].conf_state
    if kind == ConfChangeType.ADD_LEARNER_NODE:
        return nid in cs.learners
    if kind == ConfChangeType.ADD_NODE:
        return nid in cs.voters
    return nid not in cs.voters and nid not in cs.learners


def test_leadership_transfer() -> None:
    """Thesis §3.10: the leader brings the transferee up to date and sends
    MsgTimeoutNow; the transferee wins without waiting for a timeout."""
    c = quiet_cluster()
    lead = elect(c)
    target = max(i for i in c.nodes if i != lead)
    c.nodes[lead].rn.transfer_leadership(target)
    c.process_ready(c.nodes[lead])
    assert c.run_until(lambda: c.leader() == target, 20)
    assert c.checker.violations == []


def test_minority_leader_serves_no_linearizable_read() -> None:
    """Thesis §6.4: ReadIndex needs a heartbeat round acked by a quorum, so a
    leader cut off in a minority never answers, while the majority's new
    leader answers with an index that covers the latest write."""
    c = quiet_cluster()
    old = elect(c)
    ids = set(c.nodes)
    c.net.partition([{old}, ids - {old}])
    c.nodes[old].rn.read_index(b"stale?")
    c.process_ready(c.nodes[old])
    new = elect(c, among=ids - {old})
    c.propose(new, b"put k newest")
    c.run_until(lambda: c.nodes[new].kv.get("k") == "newest", 200)
    c.nodes[new].rn.read_index(b"fresh")
    c.process_ready(c.nodes[new])
    for _ in range(50):
        c.tick()
    answered = {ctx: (nid, index) for nid, index, ctx in c.read_log}
    assert b"stale?" not in answered
    assert answered[b"fresh"][0] == new
    assert answered[b"fresh"][1] >= c.write_index[b"put k newest"]
    assert c.checker.violations == []


def test_joint_consensus_replaces_two_voters_at_once() -> None:
    """§6: two voters change at once through the joint config C_old,new; the
    leader leaves it automatically (auto_leave) once the joint config is applied."""
    c = quiet_cluster(3, net_faults=NetworkFaults(drop=0.05, max_delay=2))
    lead = elect(c)
    c.add_node(4)
    c.add_node(5)
    out = [i for i in (1, 2, 3) if i != lead]
    cc = ConfChangeV2(
        changes=(
            ConfChangeSingle(ConfChangeType.ADD_NODE, 4),
            ConfChangeSingle(ConfChangeType.ADD_NODE, 5),
            ConfChangeSingle(ConfChangeType.REMOVE_NODE, out[0]),
            ConfChangeSingle(ConfChangeType.REMOVE_NODE, out[1]),
        )
    )
    assert c.propose_conf_change(lead, cc)
    saw_joint = c.run_until(lambda: bool(c.nodes[lead].conf_state.voters_outgoing), 300)
    assert saw_joint
    final = c.run_until(
        lambda: (
            c.nodes[4].conf_state.voters == tuple(sorted((lead, 4, 5)))
            and not c.nodes[4].conf_state.voters_outgoing
        ),
        600,
    )
    assert final, c.nodes[4].conf_state
    for i in out:
        c.crash(i)
    new = elect(c)
    c.propose(new, b"put k joint")
    assert c.run_until(lambda: c.nodes[5].kv.get("k") == "joint", 600)
    assert c.checker.violations == []
