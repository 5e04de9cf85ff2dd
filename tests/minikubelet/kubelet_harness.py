"""Test harness for minikubelet: a real etcd, miniapiserver over it, and kubelets as processes.

Each kubelet gets its own root dir, node name, bridge and pod CIDR, so two runs on the
same machine never meet; teardown removes the bridge and checks nothing is left.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("port did not open")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Cluster:
    """etcd + miniapiserver; `kubectl` runs against it."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix=f"minikubelet-{os.getpid()}-")
        client, peer = free_port(), free_port()
        url = f"http://127.0.0.1:{client}"
        log = open(os.path.join(self.dir, "etcd.log"), "ab")  # noqa: SIM115 - the child keeps it
        self.etcd = subprocess.Popen(
            ["etcd", "--name", "t", "--data-dir", os.path.join(self.dir, "etcd"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"t=http://127.0.0.1:{peer}", "--log-level", "error"],
            stdout=log, stderr=log,
        )  # fmt: skip
        try:
            _wait_port(client, self.etcd)
            self._start_api(url)
        except BaseException:
            _stop(self.etcd)  # the fixture's teardown never runs when setup fails
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self._service_account_prerequisites()

    def _service_account_prerequisites(self) -> None:
        """What the serviceaccounts controller and the root-CA publisher give a namespace:
        the `default` account and kube-root-ca.crt, so pods carrying the ServiceAccount
        admission's kube-api-access volume can start (no controller manager runs here)."""
        ca = Path(self.dir, "pki", "ca.crt").read_text()
        items = [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"},
             "data": {"ca.crt": ca}},
        ]  # fmt: skip
        # `create` tolerates the account the ServiceAccounts admission path may have made.
        self.kubectl("create", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                             "items": items}), check=False)  # fmt: skip
        assert self.get_json("/api/v1/namespaces/default/configmaps/kube-root-ca.crt")

    def _start_api(self, url: str) -> None:
        self.api = subprocess.Popen(
            [sys.executable, "-m", "miniapiserver", "--etcd-servers", url, "--secure-port", "0",
             "--data-dir", self.dir],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        line = ""
        while "serving on" not in line:
            line = self.api.stdout.readline()
            if not line and self.api.poll() is not None:
                raise RuntimeError("miniapiserver exited before serving")

    def get_json(self, path: str) -> dict | None:
        """GET an API path straight over HTTPS (cheaper than a kubectl process per poll)."""
        from miniclient.kubeconfig import load_kubeconfig

        cfg = load_kubeconfig(self.kubeconfig)
        req = urllib.request.Request(cfg.host + path,
                                     headers={"Authorization": f"Bearer {cfg.bearer_token}"})  # fmt: skip
        try:
            with urllib.request.urlopen(req, context=cfg.ssl_context(), timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        out = subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args], input=stdin,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {out.stderr}")
        return out.stdout

    def stop(self) -> None:
        _stop(self.api)
        _stop(self.etcd)
        shutil.rmtree(self.dir, ignore_errors=True)


class KubeletProcess:
    """`python -m minikubelet` for one node; start/kill/restart keep the same root dir."""

    def __init__(
        self, cluster: Cluster, runtime: str, hollow: bool = False, nodes: int = 1,
        extra: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.cluster, self.runtime, self.hollow, self.nodes = cluster, runtime, hollow, nodes
        self.extra = list(extra)
        suffix = f"{os.getpid() % 10000}{random.randint(100, 999)}"
        self.node = f"node-{runtime}-{suffix}"
        self.root = tempfile.mkdtemp(prefix=f"minikubelet-root-{suffix}-")
        self.bridge = f"mkt{suffix}"
        self.cidr = f"10.{random.randint(100, 199)}.{random.randint(0, 255)}.0/24"
        self.conf_dir = os.path.join(self.root, "net.d")
        from minikubelet import cni

        cni.write_default_conf(
            self.conf_dir, self.bridge, self.cidr, os.path.join(self.root, "ipam")
        )
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.log = open(os.path.join(self.root, "kubelet.log"), "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "minikubelet", "--kubeconfig", self.cluster.kubeconfig,
             "--hostname-override", self.node, "--container-runtime-endpoint", self.runtime,
             "--root-dir", self.root, "--pod-cidr", self.cidr, "--cni-conf-dir", self.conf_dir,
             "--port", "0", *(["--hollow", "--hollow-delay", "0.5", "--hollow-nodes", str(self.nodes)]
               if self.hollow else []), *self.extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=ROOT,
        )  # fmt: skip
        line = ""
        while "serving on" not in line:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(Path(self.root, "kubelet.log").read_text()[-3000:])
        self.url = line.split("serving on ")[1].strip()

    def kill(self) -> None:
        """SIGKILL: the containers must keep running."""
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()

    def cleanup(self) -> None:
        """Remove whatever a failed test left (a passing test leaves nothing), then the bridge."""
        from minikubelet import cri

        rs = cri.RuntimeService(self.root, self.runtime, self.conf_dir, ["/usr/lib/cni"])
        for s in rs.list_pod_sandbox():
            rs.remove_pod_sandbox(s.id)
        for c in rs.list_containers():
            rs.remove_container(c.id)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
