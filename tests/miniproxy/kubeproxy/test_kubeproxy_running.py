"""The running mode against a real miniapiserver: objects in, kernel rules out.

`python -m miniapiserver` (embedded store) serves; `python -m miniproxy.kubeproxy
--kubeconfig ... --netns NS` watches it; Services and EndpointSlices are created and
deleted with kubectl (raw paths). The kernel rules in the namespace follow within the min
sync period plus informer latency, and `--cleanup` leaves no kube-proxy table behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [
    pytest.mark.root,
    pytest.mark.kernel("netns"),
    pytest.mark.tool("ip", "nft", "kubectl"),
]
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "clusterIP": "172.30.0.10",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
    },
}
SLICE = {
    "apiVersion": "discovery.k8s.io/v1",
    "kind": "EndpointSlice",
    "metadata": {
        "name": "web-1",
        "namespace": "default",
        "labels": {"kubernetes.io/service-name": "web"},
    },
    "addressType": "IPv4",
    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True}}],
}


def _wait(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def cluster(free_port):
    """An embedded miniapiserver, a network namespace, and the proxy watching them."""
    workdir = tempfile.mkdtemp(prefix=f"kp-running-{os.getpid()}-")
    ns = f"kprun{os.getpid()}{uuid.uuid4().hex[:6]}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        healthz = sock.getsockname()[1]
    log = open(os.path.join(workdir, "apiserver.log"), "w")  # noqa: SIM115 (a pipe could fill up)
    api = subprocess.Popen(
        [sys.executable, "-m", "miniapiserver", "--secure-port", "0", "--data-dir", workdir,
         "--service-cluster-ip-range", "172.30.0.0/16"],
        stdout=log, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip
    procs = [api]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        assert _wait(lambda: "serving on" in Path(log.name).read_text(), 60)
        kubeconfig = os.path.join(workdir, "kubeconfig")
        proxy = subprocess.Popen(
            [sys.executable, "-m", "miniproxy.kubeproxy", "--kubeconfig", kubeconfig, "--hostname-override",
             "node1", "--proxy-mode", "nftables", "--netns", ns, "--iptables-min-sync-period", "100ms",
             "--metrics-bind-address", f"127.0.0.1:{free_port}", "--healthz-bind-address", f"127.0.0.1:{healthz}"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(proxy)
        yield ns, {**os.environ, "KUBECONFIG": kubeconfig}, proxy, free_port, healthz
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()
        subprocess.run(["ip", "netns", "del", ns], check=False)
        subprocess.run(["rm", "-rf", workdir], check=False)


def _kubectl(env, *args: str, body: dict | None = None) -> None:
    stdin = json.dumps(body) if body else None
    argv = ["kubectl", *args] + (["-f", "-"] if body else [])
    out = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr


def _table(ns: str) -> str:
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "kube-proxy"],
        capture_output=True,
        text=True,
    )
    return out.stdout


def test_objects_drive_the_kernel_rules(cluster):
    ns, env, proxy, metrics_port, healthz_port = cluster
    _kubectl(env, "create", "--raw", "/api/v1/namespaces/default/services", body=SERVICE)
    _kubectl(
        env,
        "create",
        "--raw",
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        body=SLICE,
    )
    assert _wait(lambda: "dnat to 10.244.1.5:8080" in _table(ns)), _table(ns)
    assert "172.30.0.10 . tcp . 80 : goto service-" in _table(ns)
    _kubectl(
        env, "delete", "--raw", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-1"
    )
    assert _wait(
        lambda: "172.30.0.10 . tcp . 80" in _table(ns) and "goto reject-chain" in _table(ns)
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    assert "kubeproxy_sync_proxy_rules_duration_seconds_count" in text
    assert "kubeproxy_sync_partial_proxy_rules_duration_seconds_count" in text
    with urllib.request.urlopen(f"http://127.0.0.1:{healthz_port}/healthz", timeout=10) as r:
        assert r.status == 200 and json.loads(r.read())["lastUpdated"].endswith("Z")
    proxy.terminate()
    proxy.wait(15)
    cmd = [sys.executable, "-m", "miniproxy.kubeproxy", "--cleanup", "--netns", ns]
    assert subprocess.run(cmd, cwd=ROOT).returncode == 0
    assert _table(ns) == ""
