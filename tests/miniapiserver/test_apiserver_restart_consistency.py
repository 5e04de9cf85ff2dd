"""LIST and WATCH at one resourceVersion agree, right after a restart under load (issue #5).

The bug: after `python -m miniapiserver` restarted while clients kept writing, a LIST at
an old resourceVersion was answered while a WATCH at that same revision got 410 Gone —
lists and watches judged a revision by different rules. Upstream's rule
(cacher/delegator): an exact-revision LIST is served by the watch cache exactly when the
cache's event ring reaches back to it (the very test a WATCH passes); older revisions
are read from etcd; a revision the cache has not reached waits up to 3 s
(waitUntilFreshAndBlock) and then fails with 504 "Too large resource version".
Here a real etcd 3.4 and a real server process, restarted while a thread creates
ConfigMaps; `/metrics` tells which layer answered each LIST.
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapiserver.cacher import delegator
from miniapiserver.cacher.watch_cache import WatchCache
from miniapiserver.storage.continue_token import encode_continue
from miniapiserver.storage.interfaces import ADDED, DELETED, MODIFIED

from .conftest import APIServerProcess, RestartableAPIServer


class Server:
    """HTTP calls to the (restartable) second server, wherever it listens now."""

    def __init__(self, second: RestartableAPIServer) -> None:
        self.second = second

    @property
    def proc(self) -> APIServerProcess:
        return self.second.proc

    def restart(self) -> None:
        self.second.restart()

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 20):
        pool = urllib3.PoolManager(ca_certs=self.proc.ca, cert_reqs="CERT_REQUIRED")
        headers = {"Authorization": f"Bearer {self.proc.token}"}
        data = json.dumps(body).encode() if body is not None else None
        if data:
            headers["Content-Type"] = "application/json"
        r = pool.request(method, self.proc.url + path, body=data, headers=headers, timeout=timeout)
        return r.status, r.data

    def metric(self, name: str) -> float:
        _, text = self.call("GET", "/metrics")
        total = 0.0
        for line in text.decode().splitlines():
            if line.startswith(name + "{") and 'configmaps"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total


@pytest.fixture(scope="module")
def server(second_apiserver: RestartableAPIServer) -> Server:
    return Server(second_apiserver)


def cm(ns: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}


def create(s: Server, ns: str, name: str) -> int:
    code, body = s.call("POST", f"/api/v1/namespaces/{ns}/configmaps", cm(ns, name))
    assert code == 201, body
    return int(json.loads(body)["metadata"]["resourceVersion"])


def list_at(s: Server, ns: str, query: str) -> tuple[int, dict]:
    code, body = s.call("GET", f"/api/v1/namespaces/{ns}/configmaps?{query}")
    return code, json.loads(body)


def watch_first(s: Server, ns: str, rv: int) -> list[dict]:
    """The events a 1-second watch from rv delivers."""
    code, body = s.call("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1")  # fmt: skip
    assert code == 200
    return [json.loads(line) for line in body.decode().splitlines() if line]


def names(listed: dict) -> list[str]:
    return [i["metadata"]["name"] for i in listed["items"]]


class Load:
    """Creates ConfigMaps in its own namespace until stopped (the 'under load' part)."""

    def __init__(self, s: Server, ns: str) -> None:
        self.s, self.ns, self.stop = s, ns, threading.Event()
        self.count = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                code, _ = self.s.call("POST", f"/api/v1/namespaces/{self.ns}/configmaps",
                                      cm(self.ns, f"l{self.count}"), timeout=5)  # fmt: skip
                self.count += code == 201
            except urllib3.exceptions.HTTPError:
                pass  # the server is restarting: keep going
            self.stop.wait(0.01)  # steady writes, leaving CPU to the server on 2 cores

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def test_list_and_watch_agree_after_a_restart_under_load(server: Server) -> None:
    ns, load_ns = f"rc-{uuid.uuid4().hex[:6]}", f"load-{uuid.uuid4().hex[:6]}"
    for n in (ns, load_ns):
        server.call("POST", "/api/v1/namespaces", {"metadata": {"name": n}})
    before = [create(server, ns, f"a{i}") for i in range(4)]
    old = before[1]  # two objects existed at this revision
    with Load(server, load_ns) as load:
        server.restart()  # the watch cache starts over at the current revision
        after = [create(server, ns, f"b{i}") for i in range(4)]
        recent = after[1]  # a revision the new cache's ring holds

        # Old revision: the ring does not reach it, so neither does the cache.
        cached, stored = server.metric("apiserver_cache_list_total"), server.metric("apiserver_storage_list_total")  # fmt: skip
        code, exact_old = list_at(server, ns, f"resourceVersion={old}&resourceVersionMatch=Exact")
        assert code == 200 and names(exact_old) == ["a0", "a1"]
        assert exact_old["metadata"]["resourceVersion"] == str(old)
        code, legacy_old = list_at(server, ns, f"resourceVersion={old}&limit=1")
        assert names(legacy_old) == ["a0"] and legacy_old["metadata"]["continue"]
        assert server.metric("apiserver_storage_list_total") == stored + 2
        assert server.metric("apiserver_cache_list_total") == cached
        [gone] = watch_first(server, ns, old)
        assert gone["type"] == "ERROR" and gone["object"]["code"] == 410

        # Recent revision: the cache answers the exact list, and the watch works.
        code, exact_recent = list_at(server, ns, f"resourceVersion={recent}&resourceVersionMatch=Exact")  # fmt: skip
        assert names(exact_recent) == ["a0", "a1", "a2", "a3", "b0", "b1"]
        page1 = list_at(server, ns, f"resourceVersion={recent}&limit=4")[1]
        token = page1["metadata"]["continue"]
        page2 = list_at(server, ns, f"limit=4&continue={token}")[1]
        assert names(page1) + names(page2) == names(exact_recent)
        assert page1["metadata"]["remainingItemCount"] == 2
        assert server.metric("apiserver_cache_list_total") == cached + 3
        assert server.metric("apiserver_storage_list_total") == stored + 2
        events = watch_first(server, ns, recent)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
            ("ADDED", "b2"), ("ADDED", "b3"),
        ]  # fmt: skip

        # NotOlderThan an old revision: the cache's current state, watchable from its RV.
        code, fresh = list_at(server, ns, f"resourceVersion={old}&resourceVersionMatch=NotOlderThan")  # fmt: skip
        assert len(fresh["items"]) == 8
        assert all(e["type"] != "ERROR" for e in watch_first(server, ns, int(fresh["metadata"]["resourceVersion"])))  # fmt: skip
    assert load.count > 0


def test_a_revision_ahead_of_the_cache_is_too_large_after_the_wait(server: Server) -> None:
    ns = f"tl-{uuid.uuid4().hex[:6]}"
    server.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    ahead = create(server, ns, "x") + 10_000
    code, body = list_at(server, ns, f"resourceVersion={ahead}&resourceVersionMatch=NotOlderThan")
    assert code == 504
    assert body["reason"] == "Timeout" and body["message"].startswith(
        f"Timeout: Too large resource version: {ahead}, current: "
    )
    assert body["details"]["retryAfterSeconds"] == 1
    assert body["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]


# The pure part: the ring rebuilds the state at every revision it still reaches.
EVENTS = st.lists(st.tuples(st.sampled_from("abcd"), st.booleans()), max_size=40)


@settings(max_examples=60, deadline=None)
@given(EVENTS, st.integers(min_value=1, max_value=12))
def test_list_at_rebuilds_every_reachable_revision(events, capacity) -> None:
    cache = WatchCache(capacity)
    cache.replace({"cm/ns/a": {"v": 0}}, 10)
    model = {"cm/ns/a": {"v": 0}}
    history = {10: dict(model)}
    for rv, (name, delete) in enumerate(events, start=11):
        key = f"cm/ns/{name}"
        if delete and key in model:
            cache.process_event(DELETED, key, model.pop(key), rv)
        else:
            model[key] = {"v": rv}
            cache.process_event(MODIFIED if key in model else ADDED, key, model[key], rv)
        history[rv] = dict(model)
    for rv, state in history.items():
        reachable = cache.can_serve_exact(rv)
        # Reachable exactly from the ring's oldest revision on: the rule a WATCH uses.
        assert reachable == (rv >= cache.oldest_rv())
        if reachable:
            assert cache.list_at(rv, "cm/") == sorted(state.items())


@pytest.mark.parametrize(
    ("rv", "match", "limit", "semantic"),
    [
        ("", "", 0, "Quorum"),
        ("", "", 500, "Quorum"),
        ("0", "", 500, "Any"),  # the watch cache ignores the limit of an rv=0 list
        ("7", "", 0, "NotOlderThan"),
        ("7", "", 500, "Exact"),  # legacy: a paged list at a revision is exact
        ("7", "NotOlderThan", 500, "NotOlderThan"),
        ("0", "NotOlderThan", 0, "Any"),
        ("7", "Exact", 0, "Exact"),
    ],
)
def test_list_semantics(rv: str, match: str, limit: int, semantic: str) -> None:
    assert delegator.consistency(rv, match, limit, "") == semantic


def test_exact_reads_follow_the_ring() -> None:
    cache = WatchCache(capacity=2)
    cache.replace({}, 10)
    for rv in (11, 12, 13):
        cache.process_event(ADDED, f"cm/ns/c{rv}", {"v": rv}, rv)
    # the ring holds 12 and 13: a watch from 11 is served, from 10 it is 410
    assert cache.oldest_rv() == 11

    def decide(rv: str, match: str = "Exact") -> delegator.Result:
        return delegator.should_delegate_list(rv, match, 0, "", "cm/ns/", cache)

    assert decide("11") == delegator.Result(False, exact_rv=11)
    assert decide("10").should_delegate  # older than the ring: etcd
    assert decide("14").should_delegate  # ahead of the cache: etcd (no consistent reads here)
    assert not decide("10", "NotOlderThan").should_delegate
    assert delegator.should_delegate_list("", "", 0, "", "cm/ns/", cache).consistent_read
    token = encode_continue("cm/ns/c12\x00", "cm/ns/", 12)
    assert delegator.should_delegate_list("", "", 1, token, "cm/ns/", cache).exact_rv == 12
