"""`up` two-node clusters, serve a Deployment through a Service, `down` leaves nothing.

Two clusters come up side by side (which also checks that their names and subnets do not
collide): the default one (control plane embedded in one process, pods under
minicontainer) and one with `--processes --runtime runc`, whose API server is killed and
comes back. Real everything: network namespaces, the host bridge, minikubelet, kube-proxy's
iptables rules in each node namespace, the cluster DNS, and kubectl as the client.
Requests go from a client pod through the kubelet's /run endpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from minicluster import state

REPO = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.root,
    pytest.mark.kernel("netns", "overlay", "cgroup"),
    pytest.mark.tool("kubectl", "iptables", "nsenter", "ip", "runc"),
]


class Cluster:
    def __init__(self, data_dir: Path, name: str, flags: list[str]) -> None:
        self.data_dir, self.name, self.flags = data_dir, name, flags
        self.root = data_dir / name

    def popen(self, *args: str) -> subprocess.Popen:
        argv = [sys.executable, "-m", "minicluster", *args, "--name", self.name,
                "--data-dir", str(self.data_dir)]  # fmt: skip
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=REPO)  # fmt: skip

    def state(self) -> state.State:
        st = state.load(str(self.data_dir), self.name)
        assert st is not None
        return st

    @property
    def kubeconfig(self) -> str:
        return str(self.data_dir / "kubeconfig")

    def kubectl(self, *args: str, timeout: float = 60) -> str:
        out = subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args],
                             capture_output=True, text=True, timeout=timeout)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout

    def get(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def run_in_pod(self, pod: str, *cmd: str) -> tuple[int, str]:
        """The kubelet's /run endpoint (the role `kubectl exec` has upstream)."""
        p = self.get("pod", pod)
        ip = next(
            a["address"]
            for a in self.get("node", p["spec"]["nodeName"])["status"]["addresses"]
            if a["type"] == "InternalIP"
        )
        query = urllib.parse.urlencode([("cmd", c) for c in cmd])
        req = urllib.request.Request(f"http://{ip}:10250/run/default/{pod}/{pod}?{query}",
                                     method="POST")  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()


def wait_for(what: str, check, timeout: float = 90.0, c: Cluster | None = None):  # type: ignore[no-untyped-def]
    """Poll check() until it is truthy; on time-out say what the cluster looked like."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{_describe(c)}")
        time.sleep(0.5)


def _describe(c: Cluster | None) -> str:
    if c is None:
        return ""
    out = subprocess.run(["kubectl", "--kubeconfig", c.kubeconfig, "get", "nodes,pods", "-A",
                          "-o", "wide"], capture_output=True, text=True, timeout=30)  # fmt: skip
    logs = sorted((c.root / "logs").glob("*.log"))
    tails = [f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-5:])
             for p in logs]  # fmt: skip
    return out.stdout + out.stderr + "\n".join(tails)


MODES = {"embedded": [], "processes": ["--processes", "--runtime", "runc"]}


def _finish(procs: dict[str, subprocess.Popen], timeout: float) -> dict[str, tuple[int, str]]:
    out = {}
    for k, p in procs.items():
        text, _ = p.communicate(timeout=timeout)
        out[k] = (p.returncode, text)
    return out


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Cluster]]:
    base, tag = tmp_path_factory.mktemp("minicluster"), os.getpid() % 100000
    cs = {m: Cluster(base / m, f"{m[0]}{tag}", f) for m, f in MODES.items()}
    try:
        ups = _finish({m: c.popen("up", "--nodes", "2", *c.flags) for m, c in cs.items()}, 300)
        for m, (code, text) in ups.items():
            assert code == 0, text
            assert f"export KUBECONFIG={cs[m].kubeconfig}" in text
        for c in cs.values():
            c.kubectl("apply", "-f", str(REPO / "examples" / "demo"))
        yield cs
    finally:
        _finish({m: c.popen("down") for m, c in cs.items()}, 120)


@pytest.fixture(params=list(MODES))
def cluster(request: pytest.FixtureRequest, clusters: dict[str, Cluster]) -> Cluster:
    return clusters[request.param]


def test_nodes_are_ready_with_their_pod_cidrs(cluster: Cluster) -> None:
    nodes = cluster.get("nodes")["items"]
    ready = {
        n["metadata"]["name"]: n["spec"].get("podCIDR")
        for n in nodes
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
    }
    assert set(ready) == {"node1", "node2"}
    st = cluster.state()
    assert st.ready and state.pid_alive(st.supervisor_pid)
    assert ready["node1"] != ready["node2"]


def _answers(cluster: Cluster, url: str, tries: int) -> list[str]:
    """The pod names that answered `tries` wgets from the client pod (one exec for all)."""
    loop = f"for i in $(seq {tries}); do timeout 5 wget -q -O- {url} || echo FAIL; done"
    code, body = cluster.run_in_pod("client", "sh", "-c", loop)
    assert code == 200, body
    return [line.split()[-1] for line in body.splitlines() if line.strip()]  # "v1 <hostname>"


def test_service_reaches_pods_on_both_nodes(cluster: Cluster) -> None:
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=120s", timeout=130)
    wait_for("client Ready", c=cluster, check=lambda: "True" in cluster.kubectl(
        "get", "pod", "client", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"))  # fmt: skip
    pods = cluster.get("pods", "-l", "app=web")["items"]
    node_of = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pods}
    assert len(node_of) == 3
    svc = cluster.get("service", "web")
    urls = [f"http://{svc['spec']['clusterIP']}/"]
    if cluster.state().dns:
        urls.append("http://web.default.svc.cluster.local/")
    for url in urls:
        seen: set[str] = set()
        for _ in range(4):  # random endpoint choice: ask until both nodes answered
            answers = _answers(cluster, url, 10)
            assert "FAIL" not in answers, (url, answers)
            seen |= {node_of[h] for h in answers}
            if {"node1", "node2"} <= seen:
                break
        assert {"node1", "node2"} <= seen, (url, seen)


def test_cluster_dns_answers_from_a_pod(cluster: Cluster) -> None:
    assert cluster.state().dns, "the cluster DNS (minicluster/dns) did not start"
    code, out = cluster.run_in_pod("client", "nslookup", "kube-dns.kube-system.svc.cluster.local")
    assert code == 200 and "10.96.0.10" in out, out
    code, out = cluster.run_in_pod("client", "cat", "/etc/resolv.conf")
    assert "nameserver 10.96.0.10" in out and "ndots:5" in out, out


def test_killed_apiserver_comes_back_and_nothing_duplicates(clusters: dict[str, Cluster]) -> None:
    c = clusters["processes"]  # its web pods are Ready: the Service test ran first
    old = c.state().pids["kube-apiserver"]
    os.kill(old, signal.SIGKILL)
    wait_for("a new kube-apiserver", lambda: c.state().pids["kube-apiserver"] != old, 60, c)
    wait_for("the API server to answer", lambda: _answers_api(c), 60, c)
    # Workloads kept serving; controllers, scheduler and kubelets reconnected.
    assert _answers(c, "http://web.default.svc.cluster.local/", 3)
    c.kubectl("scale", "deployment/web", "--replicas=4")

    def scheduled() -> list[dict]:
        pods = [p for p in c.get("pods", "-l", "app=web")["items"]
                if not p["metadata"].get("deletionTimestamp")]  # fmt: skip
        return pods if len(pods) >= 4 and all(p["spec"].get("nodeName") for p in pods) else []

    # The controllers made the pod and the scheduler bound it: both watch again.
    pods = wait_for("a fourth pod, scheduled", scheduled, 60, c)
    time.sleep(2)  # a duplicate would come from a controller acting twice on the scale-up
    assert len(scheduled()) == 4 and len(pods) == 4
    assert len(c.get("replicasets")["items"]) == 1


def _answers_api(c: Cluster) -> bool:
    out = subprocess.run(["kubectl", "--kubeconfig", c.kubeconfig, "get", "--raw", "/readyz"],
                         capture_output=True, text=True, timeout=30)  # fmt: skip
    return out.stdout.strip() == "ok"


def _leftovers(c: Cluster, before: dict) -> list[str]:
    """Everything `up` made that is still here (empty after a good `down`)."""
    out = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    out += [f"netns {n}" for n in [f"{c.name}-node", *before["pod_netns"]] if n in netns]
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    out += [f"link/route {c.name}" for text in (links, routes) if c.name in text]
    out += [f"pid {p}" for p in before["pids"] if state.pid_alive(p)]
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    out += ["process"] if f"{c.root}/" in procs else []
    out += ["mount"] if str(c.root) in Path("/proc/self/mountinfo").read_text() else []
    out += [str(p) for u in before["uids"] for p in Path("/sys/fs/cgroup").glob(f"*/*/pod{u}")]
    out += [str(p) for p in (c.root, Path(c.kubeconfig)) if p.exists()]
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    out += ["host iptables rule"] if c.name in rules else []
    return out


def test_down_leaves_nothing_even_after_a_crash(clusters: dict[str, Cluster]) -> None:
    """The embedded cluster's supervisor is SIGKILLed first: down works from what is left."""
    before = {}
    for m, c in clusters.items():
        boxes = [json.loads(b.read_text()) for b in c.root.glob("nodes/*/sandboxes/*/sandbox.json")]
        assert boxes, "the pods' sandboxes should exist before down"
        st = c.state()
        before[m] = {
            "pod_netns": [Path(b["netns"]).name for b in boxes],
            "uids": [b["config"]["uid"] for b in boxes],
            "pids": [st.supervisor_pid, *st.pids.values()],
        }
    os.kill(clusters["embedded"].state().supervisor_pid, signal.SIGKILL)
    downs = _finish({m: c.popen("down") for m, c in clusters.items()}, 120)
    for m, c in clusters.items():
        assert downs[m][0] == 0, downs[m][1]
        assert _leftovers(c, before[m]) == [], m
