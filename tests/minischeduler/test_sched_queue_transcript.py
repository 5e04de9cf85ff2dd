"""Datadriven transcript of the scheduling queue (testdata/queue.txt).

Each block is `command args` lines, `----`, then the queue's answer: pops print the pod,
`state` prints the three queues. Rewrite the expected output after an intended change
with `MINISCHEDULER_REWRITE=1 .venv/bin/pytest tests/minischeduler -k transcript`.
Commands: add NAME [prio=N]; pop; fail NAME [plugin=P] (back as unschedulable, the
cycle it was popped in); step SECONDS; flush (backoffQ and leftover unschedulable);
move EVENT (a cluster event by label); state.
"""

from __future__ import annotations

import os
from pathlib import Path

from minischeduler.inprocess import FakeClock
from minischeduler.internal import events
from minischeduler.internal.queue import PriorityQueue
from minischeduler.plugins.simple import PrioritySort
from minischeduler.testing import make_pod

DATA = Path(__file__).parent / "testdata" / "queue.txt"
EVENTS = {
    "NodeAdd": events.NODE_ADD,
    "NodeTaintChange": events.NODE_TAINT_CHANGE,
    "NodeLabelChange": events.NODE_LABEL_CHANGE,
    "AssignedPodDelete": events.ASSIGNED_POD_DELETE,
}


class Driver:
    def __init__(self) -> None:
        self.clock = FakeClock(0.0)
        self.q = PriorityQueue(PrioritySort().less, self.clock)
        self.popped: dict[str, tuple] = {}

    def run(self, line: str) -> list[str]:
        cmd, *args = line.split()
        kv = dict(a.split("=", 1) for a in args if "=" in a)
        names = [a for a in args if "=" not in a]
        if cmd == "add":
            self.q.add(make_pod(names[0], priority=int(kv.get("prio", 0))))
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
            self.q.move_all_to_active_or_backoff_queue(EVENTS[names[0]])
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
