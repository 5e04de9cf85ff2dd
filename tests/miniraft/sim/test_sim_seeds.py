"""The acceptance sweep: across 200 seeds with every fault on, no safety
violation and liveness after heal. Runs are short to fit CI (longer sweeps:
benchmarks/raft.py and `python -m miniraft sim --ticks 20000`)."""

from __future__ import annotations

import pytest

from miniraft.sim.simulation import ALL_FAULTS, run


@pytest.mark.parametrize("seed", range(200))
def test_seed_is_safe_and_live(seed: int) -> None:
    nodes = 5 if seed % 2 else 3
    res = run(nodes=nodes, seed=seed, ticks=120, faults=set(ALL_FAULTS))
    assert res.violations == [], f"seed {seed}: {res.violations}"
    assert res.liveness, f"seed {seed}: no recovery after heal"


def test_seed_replays_exactly() -> None:
    """Determinism: the same seed gives the same run, message for message."""
    lines_a: list[str] = []
    lines_b: list[str] = []
    a = run(nodes=5, seed=42, ticks=300, tracer=lines_a.append)
    b = run(nodes=5, seed=42, ticks=300, tracer=lines_b.append)
    assert a.as_dict() == b.as_dict()
    assert lines_a == lines_b
    c = run(nodes=5, seed=43, ticks=300)
    assert c.as_dict() != a.as_dict()


@pytest.mark.parametrize("nodes", [1, 2, 4])
def test_other_cluster_sizes(nodes: int) -> None:
    res = run(nodes=nodes, seed=11, ticks=200, faults=set(ALL_FAULTS))
    assert res.violations == [] and res.liveness
    assert res.committed > 1
