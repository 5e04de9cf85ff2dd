"""Datadriven transcript of the scheduling queue (testdata/queue.txt).

Each block is `command args` lines, `----`, then the queue's answer: pops print the pod,
`state` prints the three queues. Rewrite the expected output after an intended change
with `MINISCHEDULER_REWRITE=1 .venv/bin/pytest tests/minischeduler -k transcript`.
Commands: add NAME [prio=N] [sel=KEY=VALUE] (a nodeSelector); pop; fail NAME [plugin=P]
(back as unschedulable, the cycle it was popped in); step SECONDS; flush (backoffQ and
leftover unschedulable); move EVENT [label=KEY=VALUE] (a cluster event by label, with
the old and new objects that the queueing hints read: NodeAdd adds a node with the
label, NodeLabelChange adds the label to a node, NodeTaintChange removes a NoSchedule
taint, AssignedPodDelete deletes a bound pod requesting 1 cpu); state.
The queue carries the default profile's queueing-hint registrations.
"""

from __future__ import annotations

import os
from pathlib import Path

from miniapi.core.v1 import Taint
from minischeduler.config import load
from minischeduler.inprocess import FakeClock, InProcessCluster
from minischeduler.internal import events
from minischeduler.internal.queue import PriorityQueue
from minischeduler.plugins.simple import PrioritySort
from minischeduler.testing import make_node, make_pod

DATA = Path(__file__).parent / "testdata" / "queue.txt"


def event_objects(name: str, labels: dict[str, str]) -> tuple:
    """(event, old, new) for `move NAME`: the objects the hints are handed."""
    if name == "NodeAdd":
        return events.NODE_ADD, None, make_node("n1", labels=labels)
    if name == "NodeLabelChange":
        return events.NODE_LABEL_CHANGE, make_node("n1"), make_node("n1", labels=labels)
    if name == "NodeTaintChange":
        taint = Taint(key="dedicated", value="gpu", effect="NoSchedule")
        return events.NODE_TAINT_CHANGE, make_node("n1", taints=[taint]), make_node("n1")
    if name == "AssignedPodDelete":
        return events.ASSIGNED_POD_DELETE, make_pod("gone", node="n1", reqs=[{"cpu": "1"}]), None
    raise ValueError(f"unknown event {name!r}")


class Driver:
    def __init__(self) -> None:
        self.clock = FakeClock(0.0)
        hints = InProcessCluster(load(None)).scheduler.queue.queueing_hint_map
        self.q = PriorityQueue(PrioritySort().less, self.clock, queueing_hint_map=hints)
        self.popped: dict[str, tuple] = {}

    def run(self, line: str) -> list[str]:
        cmd, *args = line.split()
        kv = dict(a.split("=", 1) for a in args if "=" in a)
        names = [a for a in args if "=" not in a]
        if cmd == "add":
            sel = dict([kv["sel"].split("=", 1)]) if "sel" in kv else None
            self.q.add(make_pod(names[0], priority=int(kv.get("prio", 0)), node_selector=sel))
        elif cmd == "pop":
            qpi = self.q.pop()
            if qpi is None:
                return ["<empty>"]
            self.popped[qpi.pod.metadata.name] = (qpi, self.q.scheduling_cycle)
            return [f"{qpi.pod.metadata.name} attempts={qpi.attempts}"]
        elif cmd == "fail":
            qpi, cycle = self.popped.pop(names[0])
            qpi.unschedulable_plugins = {kv["plugin"]} if "plugin" in kv else set()
            self.q.add_unschedulable_if_not_present(qpi, cycle)
        elif cmd == "step":
            self.clock.step(float(names[0]))
        elif cmd == "flush":
            self.q.flush_backoff_q_completed()
            self.q.flush_unschedulable_pods_left_over()
        elif cmd == "move":
            labels = dict([kv["label"].split("=", 1)]) if "label" in kv else {}
            self.q.move_all_to_active_or_backoff_queue(*event_objects(names[0], labels))
        elif cmd == "state":
            return self.state()
        else:
            raise ValueError(f"unknown command {cmd!r}")
        return []

    def state(self) -> list[str]:
        def names(items):
            return " ".join(sorted(q.pod.metadata.name for q in items)) or "-"

        q = self.q
        return [
            f"t={self.clock():g}",
            f"activeQ: {names(q.active_q.items())}",
            f"backoffQ: {names(q.backoff_q.items())}",
            f"unschedulable: {names(q.unschedulable_pods.values())}",
        ]


def parse(text: str) -> list[tuple[list[str], list[str]]]:
    blocks = []
    for chunk in text.strip().split("\n\n"):
        cmds, _, out = chunk.partition("----\n")
        blocks.append((cmds.strip().splitlines(), out.strip("\n").splitlines() if out else []))
    return blocks


def test_queue_transcript():
    d = Driver()
    blocks = parse(DATA.read_text())
    got_blocks, mismatches = [], []
    for cmds, want in blocks:
        got = [line for c in cmds if not c.startswith("#") for line in d.run(c)]
        got_blocks.append("\n".join(cmds) + "\n----\n" + "\n".join(got))
        if got != want:
            mismatches.append((cmds, want, got))
    if os.environ.get("MINISCHEDULER_REWRITE") == "1":
        DATA.write_text("\n\n".join(got_blocks) + "\n")
        return
    assert not mismatches, mismatches
