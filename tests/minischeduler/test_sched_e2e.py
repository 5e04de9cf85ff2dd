"""End to end: kubectl creates nodes and pods on miniapiserver (over a real etcd 3.4);
`python -m minischeduler --kubeconfig` binds them through pods/binding, writes the
Scheduled / FailedScheduling events and the PodScheduled condition, and preempts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.tool("etcd", "kubectl")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = proc.stdout.readline()
        if marker in line:
            return line
        if (not line and proc.poll() is not None) or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args[:3]} did not print {marker!r}")


class Cluster:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix=f"minischeduler-e2e-{os.getpid()}-")
        client, peer = _free_port(), _free_port()
        url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        log = open(os.path.join(self.dir, "etcd.log"), "ab")  # noqa: SIM115 - the child keeps it
        self.etcd = subprocess.Popen(
            ["etcd", "--name", "s", "--data-dir", os.path.join(self.dir, "etcd"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
             "--initial-cluster", f"s={peer_url}", "--log-level", "error"],
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        self.procs = [self.etcd]
        self.apiserver = subprocess.Popen(
            [sys.executable, "-m", "miniapiserver", "--etcd-servers", url,
             "--secure-port", "0", "--data-dir", self.dir],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        self.procs.append(self.apiserver)
        _read_until(self.apiserver, "serving on", 90)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.sched = subprocess.Popen(
            [sys.executable, "-m", "minischeduler", "--kubeconfig", self.kubeconfig,
             "--debug-port", "0", "--seed", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        self.procs.append(self.sched)
        line = _read_until(self.sched, "debug endpoint on", 60)
        self.debug = line.split("debug endpoint on ")[1].strip()
        _read_until(self.sched, "minischeduler: scheduling", 60)

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        r = subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    def close(self) -> None:
        for p in reversed(self.procs):
            _stop(p)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        yield c
    finally:
        c.close()


def node(name: str, cpu: str, taint: bool = False) -> str:
    spec = ', "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}'
    return (
        f'{{"apiVersion": "v1", "kind": "Node", "metadata": {{"name": "{name}", '
        f'"labels": {{"kubernetes.io/hostname": "{name}"}}}}{spec if taint else ""}}}'
    )


def priority_class(name: str, value: int) -> str:
    return json.dumps(
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": value,
        }
    )


def pod(name: str, cpu: str, priority_class_name: str | None = None) -> str:
    # The Priority admission plugin resolves spec.priority from the class, as upstream's.
    prio = f', "priorityClassName": "{priority_class_name}"' if priority_class_name else ""
    return json.dumps(
        json.loads(
            f'{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}", '
            f'"namespace": "default"}}, "spec": {{"containers": [{{"name": "c", "image": "pause", '
            f'"resources": {{"requests": {{"cpu": "{cpu}"}}}}}}]{prio}}}}}'
        )
    )


def wait_for(fn, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def add_node(c: Cluster, name: str, cpu: str, taint: bool = False) -> None:
    c.kubectl("apply", "-f", "-", stdin=node(name, cpu, taint))
    status = {
        "status": {
            "allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
            "capacity": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
        }
    }
    c.kubectl(
        "patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(status)
    )


def node_of(c: Cluster, name: str) -> str:
    return c.kubectl("get", "pod", name, "-o", "jsonpath={.spec.nodeName}").strip()


def events_of(c: Cluster, name: str) -> list[dict]:
    out = json.loads(c.kubectl("get", "events", "-o", "json"))
    return [e for e in out["items"] if e["involvedObject"]["name"] == name]


def test_schedule_fail_and_preempt(cluster):
    c = cluster
    for i in range(2):
        add_node(c, f"n{i}", "2")
    for i in range(2, 5):
        add_node(c, f"n{i}", "2", taint=True)
    c.kubectl("apply", "-f", "-", stdin=pod("web", "1"))
    assert wait_for(lambda: node_of(c, "web")) in ("n0", "n1")
    ev = wait_for(lambda: [e for e in events_of(c, "web") if e["reason"] == "Scheduled"])
    assert ev[0]["message"].startswith("Successfully assigned default/web to n")

    c.kubectl("apply", "-f", "-", stdin=pod("huge", "3"))
    ev = wait_for(lambda: [e for e in events_of(c, "huge") if e["reason"] == "FailedScheduling"])
    assert ev[0]["type"] == "Warning"
    assert ev[0]["message"] == (
        "0/5 nodes are available: 2 Insufficient cpu, "
        "3 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/5 nodes are "
        "available: 2 No preemption victims found for incoming pod, "
        "3 Preemption is not helpful for scheduling.."
    )
    cond = json.loads(c.kubectl("get", "pod", "huge", "-o", "jsonpath={.status.conditions}"))
    assert cond[0]["type"] == "PodScheduled" and cond[0]["status"] == "False"
    assert cond[0]["reason"] == "Unschedulable"

    # Preemption: fill both schedulable nodes with low-priority pods, then a high one.
    c.kubectl("delete", "pod", "huge", "--wait=false")
    c.kubectl("apply", "-f", "-", stdin=priority_class("low", 1))
    c.kubectl("apply", "-f", "-", stdin=priority_class("high", 100))
    for name in ("low-a", "low-b", "low-c"):
        c.kubectl("apply", "-f", "-", stdin=pod(name, "1", "low"))
    wait_for(lambda: all(node_of(c, n) for n in ("low-a", "low-b", "low-c")))
    c.kubectl("apply", "-f", "-", stdin=pod("vip", "2", "high"))
    nominated = wait_for(
        lambda: c.kubectl("get", "pod", "vip", "-o", "jsonpath={.status.nominatedNodeName}").strip()
    )

    # No kubelet here: play its part and finish the victims' graceful deletion.
    def terminating():
        items = json.loads(c.kubectl("get", "pods", "-o", "json"))["items"]
        return [p["metadata"]["name"] for p in items if p["metadata"].get("deletionTimestamp")]

    victims = wait_for(terminating)
    c.kubectl("delete", "pod", *victims, "--grace-period=0", "--force")
    placed = wait_for(lambda: node_of(c, "vip"), timeout=60)
    assert placed == nominated
    pods = c.kubectl("get", "pods", "-o", "name").split()
    assert "pod/vip" in pods
    # The chosen node held 2 of the 1-cpu pods (priority 0 or 1); vip needs both cpus.
    assert len(victims) == 2 and all(f"pod/{v}" not in pods for v in victims)

    body = json.loads(urllib.request.urlopen(f"{c.debug}?pod=default/vip", timeout=10).read())
    assert body["pod"] == "default/vip" and body["winner"] == placed


def test_explain_over_the_live_cluster(cluster):
    """`explain --kubeconfig` replays an attempt over the API server's nodes and pods."""
    c = cluster
    add_node(c, "n5", "2")  # the first test left n0 and n1 full
    c.kubectl("apply", "-f", "-", stdin=pod("probe", "100m"))
    wait_for(lambda: node_of(c, "probe"))
    r = subprocess.run(
        [sys.executable, "-m", "minischeduler", "explain", "--kubeconfig", c.kubeconfig,
         "default/probe"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "REJECTED TaintToleration: node(s) had untolerated taint {dedicated: gpu}" in r.stdout
    assert "winner: n5" in r.stdout


class _Replica:
    """A `--leader-elect` scheduler process whose stdout is collected by a thread."""

    def __init__(self, c: Cluster, config: str, lease: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "minischeduler", "--kubeconfig", c.kubeconfig,
             "--config", config, "--debug-port", "0", "--leader-elect",
             "--leader-elect-lease-duration", "6s", "--leader-elect-renew-deadline", "4s",
             "--leader-elect-retry-period", "500ms", "--leader-elect-resource-name", lease],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        c.procs.append(self.proc)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        line = wait_for(lambda: self._line("debug endpoint on"))
        self.debug = line.split("debug endpoint on ")[1].strip()
        line = wait_for(lambda: self._line("attempting to acquire leader lease as"))
        self.identity = line.rsplit(" ", 1)[1].strip()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def _line(self, marker: str) -> str | None:
        return next((x for x in list(self.lines) if marker in x), None)

    def leads(self) -> bool:
        return self._line("is the leader: scheduling") is not None

    def attempted(self, key: str) -> bool:
        try:
            urllib.request.urlopen(f"{self.debug}?pod={key}", timeout=10).read()
        except urllib.error.HTTPError as e:
            assert e.code == 404
            return False
        return True


def test_leader_election_one_binds_and_a_kill_hands_over(cluster, tmp_path):
    """--leader-elect: only the Lease holder schedules; SIGKILL it and the standby takes over.

    The replicas run a profile named "ha-scheduler" so the fixture's scheduler leaves
    their pods alone.
    """
    c = cluster
    add_node(c, "ha-node", "4")
    config = tmp_path / "ha.yaml"
    config.write_text(
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
        "profiles:\n- schedulerName: ha-scheduler\n"
    )
    lease = f"kube-scheduler-{os.getpid()}"
    a, b = _Replica(c, str(config), lease), _Replica(c, str(config), lease)
    leader = wait_for(lambda: next((r for r in (a, b) if r.leads()), None))
    standby = b if leader is a else a

    def ha_pod(name: str) -> str:
        obj = json.loads(pod(name, "100m"))
        obj["spec"]["schedulerName"] = "ha-scheduler"
        return json.dumps(obj)

    def holder() -> dict:
        return json.loads(c.kubectl("get", "lease", "-n", "kube-system", lease, "-o", "json"))

    assert holder()["spec"]["holderIdentity"] == leader.identity
    c.kubectl("apply", "-f", "-", stdin=ha_pod("ha-1"))
    assert wait_for(lambda: node_of(c, "ha-1")) == "ha-node"
    assert leader.attempted("default/ha-1") and not standby.attempted("default/ha-1")
    assert not standby.leads()

    leader.proc.kill()  # no release: the standby must wait for the lease to lapse
    leader.proc.wait()
    c.kubectl("apply", "-f", "-", stdin=ha_pod("ha-2"))
    assert wait_for(lambda: node_of(c, "ha-2")) == "ha-node"
    assert standby.leads() and standby.attempted("default/ha-2")
    spec = holder()["spec"]
    assert spec["holderIdentity"] == standby.identity
    assert spec["leaseTransitions"] >= 1

    # SIGTERM: the leader gives the lease up on the way out (ReleaseOnCancel).
    standby.proc.terminate()
    assert standby.proc.wait(30) == 0
    assert not holder()["spec"].get("holderIdentity")
