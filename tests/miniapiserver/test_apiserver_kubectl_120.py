"""Debian bookworm's kubectl 1.20 (package kubernetes-client), unchanged, against miniapiserver.

The package conflicts with the machine's kubectl dispatcher, so tools/setup.sh unpacks it
(`apt-get download` + `dpkg -x`) under /opt/kubernetes-client-1.20 instead of installing it.
kubectl 1.20 predates protobuf bodies and aggregated discovery: it reads the legacy
discovery documents and /openapi/v2 (for explain and client-side validation) and sends
JSON, with client-side apply's strategic merge patches.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

KUBECTL_120 = Path("/opt/kubernetes-client-1.20/usr/bin/kubectl")

pytestmark = pytest.mark.tool("etcd", str(KUBECTL_120))


def test_kubectl_1_20_get_apply_explain(apiserver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def k(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return apiserver.kubectl(*args, stdin=stdin, check=False, env={"PATH": str(tmp_path)})

    (tmp_path / "kubectl").symlink_to(KUBECTL_120)  # `kubectl` on PATH is 1.20 here
    version = k("version", "--client", "-o", "json")
    assert json.loads(version.stdout)["clientVersion"]["minor"] == "20"
    out = k("get", "namespaces")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:3] == ["NAME", "STATUS", "AGE"] and "kube-system" in out.stdout
    out = k("explain", "deployment.spec.replicas")
    assert out.returncode == 0, out.stderr
    assert "KIND:     Deployment" in out.stdout and "replicas <integer>" in out.stdout
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "k120-web"},
           "spec": {"selector": {"matchLabels": {"app": "k120"}}, "template": {
               "metadata": {"labels": {"app": "k120"}},
               "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}}  # fmt: skip
    out = k("apply", "-f", "-", stdin=json.dumps(dep))
    assert "deployment.apps/k120-web created" in out.stdout, out.stderr
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.25"  # type: ignore[index]
    out = k("apply", "-f", "-", stdin=json.dumps(dep))
    assert "deployment.apps/k120-web configured" in out.stdout, out.stderr
    out = k("apply", "-f", "-", stdin=json.dumps(dep))
    assert "deployment.apps/k120-web unchanged" in out.stdout, out.stderr
    image = k(
        "get", "deploy", "k120-web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    )
    assert image.stdout == "nginx:1.25"
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "k120-bad"}, "bogus": 1}
    out = k("create", "-f", "-", stdin=json.dumps(bad))
    assert out.returncode != 0 and "bogus" in out.stderr  # client-side validation, /openapi/v2
    assert k("delete", "deploy", "k120-web").returncode == 0
