"""Run a cluster of members as subprocesses on free loopback ports.

Used by the demo, the benchmark and the tests — the equivalent of etcd's
tests/framework/e2e (EtcdProcessCluster): start, kill -9, restart, stop, with
every member a real `python -m miniraft serve` process. Also starts real etcd
(the Debian `etcd` binary) with the same flags for side-by-side runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@dataclass
class Proc:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    p: subprocess.Popen | None = None
    host: str = "127.0.0.1"
    netns: str | None = None  # run inside this network namespace (`ip netns exec`)

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.client_port}"

    def alive(self) -> bool:
        return self.p is not None and self.p.poll() is None


@dataclass
class ProcCluster:
    """n members; `binary` None runs miniraft, "etcd" runs the real etcd.

    `netns` puts member i in network namespace netns[i] listening on hosts[i]
    (the partition tests give every member its own namespace on a bridge).
    """

    n: int = 3
    binary: str | None = None
    extra: list[str] = field(default_factory=list)
    base: Path | None = None
    token: str = ""
    members: list[Proc] = field(default_factory=list)
    netns: list[str] | None = None
    hosts: list[str] | None = None

    def __post_init__(self) -> None:
        self.owns_base = self.base is None
        if self.base is None:
            self.base = Path(tempfile.mkdtemp(prefix=f"miniraft-{os.getpid()}-"))
        self.token = self.token or f"tok-{os.getpid()}-{time.monotonic_ns()}"
        ports = free_ports(2 * self.n)
        for i in range(self.n):
            name = f"m{i + 1}"
            self.members.append(
                Proc(
                    name,
                    ports[2 * i],
                    ports[2 * i + 1],
                    self.base / f"{name}.etcd",
                    self.base / f"{name}.log",
                    host=self.hosts[i] if self.hosts else "127.0.0.1",
                    netns=self.netns[i] if self.netns else None,
                )
            )

    @property
    def initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    @property
    def endpoints(self) -> str:
        return ",".join(m.endpoint for m in self.members)

    def command(self, m: Proc, state: str = "new", initial: str | None = None) -> list[str]:
        head = [self.binary] if self.binary else [sys.executable, "-m", "miniraft", "serve"]
        return head + [
            "--name", m.name,
            "--data-dir", str(m.data_dir),
            "--listen-client-urls", m.client_url,
            "--advertise-client-urls", m.client_url,
            "--listen-peer-urls", m.peer_url,
            "--initial-advertise-peer-urls", m.peer_url,
            "--initial-cluster", initial or self.initial_cluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", self.token,
            *self.extra,
        ]  # fmt: skip

    def start_member(self, m: Proc, state: str = "new", initial: str | None = None) -> None:
        log = open(m.log_path, "ab")  # noqa: SIM115 (the child owns it)
        env = dict(os.environ)
        if self.binary is None:
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        wrap = ["ip", "netns", "exec", m.netns] if m.netns else []
        m.p = subprocess.Popen(
            wrap + self.command(m, state, initial),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()

    def start(self) -> ProcCluster:
        try:
            for m in self.members:
                self.start_member(m)
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, m: Proc, sig: int = signal.SIGKILL) -> None:
        if m.alive():
            m.p.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                m.p.wait(60)  # a process stuck in fsync on a busy disk dies late

    def restart(self, m: Proc) -> None:
        self.kill(m)
        self.start_member(m)

    def add_proc(self) -> Proc:
        cp, pp = free_ports(2)
        name = f"m{len(self.members) + 1}"
        m = Proc(name, cp, pp, self.base / f"{name}.etcd", self.base / f"{name}.log")
        self.members.append(m)
        return m

    def stop(self) -> None:
        for m in self.members:
            if m.alive():
                m.p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for m in self.members:
            if m.p is None:
                continue
            try:
                m.p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                m.p.kill()
                try:
                    m.p.wait(60)
                except subprocess.TimeoutExpired:
                    pass
        if self.owns_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> ProcCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def etcdctl(endpoints: str, *args: str, stdin: str | None = None, timeout: float = 30):
    """Run the Debian etcdctl (API v3) against endpoints; returns the CompletedProcess."""
    env = dict(os.environ, ETCDCTL_API="3")
    return subprocess.run(
        ["etcdctl", "--endpoints", endpoints, "--command-timeout=15s", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def wait_ready(c: ProcCluster, timeout: float = 60) -> None:
    """Until a linearizable read succeeds on every member (etcdctl get)."""
    deadline = time.monotonic() + timeout
    for m in c.members:
        while True:
            try:
                r = etcdctl(m.endpoint, "get", "ready-probe", timeout=20)
            except subprocess.TimeoutExpired as e:
                r = subprocess.CompletedProcess(e.cmd, 1, "", "etcdctl timed out")
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                logs = "\n".join(x.log_path.read_text()[-2000:] for x in c.members)
                raise TimeoutError(f"cluster not ready: {r.stderr}\n{logs}")
            time.sleep(0.2)
