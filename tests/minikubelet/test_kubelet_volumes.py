"""Projected volumes without a cluster: the atomic writer on a real directory, the token
manager's cache and refresh rule, the payloads of projected.py, the start-up tracker."""

from __future__ import annotations

import asyncio
import os
import random
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi import scheme
from miniapi.core import v1
from minikubelet import atomic_writer, projected
from minikubelet.atomic_writer import FileProjection
from minikubelet.configsources import ConfigError, token_source_key
from minikubelet.pod_startup_latency_tracker import PodStartupLatencyTracker
from minikubelet.token_manager import Token, TokenManager, requires_refresh


def read_visible(target: str) -> dict[str, bytes]:
    out = {}
    for name in os.listdir(target):
        if name.startswith(".."):
            continue
        path = os.path.join(target, name)
        if os.path.isdir(path):
            for root, _d, files in os.walk(path):
                for f in files:
                    full = os.path.join(root, f)
                    out[os.path.relpath(full, target)] = Path(full).read_bytes()
        else:
            out[name] = Path(path).read_bytes()
    return out


names = st.sampled_from(["token", "ca.crt", "namespace", "a/b", "a/c", "x/y/z"])
payloads = st.dictionaries(names, st.binary(max_size=20), max_size=4)


@settings(max_examples=12, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=5))
def test_atomic_writer_shows_exactly_the_last_payload(tmp_path_factory, sequence) -> None:
    target = str(tmp_path_factory.mktemp("vol") / "v")
    for p in sequence:
        if any(a != b and b.startswith(a + "/") for a in p for b in p):
            continue  # a file and a directory of the same name: not a valid payload
        atomic_writer.write(target, {k: FileProjection(v) for k, v in p.items()})
        assert read_visible(target) == p
        # One timestamped directory at a time, and ..data points at it.
        dirs = [n for n in os.listdir(target) if n.startswith("..") and n != "..data"]
        assert dirs == [os.readlink(os.path.join(target, "..data"))]


def test_atomic_writer_no_op_modes_and_bad_paths(tmp_path) -> None:
    target = str(tmp_path / "v")
    assert atomic_writer.write(target, {"token": FileProjection(b"t1", 0o600)})
    first = os.readlink(os.path.join(target, "..data"))
    assert not atomic_writer.write(target, {"token": FileProjection(b"t1", 0o600)})
    assert os.readlink(os.path.join(target, "..data")) == first
    assert os.stat(os.path.join(target, "token")).st_mode & 0o777 == 0o600
    assert os.readlink(os.path.join(target, "token")) == "..data/token"
    for bad in ("../escape", "/abs", "..hidden", "a/../../b"):
        with pytest.raises(atomic_writer.PayloadError):
            atomic_writer.write(target, {bad: FileProjection(b"x")})


def test_atomic_writer_reader_never_sees_a_mix(tmp_path) -> None:
    """A reader opening both files through ..data always gets one generation's pair."""
    target = str(tmp_path / "v")
    atomic_writer.write(target, {"a": FileProjection(b"0"), "b": FileProjection(b"0")})
    stop, mixed = threading.Event(), []

    def reader() -> None:
        while not stop.is_set():
            try:
                data = os.path.join(target, "..data")
                real = os.path.join(target, os.readlink(data))
                a, b = (Path(real, n).read_bytes() for n in ("a", "b"))
            except OSError:
                continue  # the old generation was removed between readlink and open
            if a != b:
                mixed.append((a, b))

    t = threading.Thread(target=reader)
    t.start()
    for i in range(1, 40):
        gen = str(i).encode()
        atomic_writer.write(target, {"a": FileProjection(gen), "b": FileProjection(gen)})
    stop.set()
    t.join()
    assert mixed == []


def tok(issued: float, seconds: int) -> Token:
    return Token("jwt", issued + seconds, seconds)


def test_requires_refresh_at_80_percent_and_24h() -> None:
    t = tok(1000.0, 3600)
    assert not requires_refresh(t, 1000.0 + 0.79 * 3600, 0)
    assert requires_refresh(t, 1000.0 + 0.81 * 3600, 0)
    assert requires_refresh(t, 1000.0 + 0.799 * 3600, 10)  # the jitter brings it forward
    week = tok(0.0, 7 * 24 * 3600)
    assert not requires_refresh(week, 23 * 3600, 0)
    assert requires_refresh(week, 24 * 3600 + 1, 0)  # maxTTL


def answer(token: str, now: float, seconds: int) -> dict:
    exp = datetime.fromtimestamp(now + seconds, UTC).isoformat().replace("+00:00", "Z")
    return {"spec": {"expirationSeconds": seconds},
            "status": {"token": token, "expirationTimestamp": exp}}  # fmt: skip


def test_token_manager_caches_rotates_and_survives_a_failed_refresh() -> None:
    calls: list[dict] = []
    state = {"fail": False, "now": 1000.0}

    async def fetch(ns: str, name: str, req: dict) -> dict:
        calls.append(req)
        if state["fail"]:
            raise OSError("connection refused")
        return answer(f"t{len(calls)}", state["now"], req["spec"]["expirationSeconds"])

    m = TokenManager(fetch, random.Random(1))

    def get(now: float, aud: tuple[str, ...] = ()) -> str:
        state["now"] = now
        coro = m.get_service_account_token("ns", "sa", aud, 3600, "p", "uid1", now)
        return asyncio.run(coro).token

    assert get(1000) == "t1" and get(1500) == "t1" and len(calls) == 1
    assert calls[0]["spec"]["boundObjectRef"] == {"apiVersion": "v1", "kind": "Pod",
                                                  "name": "p", "uid": "uid1"}  # fmt: skip
    assert get(1000, ("vault",)) == "t2"  # another audience: another token
    assert calls[1]["spec"]["audiences"] == ["vault"]
    assert get(1000 + 0.9 * 3600) == "t3"  # rotated at 80% of its life
    state["fail"] = True
    assert get(1000 + 0.9 * 3600 + 0.85 * 3600) == "t3"  # refresh failed, still valid
    with pytest.raises(OSError):
        get(1000 + 3 * 3600)  # expired and no new one
    m.delete_service_account_token("uid1")
    assert m.cache == {}


def pod(volume: dict, mount_path: str = "") -> v1.Pod:
    mounts = [{"name": volume["name"], "mountPath": mount_path}] if mount_path else []
    return scheme.decode({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "p", "namespace": "team", "uid": "u1",
                                       "labels": {"b": "2", "a": 'q"1'}},
                          "spec": {"serviceAccountName": "robot", "volumes": [volume],
                                   "containers": [{"name": "c", "image": "busybox",
                                                   "volumeMounts": mounts}]}})  # fmt: skip


def test_projected_payload_as_the_service_account_admission_writes_it() -> None:
    from miniapiserver.admission.plugins.service_account import token_volume

    p = pod(token_volume("kube-api-access-abcde"))
    t = p.spec.volumes[0].projected.sources[0].service_account_token
    sources = {("configmap", "kube-root-ca.crt"): {"ca.crt": b"PEM"},
               token_source_key(t): {"token": b"jwt"}}  # fmt: skip
    payload = projected.volume_payload(p, p.spec.volumes[0], sources)
    assert {k: v.data for k, v in payload.items()} == {
        "token": b"jwt", "ca.crt": b"PEM", "namespace": b"team"}  # fmt: skip
    assert {v.mode for v in payload.values()} == {0o644}
    with pytest.raises(ConfigError, match='configmap "kube-root-ca.crt" not found'):
        projected.volume_payload(p, p.spec.volumes[0], {token_source_key(t): {"token": b"j"}})
    with pytest.raises(ConfigError, match="failed to fetch token"):
        projected.volume_payload(p, p.spec.volumes[0], {**sources, token_source_key(t): None})


def test_downward_api_and_key_payloads() -> None:
    p = pod({"name": "d", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "a", "fieldRef": {"fieldPath": "metadata.labels['a']"}, "mode": 0o400}]}})  # fmt: skip
    payload = projected.volume_payload(p, p.spec.volumes[0], {})
    assert payload["labels"].data == b'a="q\\"1"\nb="2"' and payload["a"].mode == 0o400
    cm = pod({"name": "c", "configMap": {"name": "cm", "items": [{"key": "k", "path": "sub/f"}]}})
    assert projected.volume_payload(cm, cm.spec.volumes[0], {("configmap", "cm"): {"k": b"v"}}) \
        == {"sub/f": FileProjection(b"v", 0o644)}  # fmt: skip
    with pytest.raises(ConfigError, match="non-existent config key: k"):
        projected.volume_payload(cm, cm.spec.volumes[0], {("configmap", "cm"): {"x": b"v"}})


def test_startup_tracker_tells_each_pod_once_in_phase_order() -> None:
    tr = PodStartupLatencyTracker()
    tr.observed_pod_on_watch("u", "ns/p", created=100.0, when=101.0)
    for phase, when in (("worker", 101.5), ("sandbox", 102.0), ("started", 103.0)):
        tr.mark("u", phase, when)
    tr.mark("u", "sandbox", 109.0)  # a later sandbox (a restart) is not the start-up's
    assert tr.record_status_updated("u", running=False, when=103.5) is None
    rec = tr.record_status_updated("u", running=True, when=104.0)
    assert rec.durations() == {"observed": 1.0, "worker": 0.5, "sandbox": 0.5, "started": 1.0,
                               "status": 1.0}  # fmt: skip
    assert tr.record_status_updated("u", running=True, when=105.0) is None


def test_object_cache_serves_found_objects_for_its_ttl_only() -> None:
    from minikubelet.configsources import ObjectCache

    c = ObjectCache(ttl=5.0)
    key = ("configmap", "ns", "kube-root-ca.crt")
    assert c.get(key, 0.0) is None
    c.put(key, {"ca.crt": b"PEM"}, 10.0)
    assert c.get(key, 14.9) == {"ca.crt": b"PEM"}
    assert c.get(key, 15.0) is None  # stale: fetched again
    c.put(("secret", "ns", "other"), {}, 16.0)
    assert key not in c.entries  # expired entries are dropped as others are added


def test_a_rotated_token_reaches_the_mounted_directory(tmp_path) -> None:
    """make_mounts sets the volume up; a later sync's refresh swaps in the new token."""
    from miniapiserver.admission.plugins.service_account import token_volume
    from minikubelet import kuberuntime_container as kc

    p = pod(token_volume("kube-api-access-xyz12"), "/var/run/secrets/kubernetes.io/serviceaccount")
    t = p.spec.volumes[0].projected.sources[0].service_account_token
    sources = {("configmap", "kube-root-ca.crt"): {"ca.crt": b"PEM"},
               token_source_key(t): {"token": b"old"}}  # fmt: skip
    mounts = kc.make_mounts(p, p.spec.containers[0], str(tmp_path), sources)
    host, target, readonly = mounts[0]
    assert target.endswith("serviceaccount") and readonly
    assert Path(host, "token").read_bytes() == b"old"
    kc.refresh_volumes(p, str(tmp_path), {**sources, token_source_key(t): {"token": b"new"}})
    assert Path(host, "token").read_bytes() == b"new"
    kc.refresh_volumes(p, str(tmp_path), {token_source_key(t): {"token": b"x"}})  # no CA now
    assert Path(host, "token").read_bytes() == b"new"  # a failed refresh keeps the old files
