"""kopf (`kopf run --standalone`), unchanged, operating Deployments on miniapiserver.

It adds its finalizer on creation, patches labels and /status, handles updates,
and on deletion runs its handler while the finalizer holds the object, then
removes the finalizer so the server deletes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.tool("etcd", "kubectl")

OPERATOR = Path(__file__).with_name("data") / "kopf_operator.py"


def wait_for(check, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_kopf_create_update_delete(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    kopf = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "-n", "default", str(OPERATOR)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=apiserver.env,
    )  # fmt: skip
    try:
        k("create", "deployment", "kopfed", "--image=x")
        k("label", "deployment", "kopfed", "kopf=yes")

        def get() -> dict:
            return json.loads(k("get", "deployment", "kopfed", "-o", "json").stdout)

        def handled() -> dict | None:
            d = get()
            done = d["metadata"]["labels"].get("seen") and d.get("status")
            return d if done else None

        d = wait_for(handled)
        assert d, "kopf did not handle the creation"
        assert d["metadata"]["labels"]["seen"] == "created"
        assert d["status"] == {"observedGeneration": 7}  # patched through /status
        assert "kopf.zalando.org/KopfFinalizerMarker" in d["metadata"]["finalizers"]
        k("annotate", "deployment", "kopfed", "touch=1")
        assert wait_for(lambda: get()["metadata"].get("annotations", {}).get("updated") == "yes")
        # the finalizer keeps the object until kopf's delete handler has run
        k("delete", "deployment", "kopfed", "--timeout=30s")
        assert k("get", "deployment", "kopfed", check=False).returncode != 0
    finally:
        kopf.terminate()
        try:
            out, _ = kopf.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            kopf.kill()
            out, _ = kopf.communicate()
    assert "KOPF-DELETED kopfed" in out
    assert "Handler 'deleted' succeeded" in out
