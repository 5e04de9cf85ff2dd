"""kubectl exec through miniapiserver's pods/exec to minikubelet's /exec over WebSocket v5.

The pure half checks the channel protocol (frames, resize, the exit-code Status) and the
kubelet URL the API server builds; the end-to-end half runs real kubectl against a real
busybox pod: output, exit codes, stdin, a tty with its size, and the error messages.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
import urllib.error
import urllib.request

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict

from miniapiserver.endpoints.handlers import pod_exec
from minikubelet import streaming_protocol as sp
from tests.minikubelet.kubelet_harness import Cluster, KubeletProcess
from tests.minikubelet.test_kubelet_kubectl_logs import wait_for


@given(st.integers(0, 255), st.binary(max_size=64))
def test_frames_round_trip(channel: int, data: bytes) -> None:
    assert sp.parse_frame(sp.frame(channel, data)) == (channel, data)


@given(st.integers(1, 255))
def test_exit_status_carries_the_code(code: int) -> None:
    status = json.loads(sp.parse_frame(sp.status_frame(sp.exit_status(code)))[1])
    assert status["reason"] == "NonZeroExitCode"
    assert sp.exit_code_of(status) == code
    assert sp.exit_code_of(sp.success_status()) == 0
    assert sp.exit_code_of(sp.internal_error_status("boom")) is None


def test_resize_and_options() -> None:
    assert sp.parse_resize(b'{"Width":100,"Height":30}') == (100, 30)
    assert sp.parse_resize(b"{}") is None
    assert sp.parse_resize(b"not json") is None
    opts = sp.options_from_kubelet_query({"input": "1", "output": "1", "error": "1", "tty": "1"})
    assert opts == sp.Options(stdin=True, stdout=True, stderr=False, tty=True)


def test_exec_location_translates_the_options() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns"}}
    node = {"metadata": {"name": "n"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}  # fmt: skip
    query = MultiDict([("command", "sh"), ("command", "-c"), ("command", "echo a b"),
                       ("stdin", "true"), ("stdout", "true"), ("tty", "false")])  # fmt: skip
    assert pod_exec.exec_location(pod, node, "c", query) == (
        "http://10.0.0.1:10250/exec/ns/p/c?command=sh&command=-c&command=echo+a+b&input=1&output=1"
    )


def kubectl(cluster: Cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, *args], input=stdin,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def api_post(cluster: Cluster, path: str) -> tuple[int, str]:
    from miniclient.kubeconfig import load_kubeconfig

    cfg = load_kubeconfig(cluster.kubeconfig)
    req = urllib.request.Request(cfg.host + path, method="POST", data=b"",
                                 headers={"Authorization": f"Bearer {cfg.bearer_token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, context=cfg.ssl_context(), timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def ps(cluster: Cluster, pod: str) -> str:
    return kubectl(cluster, "exec", pod, "--", "ps", "-o", "args").stdout


def exec_in_tty(cluster: Cluster, pod: str, rows: int, cols: int, *cmd: str) -> tuple[int, str]:
    """`kubectl exec -it` with its stdio on a pty of the given size; (exit code, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(["kubectl", "--kubeconfig", cluster.kubeconfig, "exec", "-it",
                             pod, "--", *cmd], stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)  # fmt: skip
    os.close(slave)
    out = b""
    try:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: kubectl and everything else closed the pty
                break
            if not data:
                break
            out += data
        return proc.wait(timeout=30), out.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


GATE = "while [ ! -e /host/go ]; do sleep 0.1; done"
MAIN = "trap 'exit 0' TERM; while true; do sleep 0.2; done"


def manifest(name: str, node: str, host: str) -> dict:
    """main starts once /host/go exists; restartPolicy Never lets the pod Succeed later."""
    mount = [{"name": "host", "mountPath": "/host"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 2,
                     "restartPolicy": "Never",
                     "initContainers": [{"name": "gate", "image": "busybox",
                                         "command": ["sh", "-c", GATE], "volumeMounts": mount}],
                     "containers": [{"name": "main", "image": "busybox",
                                     "command": ["sh", "-c", MAIN]}],
                     "volumes": [{"name": "host", "hostPath": {"path": host}}]}}  # fmt: skip


def check_streams(cluster: Cluster, name: str) -> None:
    hi = kubectl(cluster, "exec", name, "--", "echo", "hi")
    assert (hi.returncode, hi.stdout) == (0, "hi\n")
    three = kubectl(cluster, "exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (three.returncode, three.stdout) == (3, "out\n")
    assert "err\n" in three.stderr
    cat = kubectl(cluster, "exec", "-i", name, "--", "cat", stdin="one\ntwo\n")
    assert (cat.returncode, cat.stdout) == (0, "one\ntwo\n")
    code, out = exec_in_tty(cluster, name, 30, 100, "sh", "-c", "tty; stty size")
    assert code == 0, out
    assert "/dev/pts/" in out and "30 100" in out, out


def check_abandon(cluster: Cluster, name: str) -> None:
    """kubectl going away ends the command in the container too."""
    sleeper = subprocess.Popen(["kubectl", "--kubeconfig", cluster.kubeconfig, "exec", name,
                                "--", "sleep", "30"])  # fmt: skip
    try:
        wait_for(lambda: "sleep 30" in ps(cluster, name), what="sleep 30 running")
    finally:
        sleeper.terminate()
        sleeper.wait(timeout=10)
    wait_for(lambda: "sleep 30" not in ps(cluster, name), what="sleep 30 ended")


def check_refusals(cluster: Cluster, name: str) -> None:
    """The runtime-independent answers: SPDY refused by the kubelet, a completed pod."""
    code, body = api_post(cluster, f"/api/v1/namespaces/default/pods/{name}/exec"
                          "?command=true&stdout=true")  # fmt: skip
    assert code == 400 and "SPDY/3.1 is not supported" in body, body
    kubectl(cluster, "exec", name, "--", "kill", "1")  # main's shell exits 0 on TERM
    wait_for(lambda: cluster.get_json(f"/api/v1/namespaces/default/pods/{name}")["status"]
             .get("phase") == "Succeeded", what="Succeeded")  # fmt: skip
    done = kubectl(cluster, "exec", name, "--", "true")
    assert "cannot exec into a container in a completed pod; current phase is Succeeded" in (
        done.stderr
    )


@pytest.mark.root
@pytest.mark.tool("etcd", "kubectl", "runc")
@pytest.mark.kernel("netns", "overlay", "cgroup")
@pytest.mark.parametrize("runtime", ["minicontainer", "runc"])
def test_kubectl_exec(cluster: Cluster, runtime: str, tmp_path) -> None:
    k = KubeletProcess(cluster, runtime)
    (tmp_path / "host").mkdir()
    name = f"exec-{runtime}"  # the cluster is shared by the runtimes' runs
    try:
        wait_for(lambda: cluster.get_json(f"/api/v1/nodes/{k.node}"), what="node")
        pod = manifest(name, k.node, str(tmp_path / "host"))
        cluster.kubectl("create", "-f", "-", stdin=json.dumps(pod))
        # main has not started while the init container waits: the kubelet's own words
        wait_for(lambda: 'unable to upgrade connection: container not found ("main")' in kubectl(
            cluster, "exec", name, "-c", "main", "--", "true").stderr, what="not found")  # fmt: skip
        wrong = kubectl(cluster, "exec", name, "-c", "nope", "--", "true")
        assert wrong.returncode == 1
        assert f"container nope is not valid for pod {name}" in wrong.stderr
        (tmp_path / "host" / "go").touch()
        wait_for(lambda: kubectl(cluster, "exec", name, "--", "true").returncode == 0,
                 what="main running")  # fmt: skip
        check_streams(cluster, name)
        check_abandon(cluster, name)
        if runtime == "minicontainer":  # the API server's side needs one runtime only
            check_refusals(cluster, name)
    finally:
        kubectl(cluster, "delete", "pod", name, "--grace-period=0", "--force", "--wait=false")
        k.stop()
        k.cleanup()
