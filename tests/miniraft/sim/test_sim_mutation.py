"""Mutation checks: break a rule of the paper inside the test (monkeypatch, no
flag in production code) and the simulator must report violations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from miniraft.raft.log import RaftLog
from miniraft.raft.raft import Raft
from miniraft.sim.cluster import Cluster
from miniraft.sim.simulation import ALL_FAULTS, run


def _scenarios():
    # Reuse the scripted Figure 8 schedule from the scenario tests.
    path = Path(__file__).with_name("test_sim_scenarios.py")
    spec = importlib.util.spec_from_file_location("_sim_scenarios", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def commit_by_counting_replicas(self: Raft) -> bool:
    """The rule Figure 8 forbids: commit whatever a majority stores, any term."""
    idx = min(self.trk.committed(), self.raft_log.last_index())
    if idx > self.raft_log.committed:
        self.raft_log.commit_to(idx)
        return True
    return False


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_breaking_figure8_commit_rule_is_caught(seed: int, monkeypatch) -> None:
    """§5.4.2: committing a previous-term entry by counting replicas lets a later
    leader overwrite it; the checker sees a committed entry change."""
    sc = _scenarios()
    c: Cluster = sc.quiet_cluster(3, seed=seed)
    sc.figure8(c)
    assert c.checker.violations == []  # the real rule: safe
    monkeypatch.setattr(Raft, "maybe_commit", commit_by_counting_replicas)
    c = sc.quiet_cluster(3, seed=seed)
    sc.figure8(c)
    assert any("Safety" in v or "Completeness" in v for v in c.checker.violations), (
        c.checker.violations
    )


def test_breaking_vote_restriction_is_caught(monkeypatch) -> None:
    """§5.4.1: voting for candidates with stale logs elects leaders that lack
    committed entries; a faulty run reports it (the first few seeds suffice)."""
    monkeypatch.setattr(RaftLog, "is_up_to_date", lambda self, lasti, term: True)
    for seed in range(30):
        res = run(nodes=5, seed=seed, ticks=500, faults=set(ALL_FAULTS), liveness_ticks=50)
        if res.violations:
            print(f"seed {seed}: {res.violations[0]}")
            return
    pytest.fail("a broken §5.4.1 went unnoticed for 30 seeds")
