"""Fixtures for miniclient tests: a real etcd 3.4 and miniapiserver on free loopback ports.

The server is started once per session (it takes seconds); each test uses its
own namespace or object names so tests do not see each other's objects.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"etcd exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("etcd did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _start_etcd(data: str) -> tuple[str, subprocess.Popen]:
    for _ in range(3):
        client, peer = _free_port(), _free_port()
        url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        log = open(os.path.join(data, "etcd.log"), "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(
            ["etcd", "--name", "t", "--data-dir", os.path.join(data, "etcd"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
             "--initial-cluster", f"t={peer_url}", "--log-level", "error"],
            stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        try:
            _wait_port(client, proc, 60)
            return url, proc
        except RuntimeError:
            shutil.rmtree(os.path.join(data, "etcd"), ignore_errors=True)
    raise RuntimeError("etcd did not start")


class APIServer:
    """`python -m miniapiserver` over etcd on a fixed free port, so it can be restarted."""

    def __init__(self, etcd_url: str, workdir: str) -> None:
        self.etcd_url = etcd_url
        self.workdir = workdir
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        self.port = _free_port()
        self.start()

    def start(self) -> None:
        """Start (again) on the same port and data dir: same URL, CA and token."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "miniapiserver", "--etcd-servers", self.etcd_url,
             "--secure-port", str(self.port), "--data-dir", self.workdir,
             "--default-watch-cache-size", "50", "--watch-bookmark-interval", "300ms",
             "--service-cluster-ip-range", "10.96.0.0/12"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        line = ""
        while "serving on" not in line:
            line = self.proc.stdout.readline()  # type: ignore[union-attr]
            if not line and self.proc.poll() is not None:
                raise RuntimeError("miniapiserver exited before serving")
            if time.monotonic() > deadline:
                raise TimeoutError("miniapiserver did not start")
        self.url = line.split("serving on ")[1].split(";")[0].strip()

    def stop(self, crash: bool = False) -> None:
        """Terminate, or with crash=True kill at once (what a machine failure looks like)."""
        if crash:
            self.proc.kill()
            self.proc.wait()
        else:
            _stop(self.proc)
        self.proc.stdout.close()  # type: ignore[union-attr]


# One server for the session even though two folders' conftests use this fixture
# (tests/minicontroller loads this file by path): the first to ask starts it.
_SHARED = sys.modules.setdefault("_miniclient_test_apiserver", types.ModuleType("holder"))


@pytest.fixture(scope="session")
def apiserver() -> Iterator[APIServer]:
    """miniapiserver over a real etcd, shared by the session's socket tests."""
    running = getattr(_SHARED, "server", None)
    if running is not None:
        yield running
        return
    workdir = tempfile.mkdtemp(prefix=f"miniclient-{os.getpid()}-")
    etcd_url, etcd = _start_etcd(workdir)
    try:
        server = APIServer(etcd_url, workdir)
        _SHARED.server = server
        try:
            yield server
        finally:
            _SHARED.server = None
            server.stop()
    finally:
        _stop(etcd)
        shutil.rmtree(workdir, ignore_errors=True)
