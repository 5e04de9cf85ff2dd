"""Side by side: the same etcdctl session against the real etcd 3.4 and against miniraft.

The oracle is Debian's etcd-server, started by the test on free loopback ports
with a temp data dir. Outputs are compared line by line after masking what is
legitimately different (member, cluster and lease IDs, raft terms and indexes);
revisions, versions, values, counts and error texts must be identical.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from miniraft.server.procs import ProcCluster, etcdctl, wait_ready

pytestmark = pytest.mark.tool("etcd", "etcdctl")

SESSION: list[tuple[tuple[str, ...], str | None]] = [
    (("put", "a", "1", "-w", "json"), None),
    (("put", "a", "2", "--prev-kv"), None),
    (("put", "b/x", "3"), None),
    (("put", "b/y", "4"), None),
    (("get", "a", "-w", "json"), None),
    (("get", "a", "--rev=2"), None),
    (("get", "b/", "--prefix", "-w", "json"), None),
    (("get", "b/", "--prefix", "--limit=1", "-w", "json"), None),
    (("get", "", "--from-key", "--keys-only"), None),
    (("get", "b/", "--prefix", "--sort-by=MODIFY", "--order=DESCEND"), None),
    (("get", "a", "--rev=99"), None),
    (("txn", "-w", "json"), 'mod("a") > "1"\n\nput c 5\nget c\n\nput c 6\n\n'),
    (("txn",), 'value("a") = "nope"\n\nput c 7\n\ndel b/x\n\n'),
    (("del", "b/", "--prefix", "--prev-kv", "-w", "json"), None),
    (("get", "b/", "--prefix", "--rev=4", "--print-value-only"), None),
    (("watch", "a", "--rev=1"), None),
    (("lease", "grant", "60"), None),
    (("put", "l", "v", "--lease=LEASE"), None),
    (("lease", "timetolive", "LEASE", "--keys"), None),
    (("lease", "keep-alive", "--once", "LEASE"), None),
    (("lease", "revoke", "LEASE"), None),
    (("get", "l", "-w", "json"), None),
    (("lease", "revoke", "LEASE"), None),
    (("lease", "timetolive", "LEASE"), None),
    (("compaction", "5"), None),
    (("get", "a", "--rev=3"), None),
    (("compaction", "4"), None),
    (("put", "", "v"), None),
    (("put", "big"), "x" * (1536 * 1024 + 10)),
    (("txn",), "\nput k1 a\nput k1 b\n\n\n"),
    (("txn",), "\n" + "".join(f"put k{i} v\n" for i in range(129)) + "\n\n"),
    (("member", "list", "-w", "json"), None),
    (("endpoint", "status", "-w", "json"), None),
]

_MASKS = [
    (re.compile(r'"(cluster_id|member_id|ID|leader)":\d+'), r'"\1":ID'),
    (
        re.compile(r'"(raft_term|raftIndex|raftTerm|raftAppliedIndex|dbSize|dbSizeInUse)":\d+'),
        r'"\1":N',
    ),
    (re.compile(r'"version":"[^"]*"'), '"version":V'),
    (re.compile(r'"(peerURLs|clientURLs)":\["[^"]*"\]'), r'"\1":URL'),
    (re.compile(r'"Endpoint":"[^"]*"'), '"Endpoint":E'),
    (re.compile(r'"name":"[^"]*"'), '"name":NAME'),
    (re.compile(r"\b[0-9a-f]{16}\b"), "ID"),
    (re.compile(r"remaining\(\d+s\)"), "remaining(Ns)"),
]


def _mask(text: str) -> str:
    for pat, rep in _MASKS:
        text = pat.sub(rep, text)
    return text


def _run(endpoint: str) -> list[str]:
    out, lease = [], ""
    for args, stdin in SESSION:
        args = tuple(a.replace("LEASE", lease) for a in args)
        if args[0] == "watch":
            r = subprocess.run(
                ["timeout", "1.5", "etcdctl", "--endpoints", endpoint, *args],
                capture_output=True,
                text=True,
                env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
            )
        else:
            r = etcdctl(endpoint, *args, stdin=stdin)
        if args[:2] == ("lease", "grant"):
            lease = r.stdout.split()[1]
        err = [ln for ln in r.stderr.splitlines() if ln.startswith("Error")]
        out.append(_mask(f"$ {' '.join(args[:3])}\n{r.stdout}{''.join(err)}"))
    return out


def test_same_session_same_output_as_etcd() -> None:
    with ProcCluster(1, binary="etcd") as real, ProcCluster(1) as ours:
        wait_ready(real)
        wait_ready(ours)
        want = _run(real.endpoints)
        got = _run(ours.endpoints)
    for w, g in zip(want, got, strict=True):
        assert g == w
