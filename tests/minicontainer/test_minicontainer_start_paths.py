"""The two ways an init is started (process.py), each against runc.

A config with nothing to join and no user namespace is cloned directly from
the runtime (clone3 with its namespaces, into its cgroup2 directory); one that
joins a namespace by `path` goes through the stage-1 child (nsexec.py). Both
must land the process in the same namespaces and cgroups runc gives it.
runtime-spec config-linux.md "Namespaces": a `path` means join, none means new.
"""

from __future__ import annotations

import json
import os

import pytest

pytestmark = [pytest.mark.root, pytest.mark.kernel("cgroup", "netns"), pytest.mark.tool("runc")]

PROBE = "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; cat /proc/self/cgroup"


def _ns(pid: int, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def _probe(rt, make_bundle, holder_pid: int, cid: str) -> dict:
    def join_net(spec):
        for ns in spec["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = f"/proc/{holder_pid}/ns/net"

    bundle = make_bundle(["sh", "-c", PROBE], join_net)
    out = rt("run", "-b", str(bundle), cid)
    assert out.returncode == 0, out.stderr
    net, ipc, *cgroups = out.stdout.splitlines()
    return {
        "joined_holder_net": net == _ns(holder_pid, "net"),
        "own_ipc": ipc not in (_ns(holder_pid, "ipc"), _ns(os.getpid(), "ipc")),
        "cgroups": sorted(line.replace(cid, "<id>") for line in cgroups),
    }


def test_joining_by_path_goes_through_stage1_like_runc(runtimes, make_bundle, new_id):
    """A network namespace joined by path (stage-1), the rest new: as runc does it."""
    results = {}
    for rt_name in ("minicontainer", "runc"):
        rt = runtimes[rt_name]
        holder = new_id()
        created = rt("create", "-b", str(make_bundle(["sleep", "30"])), holder)
        assert created.returncode == 0, created.stderr
        try:
            pid = json.loads(rt("state", holder).stdout)["pid"]
            results[rt_name] = _probe(rt, make_bundle, pid, new_id())
        finally:
            rt("delete", "-f", holder)
    assert results["minicontainer"]["joined_holder_net"]
    assert results["minicontainer"]["own_ipc"]
    assert results["minicontainer"] == results["runc"]


def test_direct_clone_lands_in_every_cgroup(mc, make_bundle, new_id):
    """The one-stage start: born in cgroup2, joins v1 itself; nothing left after delete."""
    cid = new_id()
    out = mc("run", "-b", str(make_bundle(["cat", "/proc/self/cgroup"])), cid)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines and all(line.endswith("/" + cid) for line in lines), lines
    assert not any(os.path.exists(f"/sys/fs/cgroup/{c}/{cid}") for c in ("pids", "unified"))
