"""kubectl, unchanged, against miniapiserver over a real etcd 3.4 (the oracle tests).

The dispatcher on these machines picks kubectl 1.32 from our /version; 1.32
sends `kubectl create` bodies as protobuf, `apply` as strategic merge patches
computed client-side, and validates fields on the server (fieldValidation=Strict).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

pytestmark = pytest.mark.tool("etcd", "kubectl")

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx:IMAGE
        env: [{name: A, value: "1"}]
        ports: [{containerPort: 80}]
"""


def test_version_and_api_resources(apiserver) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(apiserver.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["minor"] == "32"
    res = apiserver.kubectl("api-resources", "--no-headers").stdout
    lines = {line.split()[0]: line.split() for line in res.splitlines()}
    assert lines["pods"][1:] == ["po", "v1", "true", "Pod"]
    assert lines["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert "leases" in lines and "customresourcedefinitions" in lines


def test_apply_create_unchanged_configured(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    assert (
        "deployment.apps/web created"
        in k("apply", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", "1")).stdout
    )
    assert (
        "deployment.apps/web unchanged"
        in k("apply", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", "1")).stdout
    )
    assert (
        "deployment.apps/web configured"
        in k("apply", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", "2")).stdout
    )
    d = json.loads(k("get", "deployment", "web", "-o", "json").stdout)
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "nginx:2" and c["env"] == [{"name": "A", "value": "1"}]
    assert d["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in d["metadata"]["annotations"]
    # a strict server-side validation error, as kubectl 1.32 asks for
    bad = DEPLOYMENT.replace("IMAGE", "1").replace("replicas: 1", "replicas: 1\n  bogus: 1")
    out = k("apply", "-f", "-", stdin=bad, check=False)
    assert out.returncode != 0 and 'unknown field "spec.bogus"' in out.stderr


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["configmap", "cm1", "--from-literal=a=b"], "configmap/cm1"),
        (["secret", "generic", "s1", "--from-literal=p=q"], "secret/s1"),
        (["namespace", "ns1"], "namespace/ns1"),
        (["deployment", "d1", "--image=nginx", "--replicas=2"], "deployment.apps/d1"),
        (["service", "clusterip", "svc1", "--tcp=80:8080"], "service/svc1"),
        (["serviceaccount", "sa1"], "serviceaccount/sa1"),
        (["role", "r1", "--verb=get", "--resource=pods"], "role.rbac.authorization.k8s.io/r1"),
        (
            ["rolebinding", "rb1", "--role=r1", "--user=u"],
            "rolebinding.rbac.authorization.k8s.io/rb1",
        ),
        (
            ["clusterrole", "cr1", "--verb=list", "--resource=nodes"],
            "clusterrole.rbac.authorization.k8s.io/cr1",
        ),
        (
            ["clusterrolebinding", "crb1", "--clusterrole=cr1", "--group=g"],
            "clusterrolebinding.rbac.authorization.k8s.io/crb1",
        ),
    ],
)
def test_create_generators_send_protobuf(apiserver, args: list[str], name: str) -> None:  # type: ignore[no-untyped-def]
    out = apiserver.kubectl("create", *args, "-v=8", check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"{name} created" in out.stdout
    assert "Content-Type: application/vnd.kubernetes.protobuf" in out.stderr
    assert apiserver.kubectl("get", name, "-o", "name").stdout.strip() == name


def test_get_tables_and_formats(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    for i in range(3):
        k("run", f"p{i}", "--image=busybox", f"--labels=app=a{i % 2},n={i}")
    table = k("get", "pods", "-l", "app=a0").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[:3] for line in table[1:]] == [
        ["p0", "0/1", "Pending"],
        ["p2", "0/1", "Pending"],
    ]
    wide = k("get", "pods", "-o", "wide").stdout.splitlines()[0].split()
    assert wide[5:] == ["IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    assert k("get", "pods", "--show-labels").stdout.splitlines()[1].split()[-1] == "app=a0,n=0"
    names = k("get", "pods", "--field-selector", "metadata.name=p1", "-o", "name").stdout.split()
    assert names == ["pod/p1"]
    chunked = k("get", "pods", "--chunk-size=1", "-o", "name").stdout.split()
    assert chunked == ["pod/p0", "pod/p1", "pod/p2"]
    as_json = json.loads(k("get", "pod", "p0", "-o", "json").stdout)
    assert as_json["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert "name: p0" in k("get", "pod", "p0", "-o", "yaml").stdout
    assert k("get", "ns").stdout.splitlines()[0].split() == ["NAME", "STATUS", "AGE"]


def test_label_annotate_patch_edit_delete(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    k("create", "configmap", "cfg", "--from-literal=a=b")
    k("label", "configmap", "cfg", "tier=web")
    k("annotate", "configmap", "cfg", "note=hi")
    k("patch", "configmap", "cfg", "--type=merge", "-p", '{"data":{"m":"1"}}')
    k(
        "patch",
        "configmap",
        "cfg",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/data/j","value":"2"}]',
    )
    k("patch", "configmap", "cfg", "-p", '{"data":{"s":"3"}}')
    k("edit", "configmap", "cfg", env={"EDITOR": "sed -i s/a:\\ b/a:\\ edited/"})
    cm = json.loads(k("get", "configmap", "cfg", "-o", "json").stdout)
    assert cm["data"] == {"a": "edited", "m": "1", "j": "2", "s": "3"}
    assert cm["metadata"]["labels"] == {"tier": "web"}
    assert cm["metadata"]["annotations"] == {"note": "hi"}
    assert 'configmap "cfg" deleted' in k("delete", "configmap", "cfg").stdout
    assert k("get", "configmap", "cfg", check=False).stderr.strip() == (
        'Error from server (NotFound): configmaps "cfg" not found'
    )


def test_scale_uses_the_scale_subresource(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    k("create", "deployment", "sc", "--image=nginx")
    assert "deployment.apps/sc scaled" in k("scale", "deployment", "sc", "--replicas=3").stdout
    assert k("get", "deployment", "sc", "-o", "jsonpath={.spec.replicas}").stdout == "3"


def test_get_watch_streams_changes(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    k("create", "configmap", "w1", "--from-literal=a=b")
    proc = subprocess.Popen(
        ["kubectl", "get", "configmaps", "-w", "--request-timeout=20s", "--field-selector=metadata.name=w1"],
        stdout=subprocess.PIPE, text=True, env=apiserver.env,
    )  # fmt: skip
    try:
        header = proc.stdout.readline().split()  # type: ignore[union-attr]
        assert header == ["NAME", "DATA", "AGE"]
        assert proc.stdout.readline().split()[:2] == ["w1", "1"]  # type: ignore[union-attr]
        time.sleep(0.5)
        k("patch", "configmap", "w1", "-p", '{"data":{"x":"y"}}')
        assert proc.stdout.readline().split()[:2] == ["w1", "2"]  # type: ignore[union-attr]
        k("delete", "configmap", "w1")
        assert proc.stdout.readline().split()[:2] == ["w1", "2"]  # type: ignore[union-attr]
    finally:
        proc.kill()
        proc.wait()


def test_describe_shows_events(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    k("run", "ev-pod", "--image=busybox")
    uid = k("get", "pod", "ev-pod", "-o", "jsonpath={.metadata.uid}").stdout
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "ev-pod.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "ev-pod", "namespace": "default", "uid": uid, "apiVersion": "v1"},
        "reason": "Scheduled", "message": "assigned somewhere", "type": "Normal",
        "source": {"component": "default-scheduler"}, "count": 1,
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    k("create", "-f", "-", stdin=json.dumps(event))
    out = k("describe", "pod", "ev-pod").stdout
    assert "Events:" in out
    assert "Scheduled" in out and "default-scheduler" in out and "assigned somewhere" in out
    events = k("get", "events", "-o", "wide").stdout.splitlines()[0].split()
    assert events[:4] == ["LAST", "SEEN", "TYPE", "REASON"]


def test_explain_reads_openapi_v3(apiserver) -> None:  # type: ignore[no-untyped-def]
    out = apiserver.kubectl("explain", "deployment.spec.replicas").stdout
    assert "KIND:       Deployment" in out
    assert "FIELD: replicas <integer>" in out


def test_namespaces_terminate_and_refuse_new_objects(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    k("create", "namespace", "doomed")
    k("delete", "namespace", "doomed", "--wait=false")
    phase = k("get", "namespace", "doomed", "-o", "jsonpath={.status.phase}").stdout
    assert (
        phase == "Terminating"
    )  # spec.finalizers keeps it until the namespace controller finalizes
    out = k("create", "configmap", "x", "-n", "doomed", "--from-literal=a=b", check=False)
    assert "because it is being terminated" in out.stderr
    out = k("create", "configmap", "x", "-n", "missing", "--from-literal=a=b", check=False)
    assert 'namespaces "missing" not found' in out.stderr
