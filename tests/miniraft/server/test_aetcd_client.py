"""The aetcd client from PyPI, unchanged, against a 3-member miniraft.

aetcd runs in a child process (aetcd_session.py): it ships its own generated
copy of etcd's protos, which protobuf's default pool cannot hold next to ours.
The expected values are what the same session printed against a real 3-member
etcd 3.4 (Debian etcd-server): revisions, versions, watch events with history,
transactions, leases with keys and the error text of an empty key.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SESSION = Path(__file__).with_name("aetcd_session.py")


def kv(key: str, value: str, create: int, mod: int, version: int) -> dict:
    return {
        "key": key,
        "value": value,
        "create_revision": create,
        "mod_revision": mod,
        "version": version,
        "has_lease": False,
    }


def test_aetcd_session_matches_etcd(cluster3):
    endpoint = cluster3.members[1].endpoint  # a follower or the leader: either must serve it
    r = subprocess.run(
        [sys.executable, str(SESSION), endpoint], capture_output=True, text=True, timeout=90
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout)
    assert got == {
        "put1": 2,
        "put3_prev": kv("a/1", "v1", 2, 2, 1),
        "get": kv("a/1", "v1b", 2, 4, 2),
        "get_missing": True,
        "prefix": [kv("a/1", "v1b", 2, 4, 2), kv("a/2", "v2", 3, 3, 1)],
        "range": ["a/1"],
        "txn": [True, False, "v2", "txn-ok"],
        "watch_event": {"kind": "PUT", **kv("w/x", "1", 6, 6, 1)},
        "watch_history": {"kind": "PUT", **kv("a/1", "v1", 2, 2, 1)},
        "lease_ttl": 60,
        "lease_keys": ["l/k"],
        "lease_refresh_ttl": 60,
        "lease_remaining_ok": True,
        "leased_key_after_revoke": True,
        "deleted": True,
        "final_keys": ["a/1", "w/x"],
        "empty_key_error": "etcdserver: key is not provided",
    }
