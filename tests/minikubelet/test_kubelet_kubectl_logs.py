"""kubectl logs through miniapiserver's pods/log subresource to minikubelet's /containerLogs.

The pure half checks container validation and the kubelet location the way
pkg/registry/core/pod/strategy.go computes them; the end-to-end half runs a real
busybox pod and real kubectl (plain, --tail, -c, -f) against the API server.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from hypothesis import given
from hypothesis import strategies as st

from miniapi import errors
from miniapiserver.registry import pod_log
from tests.minikubelet.kubelet_harness import Cluster, KubeletProcess


def pod(name: str, containers: list[str], inits: list[str] = ()) -> dict:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": c} for c in containers],
                     "initContainers": [{"name": c} for c in inits]}}  # fmt: skip


def node(addresses: list[tuple[str, str]], port: int) -> dict:
    return {"metadata": {"name": "n1"},
            "status": {"addresses": [{"type": t, "address": a} for t, a in addresses],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}  # fmt: skip


def bad_request(fn, *args) -> str:
    with pytest.raises(errors.StatusError) as info:
        fn(*args)
    assert info.value.code == 400
    return info.value.status.message


def test_validate_container_messages() -> None:
    assert pod_log.validate_container("", pod("p", ["only"])) == "only"
    assert pod_log.validate_container("b", pod("p", ["a", "b"])) == "b"
    assert pod_log.validate_container("i", pod("p", ["a", "b"], ["i"])) == "i"
    assert bad_request(pod_log.validate_container, "", pod("p", ["a", "b"])) == (
        "a container name must be specified for pod p, choose one of: [a b]"
    )
    assert bad_request(pod_log.validate_container, "", pod("p", ["a", "b"], ["i"])) == (
        "a container name must be specified for pod p, choose one of: [a b]"
        " or one of the init containers: [i]"
    )
    assert bad_request(pod_log.validate_container, "c", pod("p", ["a"])) == (
        "container c is not valid for pod p"
    )


def test_options_are_validated() -> None:
    assert pod_log.validate_options("p", {"follow": "true", "tailLines": "3"}) == {
        "follow": "true",
        "tailLines": "3",
    }
    for key, value, detail in (("tailLines", -1, "must be greater than or equal to 0"),
                               ("limitBytes", 0, "must be greater than 0")):  # fmt: skip
        with pytest.raises(errors.StatusError) as info:
            pod_log.validate_options("p", {key: str(value)})
        assert info.value.code == 422
        assert info.value.status.message == (
            f'PodLogOptions "p" is invalid: {key}: Invalid value: {value}: {detail}'
        )


@given(st.permutations(["InternalIP", "ExternalIP", "Hostname"]), st.integers(1, 65535))
def test_location_prefers_internal_ip(order: list[str], port: int) -> None:
    addresses = {"InternalIP": "10.0.0.1", "ExternalIP": "1.2.3.4", "Hostname": "h"}
    n = node([(t, addresses[t]) for t in order], port)
    url = pod_log.log_location(pod("p", ["c"]), n, "c", {"follow": "true"})
    assert url == f"http://10.0.0.1:{port}/containerLogs/default/p/c?follow=true"


LOGGER = r"""
trap 'exit 0' TERM
for i in 1 2 3; do echo "line $i"; done
while [ ! -e /host/go ]; do sleep 0.2; done
echo streamed
while true; do sleep 0.2; done
"""


def api_get(cluster: Cluster, path: str) -> tuple[int, dict]:
    from miniclient.kubeconfig import load_kubeconfig

    cfg = load_kubeconfig(cluster.kubeconfig)
    req = urllib.request.Request(cfg.host + path,
                                 headers={"Authorization": f"Bearer {cfg.bearer_token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, context=cfg.ssl_context(), timeout=10) as resp:
            return resp.status, {"body": resp.read().decode()}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_for(fn, timeout: float = 60.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def logs(cluster: Cluster, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["kubectl", "--kubeconfig", cluster.kubeconfig, "logs", *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def follow_until(cluster: Cluster, trigger) -> list[str]:
    """`kubectl logs -f`: read three lines, trigger a fourth, read it, then stop kubectl."""
    proc = subprocess.Popen(["kubectl", "--kubeconfig", cluster.kubeconfig, "logs", "-f",
                             "logger", "-c", "main"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        seen = [proc.stdout.readline().rstrip("\n") for _ in range(3)]
        trigger()
        seen.append(proc.stdout.readline().rstrip("\n"))
        assert proc.poll() is None, "kubectl logs -f ended by itself"
        return seen
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.root
@pytest.mark.tool("etcd", "kubectl")
@pytest.mark.kernel("netns", "overlay", "cgroup")
@pytest.mark.parametrize("runtime", ["minicontainer"])
def test_kubectl_logs(cluster: Cluster, runtime: str, tmp_path) -> None:
    k = KubeletProcess(cluster, runtime)
    host = tmp_path / "host"
    host.mkdir()
    try:
        n = wait_for(lambda: cluster.get_json(f"/api/v1/nodes/{k.node}"), what="node")
        assert n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == int(
            k.url.rsplit(":", 1)[1]
        )
        assert {"type": "InternalIP", "address": "127.0.0.1"} in n["status"]["addresses"]
        main = {
            "name": "main",
            "image": "busybox",
            "command": ["sh", "-c", LOGGER],
            "volumeMounts": [{"name": "host", "mountPath": "/host"}],
        }
        side = {
            "name": "side",
            "image": "busybox",
            "command": [
                "sh",
                "-c",
                "trap 'exit 0' TERM; echo side; while true; do sleep 0.2; done",
            ],
        }
        manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "logger"},
                    "spec": {"nodeName": k.node, "terminationGracePeriodSeconds": 2,
                             "containers": [main, side],
                             "volumes": [{"name": "host", "hostPath": {"path": str(host)}}]}}  # fmt: skip
        cluster.kubectl("create", "-f", "-", stdin=json.dumps(manifest))
        wait_for(lambda: "line 3" in logs(cluster, "logger", "-c", "main").stdout, what="logs")
        # the containers start in turn: the second may still be pulling when the first logs
        wait_for(lambda: logs(cluster, "logger", "-c", "side").stdout, what="side's logs")

        assert logs(cluster, "logger", "-c", "main").stdout == "line 1\nline 2\nline 3\n"
        assert logs(cluster, "logger", "-c", "main", "--tail=1").stdout == "line 3\n"
        assert logs(cluster, "logger", "-c", "side").stdout == "side\n"
        assert logs(cluster, "logger", "-c", "main", "--limit-bytes=6").stdout == "line 1"
        code, status = api_get(cluster, "/api/v1/namespaces/default/pods/logger/log")
        assert (code, status["reason"], status["message"]) == (
            400, "BadRequest",
            "a container name must be specified for pod logger, choose one of: [main side]",
        )  # fmt: skip
        wrong = logs(cluster, "logger", "-c", "nope")
        assert wrong.returncode != 0
        assert "container nope is not valid for pod logger" in wrong.stderr

        seen = follow_until(cluster, lambda: (host / "go").touch())
        assert seen == ["line 1", "line 2", "line 3", "streamed"]
        cluster.kubectl("delete", "pod", "logger", "--wait=false")
        wait_for(lambda: cluster.get_json("/api/v1/namespaces/default/pods/logger") is None,
                 what="pod deleted")  # fmt: skip
    finally:
        k.stop()
        k.cleanup()
