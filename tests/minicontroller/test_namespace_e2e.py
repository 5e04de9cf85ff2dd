"""The Namespace controller end to end: deleting a namespace empties it, then it goes.

`python -m minicontroller` runs the namespace and garbage collector
controllers against miniapiserver. The namespace turns Terminating (the
`kubernetes` finalizer holds it), its content of several kinds is deleted, and
once the finalizer is removed through namespaces/{name}/finalize it disappears.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from miniapi import errors
from miniapi.core import v1 as corev1
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client

pytestmark = pytest.mark.tool("etcd", "kubectl")

ROOT = Path(__file__).resolve().parents[2]

CONTENT = """apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg, namespace: {ns}}}
data: {{a: b}}
---
apiVersion: v1
kind: Secret
metadata: {{name: sec, namespace: {ns}}}
stringData: {{k: v}}
---
apiVersion: v1
kind: Service
metadata: {{name: svc, namespace: {ns}}}
spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: pod, namespace: {ns}, labels: {{app: web}}}}
spec: {{containers: [{{name: c, image: nginx}}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: c, image: nginx}}]}}
"""

KINDS = ("configmaps", "secrets", "services", "pods", "deployments")


async def kubectl(kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        "kubectl", *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env={**os.environ, "KUBECONFIG": kubeconfig},
    )  # fmt: skip
    out, err = await proc.communicate(stdin.encode() if stdin else None)
    if proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {err.decode()}")
    return out.decode()


def test_namespace_deletion_empties_it(apiserver):
    log = Path(tempfile.mkstemp(prefix=f"minicontroller-ns-{os.getpid()}-")[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicontroller", "--kubeconfig", apiserver.kubeconfig,
         "--controllers", "namespace-controller,garbage-collector-controller"],
        stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(scenario(apiserver), 90))
    finally:
        proc.kill()
        proc.wait()
        log.unlink(missing_ok=True)


async def scenario(apiserver) -> None:
    kc = apiserver.kubeconfig
    ns = f"nsdel-{uuid.uuid4().hex[:8]}"
    other = f"keep-{uuid.uuid4().hex[:8]}"
    await kubectl(kc, "create", "namespace", ns)
    await kubectl(kc, "create", "namespace", other)
    await kubectl(kc, "apply", "-f", "-", stdin=CONTENT.format(ns=ns))
    await kubectl(kc, "apply", "-f", "-", stdin=CONTENT.format(ns=other))
    before = await kubectl(kc, "-n", ns, "get", ",".join(KINDS), "-o", "name")
    assert len(before.split()) == len(KINDS)
    async with Client(load_kubeconfig(kc)) as client:
        namespaces = client.resource(corev1.Namespace)
        # The DELETE answers with the namespace held Terminating by its finalizer.
        got = await namespaces.delete(ns)
        assert got.status.phase == "Terminating" and got.spec.finalizers == ["kubernetes"]
        deadline = asyncio.get_running_loop().time() + 40
        while True:
            try:
                got = await namespaces.get(ns)
            except errors.StatusError as e:
                assert errors.is_not_found(e)
                break
            assert asyncio.get_running_loop().time() < deadline, got.status
            await asyncio.sleep(0.2)
    left = await kubectl(kc, "-n", ns, "get", ",".join(KINDS), "-o", "name")
    assert left.split() == []
    # Another namespace's content is untouched.
    kept = await kubectl(kc, "-n", other, "get", ",".join(KINDS), "-o", "name")
    assert len(kept.split()) == len(KINDS)
    await kubectl(kc, "delete", "namespace", other, "--wait=false")
