"""`python -m miniraft`: a 3-member cluster tells its own story in about a minute.

Starts three `python -m miniraft serve` processes on free loopback ports and
shows a live table (role, term, commit index, applied index) while it:
elects a leader, writes, watches, kill -9s the leader, re-elects, resumes the
watch without losing an event, proves no acknowledged write was lost,
restarts the old leader (catch-up from the log), lets a member fall far behind
(catch-up from a snapshot), takes a backup and restores it into a new cluster.
`--keep` leaves the cluster running and prints the etcdctl line to use.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

import grpc
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from miniraft.api.etcdserverpb import rpc_pb2 as pb
from miniraft.api.etcdserverpb import rpc_pb2_grpc as rpc
from miniraft.server.procs import Proc, ProcCluster

FLAGS = ["--snapshot-count", "100", "--experimental-snapshot-catchup-entries", "20"]


class Demo:
    def __init__(self, c: ProcCluster, console: Console) -> None:
        self.c = c
        self.console = console
        self.chans = {m.name: grpc.aio.insecure_channel(m.endpoint) for m in c.members}
        self.status: dict[str, pb.StatusResponse | None] = {}
        self.events: list[str] = []
        self.t0 = time.monotonic()
        self.acked: dict[bytes, bytes] = {}
        self.watched: list[tuple[int, bytes]] = []

    def event(self, text: str) -> None:
        self.events.append(f"[{time.monotonic() - self.t0:5.1f}s] {text}")

    def kv(self, m: Proc) -> rpc.KVStub:
        return rpc.KVStub(self.chans[m.name])

    def render(self) -> Group:
        t = Table(title="miniraft cluster", expand=False)
        for col in ("member", "endpoint", "role", "term", "commit", "applied", "revision"):
            t.add_column(col)
        for m in self.c.members:
            st = self.status.get(m.name)
            if st is None or not m.alive():
                t.add_row(m.name, m.endpoint, Text("down", style="red"), "", "", "", "")
                continue
            lead = st.leader == st.header.member_id
            role = Text("leader", style="bold green") if lead else Text("follower")
            t.add_row(
                m.name, m.endpoint, role, str(st.raftTerm), str(st.raftIndex),
                str(st.raftAppliedIndex), str(st.header.revision),
            )  # fmt: skip
        return Group(t, Text("\n".join(self.events[-20:])))

    async def poll(self, live: Live) -> None:
        while True:
            for m in self.c.members:
                try:
                    stub = rpc.MaintenanceStub(self.chans[m.name])
                    self.status[m.name] = await stub.Status(pb.StatusRequest(), timeout=0.5)
                except grpc.aio.AioRpcError:
                    self.status[m.name] = None
            live.update(self.render())
            await asyncio.sleep(0.2)

    def leader(self) -> Proc | None:
        for m in self.c.members:
            st = self.status.get(m.name)
            if st is not None and m.alive() and st.leader == st.header.member_id:
                return m
        return None

    async def wait_leader(self, not_: Proc | None = None, timeout: float = 20) -> Proc:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.leader()
            if m is not None and m is not not_:
                return m
            await asyncio.sleep(0.1)
        raise TimeoutError("no leader elected")

    async def put(self, key: bytes, value: bytes, avoid: Proc | None = None) -> None:
        for _ in range(50):
            for m in self.c.members:
                if m is avoid or not m.alive():
                    continue
                try:
                    await self.kv(m).Put(pb.PutRequest(key=key, value=value), timeout=2)
                    self.acked[key] = value
                    return
                except grpc.aio.AioRpcError:
                    continue
            await asyncio.sleep(0.1)
        raise TimeoutError(f"put {key!r} failed")

    async def watch(self, prefix: bytes) -> None:
        """A watch that resumes on another member from the next revision, as clientv3 does."""
        next_rev = 0
        while True:
            for m in self.c.members:
                if not m.alive():
                    continue
                req = pb.WatchRequest(
                    create_request=pb.WatchCreateRequest(
                        key=prefix, range_end=prefix[:-1] + b"0", start_revision=next_rev
                    )
                )
                if next_rev:
                    self.event(f"watch resumed on {m.name} from revision {next_rev}")
                call = rpc.WatchStub(self.chans[m.name]).Watch()
                try:
                    await call.write(req)  # and keep the stream open: half-close ends a watch
                    async for resp in call:
                        for ev in resp.events:
                            self.watched.append((ev.kv.mod_revision, ev.kv.key))
                            next_rev = ev.kv.mod_revision + 1
                            if len(self.watched) % 10 == 1:
                                self.event(f"watch: PUT {ev.kv.key.decode()} @{ev.kv.mod_revision}")
                except grpc.aio.AioRpcError:
                    continue
                finally:
                    call.cancel()
            await asyncio.sleep(0.2)

    async def applied_equal(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sts = [self.status.get(m.name) for m in self.c.members if m.alive()]
            if all(sts) and len({s.raftAppliedIndex for s in sts}) == 1:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError("members did not catch up")


async def story(d: Demo) -> None:
    c = d.c
    lead = await d.wait_leader()
    st = d.status[lead.name]
    d.event(f"election: {lead.name} is leader at term {st.raftTerm}")
    watch = asyncio.create_task(d.watch(b"demo/"))
    await asyncio.sleep(0.3)
    for i in range(30):
        await d.put(b"demo/%03d" % i, b"v%d" % i)
    d.event("wrote 30 keys; every Put fsynced on a majority before OK")
    d.event(f"kill -9 {lead.name} (the leader)")
    c.kill(lead)
    t = time.monotonic()
    new = await d.wait_leader(not_=lead)
    d.event(
        f"re-election: {new.name} leader at term {d.status[new.name].raftTerm} "
        f"after {time.monotonic() - t:.1f}s"
    )
    for i in range(30, 60):
        await d.put(b"demo/%03d" % i, b"v%d" % i, avoid=lead)
    await _check_no_loss(d, new)
    c.start_member(lead)
    d.event(f"restarted {lead.name}: replays its WAL, then catches up from the leader's log")
    await d.applied_equal()
    d.event(f"{lead.name} caught up (applied index equal on all members)")
    await _snapshot_catch_up(d)
    await _backup_restore(d)
    watch.cancel()
    await asyncio.gather(watch, return_exceptions=True)
    revs = [r for r, _ in d.watched]
    ok = revs == sorted(set(revs)) and len(revs) >= 60
    d.event(f"the watch saw {len(revs)} events, in order, none twice: {'yes' if ok else 'NO'}")


async def _check_no_loss(d: Demo, m: Proc) -> None:
    resp = await d.kv(m).Range(pb.RangeRequest(key=b"demo/", range_end=b"demo0"), timeout=5)
    got = {kv.key: kv.value for kv in resp.kvs}
    lost = [k for k, v in d.acked.items() if k.startswith(b"demo/") and got.get(k) != v]
    d.event(f"no acknowledged write lost: {len(d.acked) - len(lost)}/{len(d.acked)} present")


async def _snapshot_catch_up(d: Demo) -> None:
    c = d.c
    lag = next(m for m in c.members if m is not d.leader())
    c.kill(lag)
    d.event(f"kill -9 {lag.name}; writing 300 keys while it is down (snapshot every 100)")
    for i in range(0, 300, 20):
        await asyncio.gather(
            *(d.put(b"bulk/%03d" % j, b"x" * 100, avoid=lag) for j in range(i, i + 20))
        )
    c.start_member(lag)
    await d.applied_equal()
    how = "a snapshot" if "applying snapshot" in lag.log_path.read_text() else "the log"
    d.event(f"{lag.name} caught up from {how}: the leader had compacted its log")
    hashes = set()
    for m in c.members:
        r = await rpc.MaintenanceStub(d.chans[m.name]).HashKV(pb.HashKVRequest(), timeout=5)
        hashes.add(r.hash)
    d.event(f"HashKV equal on all members: {'yes' if len(hashes) == 1 else 'NO'}")


async def _backup_restore(d: Demo) -> None:
    c = d.c
    path = c.base / "backup.db"
    stub = rpc.MaintenanceStub(d.chans[d.leader().name])
    with open(path, "wb") as f:
        async for chunk in stub.Snapshot(pb.SnapshotRequest(), timeout=30):
            f.write(chunk.blob)
    d.event(f"backup: {path.stat().st_size} bytes (what `etcdctl snapshot save` writes)")
    fresh = ProcCluster(1, base=c.base / "restored")
    fresh.base.mkdir()
    m = fresh.members[0]
    cmd = [sys.executable, "-m", "miniraft", "snapshot", "restore", str(path), "--name", m.name]
    cmd += ["--data-dir", str(m.data_dir), "--initial-cluster", fresh.initial_cluster]
    cmd += ["--initial-cluster-token", fresh.token, "--initial-advertise-peer-urls", m.peer_url]
    await asyncio.to_thread(subprocess.run, cmd, check=True, capture_output=True)
    fresh.start()
    try:
        async with grpc.aio.insecure_channel(m.endpoint) as ch:
            for _ in range(100):
                try:
                    r = await rpc.KVStub(ch).Range(
                        pb.RangeRequest(key=b"\0", range_end=b"\0", count_only=True), timeout=2
                    )
                    break
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.2)
        d.event(f"restored the backup into a new 1-member cluster: {r.count} keys")
    finally:
        fresh.stop()


async def run(keep: bool) -> int:
    console = Console()
    c = ProcCluster(3, extra=FLAGS).start()
    d = Demo(c, console)
    d.event(f"started 3 members: {c.endpoints}")
    try:
        with Live(d.render(), console=console, refresh_per_second=8) as live:
            poller = asyncio.create_task(d.poll(live))
            await asyncio.wait_for(story(d), 80)
            await asyncio.sleep(0.5)
            poller.cancel()
            live.update(d.render())
        if keep:
            console.print(
                f"\nETCDCTL_API=3 etcdctl --endpoints={c.endpoints} member list", soft_wrap=True
            )
            console.print("cluster left running; press Ctrl-C to stop it")
            await asyncio.Event().wait()
        return 0
    except TimeoutError as e:
        console.print(f"[red]demo failed: {e}[/red]")
        return 1
    finally:
        for ch in d.chans.values():
            await ch.close()
        c.stop()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m miniraft", description=__doc__)
    p.add_argument("--keep", action="store_true", help="leave the cluster running")
    ns = p.parse_args(argv)
    try:
        return asyncio.run(run(ns.keep))
    except KeyboardInterrupt:
        return 0
