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
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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

    def run_url(self, pod: str) -> str:
        """The kubelet's /run endpoint for the pod's container (named as the pod)."""
        p = self.get("pod", pod)
        ip = next(
            a["address"]
            for a in self.get("node", p["spec"]["nodeName"])["status"]["addresses"]
            if a["type"] == "InternalIP"
        )
        return f"http://{ip}:10250/run/default/{pod}/{pod}"

    def run_in_pod(self, pod: str, *cmd: str, url: str = "") -> tuple[int, str]:
        """The kubelet's /run endpoint (the role `kubectl exec` has upstream)."""
        query = urllib.parse.urlencode([("cmd", c) for c in cmd])
        req = urllib.request.Request(f"{url or self.run_url(pod)}?{query}", method="POST")
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
    # kubeadm's sa.key: TokenRequest issues tokens the API server accepts (the kubelet's
    # projected kube-api-access volumes depend on it).
    token = cluster.kubectl("create", "token", "default").strip()
    who = json.loads(cluster.kubectl("auth", "whoami", "--token", token, "-o", "json"))
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:default"


def test_each_component_runs_as_itself(cluster: Cluster) -> None:
    """kubeadm's per-component kubeconfigs: the kubelet is system:node:<name>, held to its own
    objects by the Node authorizer and NodeRestriction; the others get only their roles."""

    def as_(conf: str, *args: str) -> subprocess.CompletedProcess:
        argv = ["kubectl", "--kubeconfig", str(cluster.root / conf), *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)

    who = json.loads(as_("kubelet-node1.conf", "auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == "system:node:node1"
    assert "system:nodes" in who["status"]["userInfo"]["groups"]
    out = as_("kubelet-node1.conf", "get", "secrets", "-n", "kube-system")
    want = (
        'User "system:node:node1" cannot list resource "secrets" in API group "" in the '
        'namespace "kube-system": No Object name found'
    )
    assert out.returncode != 0 and want in out.stderr, out.stderr
    out = as_("kubelet-node1.conf", "label", "node", "node2", "e2e-owner=node1")
    assert 'node "node1" is not allowed to modify node "node2"' in out.stderr, out.stderr
    for conf, question, allowed in [
        ("scheduler.conf", ["create", "pods", "--subresource=binding"], "yes"),
        ("scheduler.conf", ["delete", "nodes"], "no"),
        ("controller-manager.conf", ["create", "pods"], "no"),  # its controllers do, as SAs
        ("kube-proxy.conf", ["watch", "endpointslices.discovery.k8s.io"], "yes"),
        ("kube-proxy.conf", ["get", "secrets"], "no"),
    ]:
        assert as_(conf, "auth", "can-i", *question).stdout.strip() == allowed, (conf, question)
    # --use-service-account-credentials: the controllers' ServiceAccounts were created.
    assert cluster.get("serviceaccount", "replicaset-controller", "-n", "kube-system")


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


# -- the workload's life: a pod killed, a scale-up, a rolling update, a drain -------------
# Each test acts on both clusters at once (their waits overlap), after the API-server test.


def _on_both(clusters: dict[str, Cluster], step: Callable[[Cluster], None]) -> None:
    with ThreadPoolExecutor(len(clusters)) as pool:
        for f in [pool.submit(step, c) for c in clusters.values()]:
            f.result()


class ClientLoop:
    """wget the Service by name from the client pod, back to back, until stopped.

    One /run call may last at most 60 s (the kubelet's exec cap), so the loop runs in
    chunks of CHUNK seconds; stop() touches a file that ends the running chunk."""

    CHUNK = 15

    def __init__(self, c: Cluster, url: str = "http://web/") -> None:
        self.c = c
        self.answers: list[str] = []
        self.errors: list[str] = []
        stop = f"/tmp/stop-{uuid.uuid4().hex[:8]}"
        self.stop_file, self.stopping = stop, threading.Event()
        self.script = (
            f"end=$(($(date +%s)+{self.CHUNK})); while [ ! -e {stop} ] && "
            f"[ $(date +%s) -lt $end ]; do timeout 5 wget -q -O- {url} || echo FAIL; "
            "sleep 0.1; done"
        )
        self.run_url = c.run_url("client")
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ClientLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.c.run_in_pod("client", "touch", self.stop_file, url=self.run_url)
        self.thread.join(60)
        assert not self.thread.is_alive(), f"{self.c.name}: the client loop did not stop"

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                code, body = self.c.run_in_pod("client", "sh", "-c", self.script, url=self.run_url)
            except OSError as err:  # the kubelet did not answer: count it, keep asking
                self.errors.append(f"/run: {err!r}")
                time.sleep(0.5)
                continue
            if code != 200:
                self.errors.append(f"/run answered {code}: {body[-300:]}")
            self.answers += [line.strip() for line in body.splitlines() if line.strip()]

    def check(self) -> list[str]:
        """The pods that answered; fails on any failed request."""
        failed = self.answers.count("FAIL")
        summary = f"{self.c.name}: {len(self.answers)} requests, {failed} failed"
        assert self.answers and not failed and not self.errors, (summary, self.errors, self.answers)
        return [a.split()[-1] for a in self.answers]


def _replicas(c: Cluster) -> int:
    return int(c.get("deployment", "web")["spec"]["replicas"])


def _web_pods(c: Cluster, terminating: bool = False) -> list[dict]:
    pods = c.get("pods", "-l", "app=web")["items"]
    return [p for p in pods if terminating or not p["metadata"].get("deletionTimestamp")]


def _ready(pod: dict) -> bool:
    conds = pod.get("status", {}).get("conditions") or []
    return any(x["type"] == "Ready" and x["status"] == "True" for x in conds)


def _settled(c: Cluster, count: int, gone: frozenset[str] | set[str] = frozenset()) -> list[dict]:
    """count Ready web pods, no other, and none of `gone` left (not even terminating)."""

    def check() -> list[dict]:
        every = _web_pods(c, terminating=True)
        live = [p for p in every if not p["metadata"].get("deletionTimestamp")]
        left = gone & {p["metadata"]["name"] for p in every}
        return live if len(live) == count and all(map(_ready, live)) and not left else []

    return wait_for(f"{count} Ready web pods, without {sorted(gone)}", check, 120, c)


def _names(pods: list[dict]) -> set[str]:
    return {p["metadata"]["name"] for p in pods}


def test_a_killed_pod_is_replaced_and_the_service_keeps_answering(
    clusters: dict[str, Cluster],
) -> None:
    def step(c: Cluster) -> None:
        before = _names(_settled(c, _replicas(c)))
        victim = sorted(before)[0]
        with ClientLoop(c) as loop:
            c.kubectl("delete", "pod", victim, "--wait=false")
            after = _names(_settled(c, len(before), gone={victim}))
        assert after - before and victim not in after, (c.name, before, after)
        loop.check()

    _on_both(clusters, step)


def test_a_rolling_update_loses_no_request(clusters: dict[str, Cluster]) -> None:
    """`kubectl set image` on one cluster, `kubectl rollout restart` on the other."""

    def step(c: Cluster) -> None:
        old = _names(_settled(c, _replicas(c)))
        restart = "--processes" in c.flags
        change = (["rollout", "restart"] if restart else ["set", "image"]) + ["deployment/web"]
        with ClientLoop(c) as loop:
            c.kubectl(*change, *([] if restart else ["httpd=busybox:1.36"]))
            c.kubectl("rollout", "status", "deployment/web", "--timeout=120s", timeout=130)
            # The old pods' preStop windows end inside the loop too.
            pods = _settled(c, len(old), gone=old)
        for p in pods:
            changed = (
                "kubectl.kubernetes.io/restartedAt" in p["metadata"].get("annotations", {})
                if restart
                else p["spec"]["containers"][0]["image"] == "busybox:1.36"
            )
            assert changed, (c.name, p["metadata"]["name"])
        served = set(loop.check())
        assert served & _names(pods) and served & old, (c.name, served)

    _on_both(clusters, step)


def test_scaling_up_adds_a_pod_that_the_service_reaches(clusters: dict[str, Cluster]) -> None:
    def step(c: Cluster) -> None:
        before = _names(_settled(c, _replicas(c)))
        c.kubectl("scale", "deployment/web", f"--replicas={len(before) + 1}")
        (new,) = _names(_settled(c, len(before) + 1)) - before
        seen: set[str] = set()
        for _ in range(6):  # kube-proxy picks at random: ask until the new pod answered
            seen |= set(_answers(c, "http://web/", 10))
            if new in seen:
                break
        assert new in seen and "FAIL" not in seen, (c.name, new, seen)

    _on_both(clusters, step)


def test_a_drained_node_hands_its_pods_to_the_other(clusters: dict[str, Cluster]) -> None:
    """Real `kubectl drain`: cordon, then the eviction subresource for each pod."""

    def step(c: Cluster) -> None:
        before = _settled(c, _replicas(c))
        # The bare client pod has no controller: drain (without --force) would refuse it.
        keep = c.get("pod", "client")["spec"]["nodeName"]
        node = ({"node1", "node2"} - {keep}).pop()
        moved = {p["metadata"]["name"] for p in before if p["spec"]["nodeName"] == node}
        assert moved, f"{c.name}: no web pod on {node} to drain\n{_describe(c)}"
        with ClientLoop(c) as loop:
            c.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                      "--timeout=120s", timeout=130)  # fmt: skip
            pods = _settled(c, len(before), gone=moved)
        assert {p["spec"]["nodeName"] for p in pods} == {keep}, (c.name, pods)
        assert c.get("node", node)["spec"].get("unschedulable") is True
        loop.check()
        answers = _answers(c, "http://web/", 6)
        assert "FAIL" not in answers and set(answers) <= _names(pods), (c.name, answers)
        c.kubectl("uncordon", node)
        assert not c.get("node", node)["spec"].get("unschedulable")

    _on_both(clusters, step)


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
