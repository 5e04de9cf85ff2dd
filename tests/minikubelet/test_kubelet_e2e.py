"""End to end: miniapiserver over real etcd, minikubelet as a process, real busybox pods.

The pod is bound by creating it with spec.nodeName set (what a Binding does). Each test
checks the node agent, the pod lifecycle and that nothing is left on the host afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.minikubelet.kubelet_harness import Cluster, KubeletProcess

RUNTIMES = [
    pytest.param("minicontainer", id="minicontainer"),
    pytest.param("runc", marks=pytest.mark.tool("runc"), id="runc"),
]
pytestmark = [
    pytest.mark.root,
    pytest.mark.tool("etcd", "kubectl"),
    pytest.mark.kernel("netns", "overlay", "cgroup"),
]


PATHS = {
    "pod": "/api/v1/namespaces/{ns}/pods/{name}",
    "node": "/api/v1/nodes/{name}",
    "lease": "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}",
}


def get(cluster: Cluster, kind: str, name: str, ns: str = "default") -> dict | None:
    return cluster.get_json(PATHS[kind].format(ns=ns, name=name))


def wait_for(fn, timeout: float = 40.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def create(cluster: Cluster, pod: dict) -> None:
    cluster.kubectl("create", "-f", "-", stdin=json.dumps(pod))


def busybox_pod(name: str, node: str, command: str, **spec) -> dict:
    container = {"name": "main", "image": "busybox", "command": ["sh", "-c", command]}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [container], **spec}}  # fmt: skip


def assert_nothing_left(k: KubeletProcess) -> None:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    sandboxes = os.listdir(os.path.join(k.root, "sandboxes"))
    assert not any(f"mk-{s}" in netns for s in sandboxes)
    assert sandboxes == [] and os.listdir(os.path.join(k.root, "containers")) == []
    with open("/proc/self/mounts") as f:
        assert k.root not in f.read()
    shims = subprocess.run(["pgrep", "-f", f"minikubelet.shim.*{k.root}"], capture_output=True)
    assert shims.stdout == b""


def event_reasons(cluster: Cluster, pod: str, uid: str = "") -> list[str]:
    items = cluster.get_json("/api/v1/namespaces/default/events")["items"]
    return [e["reason"] for e in items if e["involvedObject"]["name"] == pod
            and (not uid or e["involvedObject"]["uid"] == uid)]  # fmt: skip


def kubelet_get(k: KubeletProcess, path: str, method: str = "GET") -> str:
    req = urllib.request.Request(k.url + path, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read().decode()


LIFECYCLE = r"""
trap 'echo TERM >> /host/events; exit 0' TERM
echo "$POD_NAME $MY_NS $POD_IP"
mkdir -p /www && cp /data/order /www/index.html
httpd -p 8080 -h /www
sleep 3; echo ok > /www/ready.html
while true; do sleep 0.2; done
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_pod_lifecycle(cluster: Cluster, runtime: str, tmp_path) -> None:
    k = KubeletProcess(cluster, runtime)
    host = tmp_path / "host"
    host.mkdir()
    try:
        node = wait_for(lambda: get(cluster, "node", k.node), what="node")
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready[0]["status"] == "True" and ready[0]["reason"] == "KubeletReady"
        assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith(runtime)
        assert {"cpu", "memory", "pods"} <= set(node["status"]["allocatable"])
        lease = wait_for(lambda: get(cluster, "lease", k.node, "kube-node-lease"), what="lease")
        assert lease["spec"]["holderIdentity"] == k.node
        assert kubelet_get(k, "/healthz") == "ok"

        mounts = [{"name": "data", "mountPath": "/data"}, {"name": "host", "mountPath": "/host"}]
        env = [{"name": n, "valueFrom": {"fieldRef": {"fieldPath": f}}} for n, f in
               (("POD_NAME", "metadata.name"), ("MY_NS", "metadata.namespace"),
                ("POD_IP", "status.podIP"))]  # fmt: skip
        init = [{"name": f"init{i}", "image": "busybox", "volumeMounts": mounts,
                 "command": ["sh", "-c", f"echo init{i} >> /data/order"]} for i in (1, 2)]  # fmt: skip
        pod = busybox_pod("web", k.node, LIFECYCLE, initContainers=init,
                          terminationGracePeriodSeconds=5,
                          volumes=[{"name": "data", "emptyDir": {}},
                                   {"name": "host", "hostPath": {"path": str(host)}}],
                          container={"env": env, "volumeMounts": mounts,
                                     "readinessProbe": {"httpGet": {"path": "/ready.html", "port": 8080},
                                                        "periodSeconds": 1},
                                     "livenessProbe": {"tcpSocket": {"port": 8080},
                                                       "periodSeconds": 1},
                                     "startupProbe": {"exec": {"command": ["true"]},
                                                      "periodSeconds": 1},
                                     "lifecycle": {"preStop": {"exec": {"command":
                                         ["sh", "-c", "echo preStop >> /host/events"]}}}})  # fmt: skip
        with_service_account_token(pod)
        create(cluster, pod)

        def running_unready():
            p = get(cluster, "pod", "web")
            conds = {c["type"]: c["status"] for c in p["status"].get("conditions", [])}
            return (
                p
                if p["status"].get("phase") == "Running" and conds.get("Ready") == "False"
                else None
            )

        p = wait_for(running_unready, what="Running but not Ready")
        assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Initialized"] == "True"
        p = wait_for(lambda: (q := get(cluster, "pod", "web")) and q["status"]["containerStatuses"][0]["ready"] and q,
                     what="Ready")  # fmt: skip
        assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Ready"] == "True"
        ip = p["status"]["podIP"]
        assert ip and p["status"]["hostIP"] == "127.0.0.1"
        assert [
            s["state"]["terminated"]["reason"] for s in p["status"]["initContainerStatuses"]
        ] == ["Completed"] * 2
        page = urllib.request.urlopen(f"http://{ip}:8080/", timeout=10).read().decode()
        assert page == "init1\ninit2\n"  # init containers ran first, in order
        assert _main(p["status"])["restartCount"] == 0  # the tcpSocket liveness probe passes
        logs = kubelet_get(k, "/containerLogs/default/web/main")
        assert logs.splitlines()[0] == f"web default {ip}"
        assert (
            kubelet_get(k, "/run/default/web/main?cmd=cat+/data/order", "POST") == "init1\ninit2\n"
        )
        check_service_account_token(cluster, k)

        start = time.monotonic()
        cluster.kubectl("delete", "pod", "web", "--wait=false")
        wait_for(lambda: get(cluster, "pod", "web") is None, what="pod gone")
        assert time.monotonic() - start < 5 + 10
        assert (host / "events").read_text().split() == ["preStop", "TERM"]
        reasons = event_reasons(cluster, "web", p["metadata"]["uid"])
        assert {"Pulled", "Created", "Started", "Killing"} <= set(reasons)
        assert reasons.count("Started") == 3  # two init containers and the app container
        assert_nothing_left(k)
    finally:
        k.stop()
        k.cleanup()


SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def with_service_account_token(pod: dict) -> None:
    """The ServiceAccount admission plugin's own mutation: the kube-api-access-* projected
    volume in every container (the harness made the account and kube-root-ca.crt)."""
    import random

    from miniapiserver.admission.plugins.service_account import mount_service_account_token

    pod["spec"]["serviceAccountName"] = "default"
    mount_service_account_token(pod["spec"], random.Random())


def check_service_account_token(cluster: Cluster, k: KubeletProcess) -> None:
    """The kubelet filled the projected volume: a token the API server takes, the CA, the
    namespace, behind the atomic writer's ..data link."""
    ca = Path(cluster.dir, "pki", "ca.crt").read_text()
    files = f"{SA_DIR}/namespace+{SA_DIR}/ca.crt+{SA_DIR}/token"
    out = kubelet_get(k, f"/run/default/web/main?cmd=cat+{files}", "POST")
    assert out.startswith("default" + ca)  # the namespace has no newline; the CA ends in one
    token = out[len("default" + ca) :]
    listing = kubelet_get(k, f"/run/default/web/main?cmd=ls&cmd=-a&cmd={SA_DIR}", "POST")
    assert {"..data", "token", "ca.crt", "namespace"} <= set(listing.split())
    who = json.loads(cluster.kubectl("auth", "whoami", "--token", token, "-o", "json"))
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:default"


def _status(cluster: Cluster, name: str) -> dict:
    p = get(cluster, "pod", name)
    return p["status"] if p else {}


def _main(status: dict) -> dict:
    return (status.get("containerStatuses") or [{}])[0]


@pytest.mark.tool("runc")
def test_restart_policies_probes_oom(cluster: Cluster) -> None:
    """Never + exit 3 -> Failed; Always + exit 1 -> CrashLoopBackOff; a failing liveness
    probe restarts; a memory limit overrun -> OOMKilled. All four pods on one node at once."""
    k = KubeletProcess(cluster, "runc")
    try:
        live = {"livenessProbe": {"exec": {"command": ["test", "-f", "/tmp/alive"]},
                                  "periodSeconds": 1, "failureThreshold": 2}}  # fmt: skip
        oom = {"resources": {"limits": {"memory": "16Mi"}}}
        cluster.kubectl("create", "configmap", "mk-cm", "--from-literal=greeting=hello")
        cluster.kubectl("create", "secret", "generic", "mk-sec", "--from-literal=password=s3cret")
        secret_env = [
            {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "mk-sec", "key": "password"}}}
        ]
        missing_env = [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}
        ]
        cfg = {"env": secret_env, "volumeMounts": [{"name": "cm", "mountPath": "/cfg"}]}
        for pod in (
            busybox_pod("never", k.node, "exit 3", restartPolicy="Never"),
            busybox_pod("crash", k.node, "echo crashing; exit 1"),
            # The liveness kill uses the pod's grace period; sleep ignores SIGTERM as PID 1.
            busybox_pod(
                "live",
                k.node,
                "touch /tmp/alive; sleep 1; rm /tmp/alive; sleep 600",
                container=live,
                terminationGracePeriodSeconds=1,
            ),  # fmt: skip
            busybox_pod("oom", k.node, "tail /dev/zero", restartPolicy="Never", container=oom),
            busybox_pod(
                "cfg",
                k.node,
                "cat /cfg/greeting; echo $PASS",
                restartPolicy="Never",
                container=cfg,
                volumes=[{"name": "cm", "configMap": {"name": "mk-cm"}}],
            ),
            busybox_pod("nocfg", k.node, "true", container={"env": missing_env}),
        ):
            create(cluster, pod)
        never = wait_for(lambda: (s := _status(cluster, "never")).get("phase") == "Failed" and s,
                         what="never Failed")  # fmt: skip
        term = _main(never)["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (3, "Error")
        assert (
            never["conditions"][2]["type"] == "Ready"
            and never["conditions"][2]["status"] == "False"
        )

        crash = wait_for(lambda: (s := _status(cluster, "crash")) and (_main(s).get("state") or {})
                         .get("waiting", {}).get("reason") == "CrashLoopBackOff" and s,
                         what="CrashLoopBackOff")  # fmt: skip
        waiting = _main(crash)["state"]["waiting"]
        assert waiting["message"].startswith("back-off 10s restarting failed container=main")
        assert _main(crash)["lastState"]["terminated"]["exitCode"] == 1
        assert _main(crash)["restartCount"] == 1 and crash["phase"] == "Running"
        logs = kubelet_get(k, "/containerLogs/default/crash/main?previous=true")
        assert logs == "crashing\n"

        lv = wait_for(lambda: (s := _status(cluster, "live")) and _main(s).get("restartCount", 0) >= 1
                      and s, what="liveness restart")  # fmt: skip
        assert _main(lv)["restartCount"] >= 1
        assert "Unhealthy" in event_reasons(cluster, "live")
        assert "BackOff" in event_reasons(cluster, "crash")

        oomed = wait_for(lambda: (s := _status(cluster, "oom")).get("phase") == "Failed" and s,
                         what="oom Failed")  # fmt: skip
        assert _main(oomed)["state"]["terminated"]["reason"] == "OOMKilled"
        assert _main(oomed)["state"]["terminated"]["exitCode"] == 137

        wait_for(lambda: _status(cluster, "cfg").get("phase") == "Succeeded", what="cfg Succeeded")
        assert (
            kubelet_get(k, "/containerLogs/default/cfg/main") == "hellos3cret\n"
        )  # from-literal values have no newline
        nocfg = _main(_status(cluster, "nocfg"))["state"]["waiting"]
        assert nocfg == {
            "reason": "CreateContainerConfigError",
            "message": 'configmap "absent" not found',
        }

        names = ("never", "crash", "live", "oom", "cfg", "nocfg")
        for name in names:
            cluster.kubectl("delete", "pod", name, "--wait=false", "--grace-period=1")
        for name in names:
            wait_for(lambda n=name: get(cluster, "pod", n) is None, what=f"{name} gone")
        assert_nothing_left(k)
    finally:
        k.stop()
        k.cleanup()


def test_restarted_kubelet_adopts_containers(cluster: Cluster) -> None:
    """SIGKILL the kubelet: the container keeps running; a new kubelet adopts it."""
    k = KubeletProcess(cluster, "minicontainer")
    try:
        create(cluster, busybox_pod("adopt", k.node, "sleep 600", terminationGracePeriodSeconds=1))
        s = wait_for(lambda: (s := _status(cluster, "adopt")).get("phase") == "Running" and s,
                     what="Running")  # fmt: skip
        cid = _main(s)["containerID"]
        k.kill()
        time.sleep(1)
        assert subprocess.run(["pgrep", "-f", f"minikubelet.shim.*{k.root}"],
                              capture_output=True).stdout  # fmt: skip
        k.start()
        time.sleep(3)
        s = _status(cluster, "adopt")
        assert _main(s)["containerID"] == cid and _main(s)["restartCount"] == 0
        assert len(os.listdir(os.path.join(k.root, "containers"))) == 1
        cluster.kubectl("delete", "pod", "adopt", "--wait=false")
        wait_for(lambda: get(cluster, "pod", "adopt") is None, what="adopt gone")
        assert_nothing_left(k)
    finally:
        k.stop()
        k.cleanup()


def test_hollow_nodes(cluster: Cluster) -> None:
    """--hollow --hollow-nodes 3: three Nodes and Leases from one process; pods Running and
    Ready with a fake IP and no containers; deletion completes."""
    k = KubeletProcess(cluster, "minicontainer", hollow=True, nodes=3)
    nodes = [f"{k.node}-{i}" for i in range(3)]
    try:
        for i, node in enumerate(nodes):
            assert wait_for(
                lambda n=node: get(cluster, "lease", n, "kube-node-lease"), what="lease"
            )
            create(
                cluster,
                busybox_pod(f"hollow-{i}", node, "sleep 1", terminationGracePeriodSeconds=1),
            )
        for i in range(3):
            s = wait_for(
                lambda i=i: (s := _status(cluster, f"hollow-{i}")).get("phase") == "Running" and s,
                what="hollow Running",
            )
            assert _main(s)["ready"] and s["podIP"].startswith("10.250.")
        assert not os.path.exists(os.path.join(k.root, "sandboxes"))
        cluster.kubectl("delete", "pod", *[f"hollow-{i}" for i in range(3)], "--wait=false")
        for i in range(3):
            wait_for(lambda i=i: get(cluster, "pod", f"hollow-{i}") is None, what="hollow gone")
    finally:
        k.stop()
        k.cleanup()
