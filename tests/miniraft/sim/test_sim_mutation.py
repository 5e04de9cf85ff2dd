"""Mutation checks: break a rule of the paper inside the test (monkeypatch, no
flag in production code) and the simulator must report violations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from miniraft.raft.log import RaftLog
from miniraft.raft.raft import Raft
from miniraft.sim.cluster import Cluster
from miniraft.sim.simulation import run


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


def _first_violation_tick(violations: list[str]) -> int:
    return int(violations[0].split(":")[0].removeprefix("tick "))


def test_breaking_figure8_commit_rule_is_caught_by_the_default_run(monkeypatch) -> None:
    """§5.4.2: committing a previous-term entry by counting replicas lets a later
    leader overwrite it. The default run (`python -m miniraft sim`: 5 nodes,
    seed 0, 20000 ticks, every fault) finds it by itself: the leader-chasing
    nemesis and one-entry MsgApps make Figure 8's schedule common."""
    monkeypatch.setattr(Raft, "maybe_commit", commit_by_counting_replicas)
    res = run()
    assert any("Safety" in v or "Completeness" in v for v in res.violations), res.violations
    print(f"default run: {res.violations[0]}")
    monkeypatch.undo()  # the real rule: same seed, as many ticks, no violation
    clean = run(ticks=_first_violation_tick(res.violations))
    assert clean.violations == [] and clean.liveness


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_breaking_figure8_commit_rule_is_caught_on_the_scripted_schedule(
    seed: int, monkeypatch
) -> None:
    """The same mutation on the paper's Figure 8, scripted step by step."""
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


def test_breaking_vote_restriction_is_caught_by_the_default_run(monkeypatch) -> None:
    """§5.4.1: voting for candidates with stale logs elects leaders that lack
    committed entries; the default run reports it."""
    monkeypatch.setattr(RaftLog, "is_up_to_date", lambda self, lasti, term: True)
    res = run()
    assert any("Completeness" in v or "Safety" in v for v in res.violations), res.violations
    print(f"default run: {res.violations[0]}")
