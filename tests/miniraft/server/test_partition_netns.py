"""Partitions on real member processes: every member in its own network namespace.

Three miniraft members and the clients each live in a network namespace of
their own, cabled by veth pairs to a bridge in a fifth ("switch") namespace,
with addresses of a private range that exists only inside those namespaces.
The workload (partition_workload.py, run in the clients' namespace) isolates
the leader by taking its bridge port down while clients do puts, gets and
compare-and-set, then heals it: the majority must elect a new leader and keep
acknowledging writes, no acknowledged write may be lost, the history must be
linearizable and HashKV must agree on all members. Every namespace (and with
it the bridge and veths) and every process is removed even on failure.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from miniraft.server.procs import ProcCluster

pytestmark = [pytest.mark.root, pytest.mark.kernel("netns"), pytest.mark.tool("ip")]

WORKLOAD = Path(__file__).with_name("partition_workload.py")
SUBNET = "10.213.7"  # only ever configured inside the test's own namespaces


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


class Fabric:
    """The namespaces, the bridge and one veth pair per namespace."""

    def __init__(self, members: int) -> None:
        tag = f"mr{os.getpid()}{secrets.token_hex(2)}"
        self.switch = f"{tag}sw"
        self.members = [f"{tag}m{i}" for i in range(members)]
        self.clients = f"{tag}c"
        self.created: list[str] = []

    @property
    def hosts(self) -> list[str]:
        return [f"{SUBNET}.{i + 1}" for i in range(len(self.members))]

    def up(self) -> None:
        for ns in (self.switch, *self.members, self.clients):
            ip("netns", "add", ns)
            self.created.append(ns)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        for i, ns in enumerate([*self.members, self.clients]):
            # port vI in the switch netns, eth0 in the member's: `v<i>` is what a cut takes down
            ip(
                "-n",
                self.switch,
                "link",
                "add",
                f"v{i}",
                "type",
                "veth",
                "peer",
                "eth0",
                "netns",
                ns,
            )
            ip("-n", self.switch, "link", "set", f"v{i}", "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{SUBNET}.{i + 1}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")

    def down(self) -> None:
        for ns in reversed(self.created):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created.clear()


def test_isolated_leader_is_replaced_and_catches_up_after_heal() -> None:
    fabric = Fabric(3)
    c = None
    try:
        fabric.up()
        c = ProcCluster(3, netns=fabric.members, hosts=fabric.hosts).start()
        r = subprocess.run(
            ["ip", "netns", "exec", fabric.clients, sys.executable, str(WORKLOAD)]
            + [fabric.switch]
            + [m.endpoint for m in c.members],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3])),
        )
        assert r.returncode == 0, r.stderr[-3000:]
        got = json.loads(r.stdout)
        assert got["new_leader"] not in (-1, got["old_leader"]), got
        assert got["acked_while_cut"] > 0, got  # the majority side kept committing
        assert got["acked"] > 20 and got["history"] > 20, got
        assert got["lost"] == [], got
        assert got["linearizable"], got
        assert got["hashes"] == 1, got
    finally:
        if c is not None:
            c.stop()
        fabric.down()
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [ns for ns in (fabric.switch, *fabric.members, fabric.clients) if ns in left]
