"""The two example Website operators side by side against a real miniapiserver.

examples/operator/controller.py (miniclient informers + workqueue) and
examples/operator/kopf_operator.py (kopf, unchanged) each watch their own
namespace: a Website becomes a Deployment and a Service it owns, its status is
written, a spec change reaches the Deployment; the miniclient one also brings a
deleted Deployment back. Both run at once so their start-up times overlap.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.tool("etcd", "kubectl")

OPERATOR = Path(__file__).resolve().parents[2] / "examples" / "operator"
WEBSITES = "websites.example.com"


def wait_for(check, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def start_operators(apiserver, ns_mini: str, ns_kopf: str) -> list[subprocess.Popen]:  # type: ignore[no-untyped-def]
    common = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True,
              "env": apiserver.env, "cwd": OPERATOR.parents[1]}  # fmt: skip
    mini = subprocess.Popen(
        [sys.executable, str(OPERATOR / "controller.py"), "--kubeconfig", apiserver.kubeconfig,
         "-n", ns_mini], **common,
    )  # fmt: skip
    kopf = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "-n", ns_kopf,
         str(OPERATOR / "kopf_operator.py")], **common,
    )  # fmt: skip
    return [mini, kopf]


def test_website_operators_side_by_side(apiserver) -> None:  # type: ignore[no-untyped-def]
    k, ns_mini, ns_kopf = apiserver.kubectl, "operator-mini", "operator-kopf"
    k("apply", "-f", str(OPERATOR / "website-crd.yaml"))
    k("wait", "--for=condition=Established", f"crd/{WEBSITES}", "--timeout=20s")
    for ns in (ns_mini, ns_kopf):
        k("create", "namespace", ns)
    procs = start_operators(apiserver, ns_mini, ns_kopf)
    try:
        assert wait_for(lambda: k("get", WEBSITES, "-n", ns_mini, check=False).returncode == 0)
        for ns in (ns_mini, ns_kopf):
            k("apply", "-n", ns, "-f", str(OPERATOR / "website.yaml"))

        def get(kind: str, ns: str) -> dict | None:
            out = k("get", kind, "blog", "-n", ns, "-o", "json", check=False)
            return json.loads(out.stdout) if out.returncode == 0 else None

        def status(ns: str) -> dict:
            return (get(WEBSITES, ns) or {}).get("status") or {}

        def wait_jsonpath(ns: str, obj: str, path: str, value: str) -> None:
            # kubectl wait watches (one process), cheaper on shared cores than polling
            k("wait", "-n", ns, f"--for=jsonpath={path}={value}", obj, "--timeout=30s")

        for ns in (ns_mini, ns_kopf):
            wait_jsonpath(ns, f"{WEBSITES}/blog", "{.status.observedGeneration}", "1")
            assert status(ns) == {"deployment": "blog", "service": "blog",
                                  "observedGeneration": 1}  # fmt: skip
            dep, svc, ws = get("deployment", ns), get("service", ns), get(WEBSITES, ns)
            assert dep and svc and ws
            assert dep["spec"]["replicas"] == 2
            assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
            assert dep["metadata"]["ownerReferences"][0]["uid"] == ws["metadata"]["uid"]
            assert svc["spec"]["ports"][0]["port"] == 80  # the schema's default port
        annotations = get(WEBSITES, ns_kopf)["metadata"]["annotations"]  # type: ignore[index]
        assert "kopf.zalando.org/last-handled-configuration" in annotations

        for ns in (ns_mini, ns_kopf):
            k("patch", WEBSITES, "blog", "-n", ns, "--type", "merge",
              "-p", '{"spec":{"replicas":4}}')  # fmt: skip
        for ns in (ns_mini, ns_kopf):
            wait_jsonpath(ns, "deployment/blog", "{.spec.replicas}", "4")
        k("delete", "deployment", "blog", "-n", ns_mini)
        assert wait_for(lambda: get("deployment", ns_mini))
        wait_jsonpath(ns_mini, f"{WEBSITES}/blog", "{.status.observedGeneration}", "2")
    finally:
        outs = []
        for p in procs:
            p.terminate()
            outs.append(p.communicate(timeout=15)[0])
        for ns in (ns_mini, ns_kopf):
            k("delete", "namespace", ns, "--wait=false", check=False)
    assert "website controller started" in outs[0]
    assert "Traceback" not in outs[0] + outs[1], outs
