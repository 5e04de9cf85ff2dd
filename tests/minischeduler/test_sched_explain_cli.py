"""`python -m minischeduler explain` over manifest files, as a learner runs it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from miniapi.meta.v1.duration import duration_flag
from minischeduler.__main__ import _bool_flag, main

MANIFEST = """
apiVersion: v1
kind: Node
metadata: {name: small, labels: {kubernetes.io/hostname: small}}
status: {allocatable: {cpu: "1", memory: 2Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: big, labels: {kubernetes.io/hostname: big}}
status: {allocatable: {cpu: "8", memory: 16Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: gpu, labels: {kubernetes.io/hostname: gpu}}
spec: {taints: [{key: dedicated, value: gpu, effect: NoSchedule}]}
status: {allocatable: {cpu: "8", memory: 16Gi, pods: "110"}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers:
  - name: c
    image: nginx
    resources: {requests: {cpu: 500m, memory: 256Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - name: c
    image: nginx
    resources: {requests: {cpu: "16"}}
"""


def run(tmp_path, *args):
    f = tmp_path / "cluster.yaml"
    f.write_text(MANIFEST)
    return subprocess.run(
        [sys.executable, "-m", "minischeduler", "explain", "--cluster", str(f), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_explain_placement_text(tmp_path):
    r = run(tmp_path, "default/web")
    assert r.returncode == 0, r.stderr
    assert (
        "gpu                  REJECTED TaintToleration: node(s) had untolerated taint "
        "{dedicated: gpu}" in r.stdout
    )
    assert "winner: big" in r.stdout
    assert "NodeResourcesFit" in r.stdout and "x1" in r.stdout


def test_explain_pending_json(tmp_path):
    r = run(tmp_path, "huge", "-o", "json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["winner"] == ""
    # Reasons are "count reason" strings sorted as strings (FitError.Error), so "1 ..." first.
    assert body["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: "
        "1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.."
    )


def test_explain_unknown_pod(tmp_path):
    r = run(tmp_path, "default/nope")
    assert r.returncode == 1
    assert 'pod "default/nope" was not scheduled' in r.stderr


def test_bad_kubeconfig_is_an_error_not_a_traceback(tmp_path):
    for args in (
        ["--kubeconfig", str(tmp_path / "nope")],
        ["explain", "--kubeconfig", str(tmp_path / "nope"), "default/x"],
    ):
        r = subprocess.run([sys.executable, "-m", "minischeduler", *args],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
        assert r.returncode == 1
        assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr


def test_leader_election_flags_parse_like_kube_scheduler(capsys):
    """Durations are Go durations; --leader-elect takes pflag's bool forms."""
    assert duration_flag("15s") == 15.0
    assert duration_flag("1m30s") == 90.0
    assert duration_flag("300ms") == 0.3
    with pytest.raises(argparse.ArgumentTypeError, match='time: missing unit in duration "2"'):
        duration_flag("2")
    with pytest.raises(argparse.ArgumentTypeError, match='unknown unit "x" in duration "15x"'):
        duration_flag("15x")
    assert _bool_flag("true") and _bool_flag("T") and not _bool_flag("false")
    with pytest.raises(SystemExit) as exit_info:
        main(["--leader-elect=maybe"])
    assert exit_info.value.code == 2
    assert 'strconv.ParseBool: parsing "maybe": invalid syntax' in capsys.readouterr().err
