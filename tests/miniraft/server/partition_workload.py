"""The client side of the partition test, run inside the clients' network namespace.

Started by test_partition_netns.py with `ip netns exec`: waits for the
cluster, runs put writers and put/get/compare-and-set clients on all members,
isolates the leader by taking its veth down on the bridge, heals it, then
checks every acknowledged write, the history's linearizability and HashKV on
all members. Prints one JSON object with what it saw.
Usage: python partition_workload.py SWITCH_NETNS ENDPOINT... (member i on port vI)
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_cluster_faults import (
    Client,
    converged_hashes,
    leader_index,
    lin_client,
    read_retry,
    writer,
)

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.server.linearizability import check

CALM, CUT, HEALED = 2.0, 4.0, 3.0  # seconds of each phase


def link(switch: str, i: int, state: str) -> None:
    """Cable member i's port on the bridge in or out (its veth end in the switch netns)."""
    subprocess.run(["ip", "-n", switch, "link", "set", f"v{i}", state], check=True)


async def wait_cluster(cl: Client, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    for i in range(n):
        while True:
            try:
                await cl.kv(i).Range(pb.RangeRequest(key=b"ready"), timeout=2)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def majority_leader(cl: Client, n: int, cut: int) -> int:
    """Index of the leader all connected members agree on, or -1."""
    ids, leads = {}, set()
    try:
        for i in range(n):
            if i != cut:
                st = await cl.maint(i).Status(pb.StatusRequest(), timeout=2)
                ids[st.header.member_id] = i
                leads.add(st.leader)
    except Exception:
        return -1
    return ids.get(leads.pop(), -1) if len(leads) == 1 else -1


async def scenario(switch: str, endpoints: list[str]) -> dict:
    n = len(endpoints)
    cl = Client(endpoints)
    await wait_cluster(cl, n)
    stop = asyncio.Event()
    acked: dict[bytes, int] = {}
    history: list = []
    tasks = [asyncio.create_task(writer(cl, w, stop, acked)) for w in range(2)]
    tasks += [asyncio.create_task(lin_client(cl, c, stop, history)) for c in range(4)]
    await asyncio.sleep(CALM)
    old = await leader_index(cl, n)
    link(switch, old, "down")
    try:
        before = len(acked)
        await asyncio.sleep(CUT)
        during = len(acked) - before
        new = await majority_leader(cl, n, old)
    finally:
        link(switch, old, "up")
    await asyncio.sleep(HEALED)
    stop.set()
    await asyncio.gather(*tasks)
    got = await read_retry(cl, pb.RangeRequest(key=b"f/", range_end=b"f0"))
    stored = {kv.key: kv.mod_revision for kv in got.kvs}
    lost = sorted(k.decode() for k, rev in acked.items() if stored.get(k) != rev)
    hashes = await converged_hashes(cl, n, timeout=20)
    await cl.close()
    return {
        "old_leader": old,
        "new_leader": new,
        "acked": len(acked),
        "acked_while_cut": during,
        "lost": lost[:5],
        "history": len(history),
        "linearizable": check(history),
        "hashes": len(hashes),
    }


def main() -> int:
    print(json.dumps(asyncio.run(scenario(sys.argv[1], sys.argv[2:]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
