"""Hypothesis drives the simulator: a RuleBasedStateMachine whose rules are
ticks, crashes, restarts, partitions (symmetric and one-way), heals, client
writes and ReadIndex reads. The safety checker runs after every step; at the
end the cluster must heal and make progress. A failure shrinks to a minimal
schedule, and the seed of the cluster's own randomness is printed with it."""

from __future__ import annotations

from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from miniraft.sim.cluster import Cluster
from miniraft.sim.network import NetworkFaults
from miniraft.sim.simulation import heal, healed

NODES = st.integers(min_value=1, max_value=5)


class RaftSchedule(RuleBasedStateMachine):
    cluster: Cluster

    @initialize(seed=st.integers(min_value=0, max_value=2**32 - 1), lossy=st.booleans())
    def boot(self, seed: int, lossy: bool) -> None:
        faults = NetworkFaults(drop=0.1, dup=0.05, max_delay=4) if lossy else NetworkFaults()
        self.cluster = Cluster(5, seed, faults)
        self.seed = seed
        note(f"cluster seed={seed} lossy={lossy}")  # shown with a failing schedule

    @rule(n=st.integers(min_value=1, max_value=40))
    def tick(self, n: int) -> None:
        for _ in range(n):
            self.cluster.tick()

    @rule(node=NODES)
    def crash(self, node: int) -> None:
        if self.cluster.nodes[node].alive:
            self.cluster.crash(node)

    @rule(node=NODES)
    def restart(self, node: int) -> None:
        if not self.cluster.nodes[node].alive:
            self.cluster.restart(node)

    @rule(side=st.sets(NODES, min_size=1, max_size=4))
    def partition(self, side: set[int]) -> None:
        self.cluster.net.partition([side, set(self.cluster.nodes) - side])

    @rule(frm=NODES, to=NODES)
    def cut_one_way(self, frm: int, to: int) -> None:
        if frm != to:
            self.cluster.net.block(frm, to)

    @rule()
    def heal_network(self) -> None:
        self.cluster.net.heal()

    @rule(node=NODES, value=st.integers(0, 99))
    def propose(self, node: int, value: int) -> None:
        self.cluster.propose(node, f"put k v{value}".encode())

    @invariant()
    def safe(self) -> None:
        c = getattr(self, "cluster", None)
        if c is not None:
            assert c.checker.violations == [], f"seed={self.seed}: {c.checker.violations}"

    def teardown(self) -> None:
        c = getattr(self, "cluster", None)
        if c is None:
            return
        heal(c)
        assert c.run_until(lambda: healed(c), 600), f"seed={self.seed}: no progress after heal"
        assert c.checker.violations == [], f"seed={self.seed}: {c.checker.violations}"


RaftSchedule.TestCase.settings = settings(
    max_examples=10,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRaftSchedule = RaftSchedule.TestCase
