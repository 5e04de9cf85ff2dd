"""The real etcdctl 3.4 against a 3-member miniraft cluster over real sockets.

Each test is an etcdctl session a learner could type; outputs are checked
against what etcd 3.4 prints (see test_etcd_oracle.py for the side-by-side).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from miniraft.server.procs import ProcCluster, etcdctl, wait_ready

pytestmark = pytest.mark.tool("etcdctl")


def ok(c, *args, stdin=None) -> str:
    r = etcdctl(c.endpoints, *args, stdin=stdin)
    assert r.returncode == 0, r.stderr
    return r.stdout


def err(c, *args, stdin=None) -> str:
    r = etcdctl(c.endpoints, *args, stdin=stdin)
    assert r.returncode != 0, r.stdout
    return r.stderr.strip().splitlines()[-1]


def test_put_get_revisions_versions_and_options(cluster3) -> None:
    c = cluster3
    first = json.loads(ok(c, "put", "g/a", "1", "-w", "json"))["header"]["revision"]
    ok(c, "put", "g/b", "2")
    ok(c, "put", "g/a", "3")
    ok(c, "put", "g/c", "0")
    kvs = json.loads(ok(c, "get", "g/a", "-w", "json"))["kvs"][0]
    assert kvs["create_revision"] == first and kvs["mod_revision"] == first + 2
    assert kvs["version"] == 2
    assert ok(c, "get", "g/a", f"--rev={first}", "--print-value-only") == "1\n"
    assert ok(c, "get", "g/", "--prefix", "--keys-only").split() == ["g/a", "g/b", "g/c"]
    limited = json.loads(ok(c, "get", "g/", "--prefix", "--limit=2", "-w", "json"))
    assert limited["more"] and limited["count"] == 3 and len(limited["kvs"]) == 2
    by_value = ok(c, "get", "g/", "--prefix", "--sort-by=VALUE", "--order=DESCEND")
    assert by_value.split()[::2] == ["g/a", "g/b", "g/c"]
    assert ok(c, "get", "g/b", "--from-key", "--keys-only").split()[:2] == ["g/b", "g/c"]
    ser = ok(c, "get", "g/a", "--consistency=s", "--print-value-only")
    assert ser == "3\n"


def test_del_prev_kv_and_txn_from_stdin(cluster3) -> None:
    c = cluster3
    ok(c, "put", "d/x", "1")
    ok(c, "put", "d/y", "2")
    out = ok(c, "del", "d/", "--prefix", "--prev-kv")
    assert out.split() == ["2", "d/x", "1", "d/y", "2"]
    ok(c, "put", "t/k", "old")
    script = 'value("t/k") = "old"\n\nput t/k new\nget t/k\n\nput t/k failed\n\n'
    assert ok(c, "txn", stdin=script).split() == ["SUCCESS", "OK", "t/k", "new"]
    assert ok(c, "txn", stdin=script).split() == ["FAILURE", "OK"]
    assert ok(c, "get", "t/k", "--print-value-only") == "failed\n"


def test_watch_with_rev_prefix_and_prev_kv(cluster3) -> None:
    c = cluster3
    rev = json.loads(ok(c, "put", "w/a", "1", "-w", "json"))["header"]["revision"]
    ok(c, "put", "w/a", "2")
    env = dict(os.environ, ETCDCTL_API="3")
    p = subprocess.Popen(
        ["etcdctl", "--endpoints", c.endpoints, "watch", "w/", "--prefix", "--prev-kv"]
        + [f"--rev={rev}"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        time.sleep(0.5)
        ok(c, "put", "w/b", "3")
        ok(c, "del", "w/a")
        lines = [p.stdout.readline().strip() for _ in range(13)]
    finally:
        p.terminate()
        p.wait(5)
    assert lines == [
        "PUT", "w/a", "1",
        "PUT", "w/a", "1", "w/a", "2",
        "PUT", "w/b", "3",
        "DELETE", "w/a",
    ]  # fmt: skip


def test_lease_grant_keepalive_timetolive_revoke(cluster3) -> None:
    c = cluster3
    out = ok(c, "lease", "grant", "30")
    lease = out.split()[1]
    assert out.endswith("granted with TTL(30s)\n")
    ok(c, "put", "l/k", "v", f"--lease={lease}")
    ttl = ok(c, "lease", "timetolive", lease, "--keys")
    assert ttl.startswith(f"lease {lease} granted with TTL(30s), remaining(")
    assert ttl.strip().endswith("attached keys([l/k])")
    assert ok(c, "lease", "keep-alive", "--once", lease).startswith(
        f"lease {lease} keepalived with TTL(30)"
    )
    assert lease in ok(c, "lease", "list").split()
    assert ok(c, "lease", "revoke", lease) == f"lease {lease} revoked\n"
    assert ok(c, "get", "l/k") == ""
    assert ok(c, "lease", "timetolive", lease) == f"lease {lease} already expired\n"
    assert err(c, "put", "l/z", "v", f"--lease={lease}") == (
        "Error: etcdserver: requested lease not found"
    )
    short = ok(c, "lease", "grant", "2").split()[1]
    ok(c, "put", "l/short", "v", f"--lease={short}")
    deadline = time.monotonic() + 20
    while ok(c, "get", "l/short") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert ok(c, "get", "l/short") == ""  # the leader revoked the expired lease


def test_compaction_and_revision_errors(cluster3) -> None:
    c = cluster3
    r1 = json.loads(ok(c, "put", "c/a", "1", "-w", "json"))["header"]["revision"]
    r2 = json.loads(ok(c, "put", "c/a", "2", "-w", "json"))["header"]["revision"]
    assert ok(c, "compaction", str(r2)) == f"compacted revision {r2}\n"
    assert err(c, "get", "c/a", f"--rev={r1}") == (
        "Error: etcdserver: mvcc: required revision has been compacted"
    )
    assert err(c, "get", "c/a", f"--rev={r2 + 1000}") == (
        "Error: etcdserver: mvcc: required revision is a future revision"
    )
    assert ok(c, "get", "c/a", f"--rev={r2}", "--print-value-only") == "2\n"


def test_bad_input_gets_etcd_errors(cluster3) -> None:
    c = cluster3
    big = "x" * (1536 * 1024 + 10)  # over --max-request-bytes, under gRPC's own limit
    assert err(c, "put", "big", stdin=big) == "Error: etcdserver: request is too large"
    assert ok(c, "get", "big") == ""
    script = "\n" + "".join(f"put k{i} v\n" for i in range(129)) + "\n\n"
    assert err(c, "txn", stdin=script) == ("Error: etcdserver: too many operations in txn request")
    assert err(c, "put", "", "v") == "Error: etcdserver: key is not provided"
    dup = "\nput same a\nput same b\n\n\n"
    assert err(c, "txn", stdin=dup) == "Error: etcdserver: duplicate key given in txn request"


def test_endpoint_status_health_hashkv(cluster3) -> None:
    c = cluster3
    status = [json.loads(line) for line in ok(c, "endpoint", "status", "-w", "json").splitlines()]
    rows = json.loads(ok(c, "endpoint", "status", "-w", "json").splitlines()[0])
    assert len(rows) == 3 or isinstance(status[0], list)
    table = ok(c, "endpoint", "status")
    assert table.count(", true, ") == 1  # exactly one leader
    health = etcdctl(c.endpoints, "endpoint", "health")
    assert health.returncode == 0 and health.stderr.count("is healthy") == 3
    ok(c, "put", "h/a", "1")
    deadline = time.monotonic() + 10
    while True:
        hashes = {line.split(", ")[1] for line in ok(c, "endpoint", "hashkv").splitlines()}
        if len(hashes) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(hashes) == 1


def test_member_add_learner_list_remove(cluster3) -> None:
    c = cluster3
    out = ok(c, "member", "add", "newbie", "--learner", "--peer-urls=http://127.0.0.1:1")
    mid = out.split()[1]
    assert "added to cluster" in out
    listing = ok(c, "member", "list")
    assert f"{mid}, unstarted, , http://127.0.0.1:1, , true" in listing
    assert len(listing.splitlines()) == 4
    again = "--peer-urls=http://127.0.0.1:1,http://127.0.0.1:2"
    assert err(c, "member", "add", "again", again) == (
        "Error: etcdserver: Peer URLs already exists"
    )
    # etcdctl prints IDs with %16x: a 15-digit ID gets a leading space.
    assert ok(c, "member", "remove", mid).startswith(f"Member {int(mid, 16):16x} removed")
    assert len(ok(c, "member", "list").splitlines()) == 3
    assert err(c, "member", "remove", mid) == "Error: etcdserver: member not found"


def test_snapshot_save_then_restore_a_new_cluster(cluster3, tmp_path) -> None:
    c = cluster3
    ok(c, "put", "s/1", "one")
    ok(c, "put", "s/2", "two")
    db = tmp_path / "backup.db"
    r = etcdctl(c.members[0].endpoint, "snapshot", "save", str(db))
    assert r.returncode == 0 and f"Snapshot saved at {db}" in r.stdout
    fresh = ProcCluster(1)
    m = fresh.members[0]
    restore = subprocess.run(
        [sys.executable, "-m", "miniraft", "snapshot", "restore", str(db)]
        + ["--name", m.name, "--data-dir", str(m.data_dir)]
        + ["--initial-cluster", fresh.initial_cluster]
        + ["--initial-cluster-token", fresh.token, "--initial-advertise-peer-urls", m.peer_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert restore.returncode == 0, restore.stderr
    with fresh:
        deadline = time.monotonic() + 30
        while etcdctl(fresh.endpoints, "get", "s/2").returncode != 0:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert ok(fresh, "get", "s/", "--prefix", "--print-value-only").split() == [
            "one",
            "two",
        ]
        assert len(ok(fresh, "member", "list").splitlines()) == 1


def test_learner_joins_existing_cluster_then_is_promoted() -> None:
    with ProcCluster(1) as c:
        wait_ready(c)
        for i in range(20):
            ok(c, "put", f"j/{i:02d}", "v")
        new = c.add_proc()
        out = ok(c, "member", "add", new.name, "--learner", f"--peer-urls={new.peer_url}")
        mid = out.split()[1]
        assert 'ETCD_INITIAL_CLUSTER_STATE="existing"' in out
        initial = ",".join(f"{m.name}={m.peer_url}" for m in c.members)
        c.start_member(new, state="existing", initial=initial)
        deadline = time.monotonic() + 40
        while True:
            r = etcdctl(c.members[0].endpoint, "member", "promote", mid)
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            assert "can only promote a learner member which is in sync with leader" in r.stderr
            time.sleep(0.3)
        assert r.stdout.startswith(f"Member {int(mid, 16):16x} promoted in cluster")
        want = f"{mid}, started, {new.name}, {new.peer_url}, {new.client_url}, false"
        while want not in ok(c, "member", "list") and time.monotonic() < deadline:
            time.sleep(0.2)  # the new member publishes its name and client URLs itself
        assert want in ok(c, "member", "list")
        keys = etcdctl(new.endpoint, "get", "j/", "--prefix", "--keys-only")
        assert keys.stdout.split() == [f"j/{i:02d}" for i in range(20)]
