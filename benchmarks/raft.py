"""Benchmark miniraft.raft: throughput of 3 in-memory nodes, and a seed sweep.

Figure 1 (`entries_committed_per_cpu_second`) mirrors etcd-io/raft's
BenchmarkProposal3Nodes (node_bench_test.go / rafttest/node_bench_test.go):
three RawNodes over MemoryStorage, messages delivered in memory, the leader
proposing batches of entries; we count entries applied by the leader per CPU
second of this process (time.process_time, so a loaded machine skews it less).
Figure 2 (`sim_seed_sweep`) runs the fault-injecting simulator over many seeds
for longer than CI can afford and reports violations and liveness failures.
The upstream peer (Go) is not on this machine, so there is no ratio here.
Usage: .venv/bin/python benchmarks/raft.py
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
from miniraft.sim.simulation import ALL_FAULTS, run


def three_nodes() -> dict[int, tuple[RawNode, MemoryStorage]]:
    nodes = {}
    for i in (1, 2, 3):
        s = MemoryStorage()
        cs = ConfState(voters=(1, 2, 3))
        s.apply_snapshot(Snapshot(metadata=SnapshotMetadata(cs, index=1, term=1)))
        cfg = Config(i, 10, 1, s, rand=random.Random(i), max_inflight_msgs=256)
        nodes[i] = (RawNode(cfg), s)
    return nodes


def pump(nodes: dict[int, tuple[RawNode, MemoryStorage]]) -> int:
    """One round of the driver loop on every node; returns entries the leader applied."""
    applied = 0
    msgs = []
    for rn, s in nodes.values():
        while rn.has_ready():
            rd = rn.ready()
            s.append(rd.entries)
            if rd.hard_state != HardState():
                s.set_hard_state(rd.hard_state)
            msgs.extend(rd.messages)
            if rn.raft.state == StateType.LEADER:
                applied += len(rd.committed_entries)
            rn.advance(rd)
            # Keep memory flat: compact what every node has applied.
            a = rn.raft.raft_log.applied
            if a - s.first_index() > 4096:
                s.compact(a - 1024)
    for m in msgs:
        nodes[m.to][0].step(m)
    return applied


def bench_throughput(batch: int = 64, seconds: float = 10.0) -> dict:
    nodes = three_nodes()
    nodes[1][0].campaign()
    while nodes[1][0].raft.state != StateType.LEADER:
        pump(nodes)
    payload = b"x" * 128
    leader = nodes[1][0]
    # A batch is one MsgProp carrying many entries, as etcd's node.Propose
    # callers get when proposals queue up behind one Ready.
    prop = Message(
        type=MessageType.MSG_PROP, frm=1, entries=tuple(Entry(data=payload) for _ in range(batch))
    )
    committed = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        leader.step(prop)
        committed += pump(nodes)
        committed += pump(nodes)
    cpu = time.process_time() - start
    return {
        "benchmark": "raft",
        "figure": "entries_committed_per_cpu_second",
        "value": round(committed / cpu),
        "nodes": 3,
        "batch": batch,
        "entry_bytes": len(payload),
        "entries": committed,
        "cpu_seconds": round(cpu, 2),
    }


def bench_sweep(seeds: int = 200, ticks: int = 500, budget: float = 120.0) -> dict:
    start = time.monotonic()
    done = violations = not_live = 0
    bad_seeds: list[int] = []
    for seed in range(seeds):
        if time.monotonic() - start > budget:
            break
        res = run(nodes=5, seed=seed, ticks=ticks, faults=set(ALL_FAULTS))
        done += 1
        if res.violations or not res.liveness:
            bad_seeds.append(seed)
        violations += bool(res.violations)
        not_live += not res.liveness
    return {
        "benchmark": "raft",
        "figure": "sim_seed_sweep",
        "seeds": done,
        "ticks_per_seed": ticks,
        "nodes": 5,
        "faults": ",".join(ALL_FAULTS),
        "seeds_with_violations": violations,
        "seeds_not_live": not_live,
        "bad_seeds": bad_seeds,
        "wall_seconds": round(time.monotonic() - start, 1),
    }


def main() -> int:
    print(json.dumps(bench_throughput()), flush=True)
    sweep = bench_sweep()
    print(json.dumps(sweep), flush=True)
    return 1 if sweep["bad_seeds"] else 0


if __name__ == "__main__":
    sys.exit(main())
