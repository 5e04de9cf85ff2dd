"""One simulation run: a faulty phase, then heal, then a liveness check.

The faulty phase injects, from the seed, the faults named in `faults`:
drop, dup, reorder (network), partition (symmetric splits and one-way cuts),
crash (a node loses everything not persisted) and restart. Then the network
heals, every node restarts, and the cluster must elect a leader and commit
every pending client write within `liveness_ticks` (liveness; Raft promises
progress only once the network behaves, §5.6 of the paper). The faulty
phase stops at the first violation, and the liveness check is skipped
(`liveness` false): what follows a broken invariant is noise, and `--trace`
then ends on the schedule that broke it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from miniraft.raft import StateType
from miniraft.sim.cluster import Cluster, Tracer
from miniraft.sim.network import NetworkFaults

ALL_FAULTS = ("drop", "dup", "reorder", "partition", "crash", "restart")
# The default run (`python -m miniraft sim` with no flags); the mutation tests
# must be caught by it.
DEFAULT_NODES, DEFAULT_SEED, DEFAULT_TICKS = 5, 0, 20000


@dataclass
class FaultRates:
    """Per-tick probabilities, scaled to an election timeout of 10 ticks."""

    drop: float = 0.05
    dup: float = 0.03
    max_delay: int = 5
    partition: float = 0.01
    heal: float = 0.03
    crash: float = 0.006
    crash_mid_ready: float = 0.0005  # per Ready
    restart: float = 0.03
    # Reactive faults (a nemesis that chases the leader): right after a node
    # becomes leader, or first commits in its term, or commits at all, cut it
    # off from everyone, moving any partition already in place. The cut also
    # drops what it just sent. Figure 8 (§5.4.2) needs exactly this: a leader
    # deposed before its first MsgApp lands, the old leader back in the
    # majority, and that leader deposed again right after its first commit.
    isolate_new_leader: float = 0.8
    isolate_after_first_commit: float = 0.8
    isolate_after_commit: float = 0.02


@dataclass
class Result:
    seed: int
    nodes: int
    ticks: int
    faults: list[str]
    committed: int = 0
    elections: int = 0
    max_term: int = 0
    violations: list[str] = field(default_factory=list)
    liveness: bool = False
    ticks_to_recover: int = -1
    messages: int = 0
    dropped: int = 0
    reads_checked: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def isolate_reactively(c: Cluster, rates: FaultRates) -> bool:
    """Isolate a leader that was just elected or just committed (see FaultRates)."""
    events, c.events = c.events, []
    chance = {
        "leader": rates.isolate_new_leader,
        "first commit": rates.isolate_after_first_commit,
        "commit": rates.isolate_after_commit,
    }
    for kind, nid in events:
        if c.rng.random() < chance[kind]:
            c.net.partition([{nid}, set(c.nodes) - {nid}])
            c.trace(f"ISOLATE n{nid} right after its {kind}")
            return True
    return False


def inject_faults(c: Cluster, faults: set[str], rates: FaultRates) -> None:
    rng = c.rng
    ids = sorted(c.nodes)
    if "partition" in faults and len(ids) > 1:  # one node cannot be split
        if isolate_reactively(c, rates):
            pass
        elif not c.net.blocked and rng.random() < rates.partition:
            lead = c.leader()
            if lead is not None and rng.random() < 0.4:
                # Isolate the leader (maybe with company) in a minority.
                side = {lead} | set(rng.sample(ids, (len(ids) - 1) // 2))
                side = side if len(side) <= (len(ids) - 1) // 2 + 1 else {lead}
                c.net.partition([side, set(ids) - side])
                c.trace(f"PARTITION {sorted(side)} | {sorted(set(ids) - side)}")
            elif rng.random() < 0.7:
                side = set(rng.sample(ids, rng.randint(1, len(ids) - 1)))
                c.net.partition([side, set(ids) - side])
                c.trace(f"PARTITION {sorted(side)} | {sorted(set(ids) - side)}")
            else:
                a, b = rng.sample(ids, 2)
                c.net.block(a, b)
                c.trace(f"ONE-WAY CUT {a} -> {b}")
        elif c.net.blocked and rng.random() < rates.heal:
            c.net.heal()
            c.trace("HEAL network")
    if "crash" in faults and rng.random() < rates.crash:
        alive, lead = c.alive_ids(), c.leader()
        if lead is not None and rng.random() < 0.5:
            c.crash(lead)  # the interesting victim
        elif alive:
            c.crash(rng.choice(alive))
    if "restart" in faults and rng.random() < rates.restart:
        dead = [i for i in ids if not c.nodes[i].alive]
        if dead:
            c.restart(rng.choice(dead))


def network_faults(faults: set[str], rates: FaultRates) -> NetworkFaults:
    return NetworkFaults(
        drop=rates.drop if "drop" in faults else 0.0,
        dup=rates.dup if "dup" in faults else 0.0,
        max_delay=rates.max_delay if "reorder" in faults else 1,
    )


def healed(c: Cluster) -> bool:
    """A leader, no client write outstanding, and every node caught up."""
    lead = c.leader()
    if lead is None or any(cl.write is not None for cl in c.clients):
        return False
    lr = c.nodes[lead].rn.raft  # type: ignore[union-attr]
    if lr.raft_log.committed != lr.raft_log.last_index():
        return False
    return all(
        n.rn is not None
        and n.rn.raft.state != StateType.CANDIDATE
        and n.applied == lr.raft_log.committed
        for n in c.nodes.values()
    )


def run(
    nodes: int = DEFAULT_NODES,
    seed: int = DEFAULT_SEED,
    ticks: int = DEFAULT_TICKS,
    faults: set[str] | frozenset[str] = frozenset(ALL_FAULTS),
    rates: FaultRates | None = None,
    liveness_ticks: int = 600,
    tracer: Tracer | None = None,
    pre_vote: bool = True,
    check_quorum: bool = True,
) -> Result:
    rates = rates or FaultRates()
    faults = set(faults)
    c = Cluster(
        nodes,
        seed,
        network_faults(faults, rates),
        tracer=tracer,
        pre_vote=pre_vote,
        check_quorum=check_quorum,
    )
    if "crash" in faults:
        c.mid_ready_crash = rates.crash_mid_ready
    for _ in range(ticks):
        inject_faults(c, faults, rates)
        c.tick()
        if c.checker.violations:
            break
    c.mid_ready_crash = 0.0
    res = Result(seed=seed, nodes=nodes, ticks=ticks, faults=sorted(faults))
    if not c.checker.violations:  # a broken cluster's liveness means nothing
        heal(c)
        start = c.now
        while c.now - start < liveness_ticks and not healed(c):
            c.tick()
        res.liveness = healed(c)
        res.ticks_to_recover = c.now - start if res.liveness else -1
    res.committed = len(c.checker.committed) - 1
    res.elections = len(c.checker.leaders)
    res.max_term = c.max_term()
    res.violations = list(c.checker.violations)
    res.messages, res.dropped = c.net.sent, c.net.dropped
    res.reads_checked = c.checker.reads_checked
    return res


def heal(c: Cluster) -> None:
    c.trace("HEAL all: network repaired, every node restarted")
    c.net.heal()
    c.net.faults = NetworkFaults()
    for i in sorted(c.nodes):
        if not c.nodes[i].alive:
            c.restart(i)
