"""Fixtures for miniapiserver tests: a real etcd 3.4 on free loopback ports.

Each fixture starts its own etcd with a temporary data dir and stops it
afterwards, so tests can run beside other helpers' tests on the same machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
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


ROOT = Path(__file__).resolve().parents[2]


def _start_once(kind: str, data: str) -> tuple[str, subprocess.Popen]:
    client, peer = _free_port(), _free_port()
    url = f"http://127.0.0.1:{client}"
    program = ["etcd"] if kind == "etcd" else [sys.executable, "-m", "miniraft", "serve"]
    log = open(os.path.join(data, "log"), "ab")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(
        [
            *program,
            "--name",
            "test",
            "--data-dir",
            os.path.join(data, "member"),
            "--listen-client-urls",
            url,
            "--advertise-client-urls",
            url,
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-cluster",
            f"test=http://127.0.0.1:{peer}",
            *(["--log-level", "error"] if kind == "etcd" else []),
        ],  # fmt: skip
        stdout=log,
        stderr=log,
        cwd=ROOT,
    )
    log.close()
    _wait_port(client, proc, timeout=60)
    return url, proc


def start_etcd(kind: str = "etcd") -> tuple[str, subprocess.Popen, str]:
    """Start a one-member store: real etcd or miniraft; return (client URL, process, data dir).

    A port picked free can be taken by another test before the store binds it: then the
    store exits and is started again on other ports.
    """
    data = tempfile.mkdtemp(prefix=f"miniapiserver-{kind}-{os.getpid()}-")
    for _ in range(3):
        try:
            url, proc = _start_once(kind, data)
            return url, proc, data
        except RuntimeError:
            shutil.rmtree(os.path.join(data, "member"), ignore_errors=True)
    log = Path(data, "log").read_text(errors="replace")[-2000:]
    shutil.rmtree(data, ignore_errors=True)
    raise RuntimeError(f"{kind} did not start: {log}")


def stop_etcd(proc: subprocess.Popen, data: str) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(data, ignore_errors=True)


STORES = [
    pytest.param("etcd", marks=pytest.mark.tool("etcd"), id="etcd"),
    pytest.param("miniraft", id="miniraft"),
]


@pytest.fixture(scope="module", params=STORES)
def store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh one-member store of each kind: every storage test runs on both."""
    url, proc, data = start_etcd(request.param)
    try:
        yield url
    finally:
        stop_etcd(proc, data)


class APIServerProcess:
    """`python -m miniapiserver` on a free port, with its generated kubeconfig."""

    def __init__(self, etcd_url: str, workdir: str, extra: list[str]) -> None:
        self.workdir = workdir
        self.kubeconfig = os.path.join(workdir, "kubeconfig")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "miniapiserver",
                # no --etcd-servers: the embedded miniraft member
                *(["--etcd-servers", etcd_url] if etcd_url else []),
                "--secure-port",
                "0",
                "--data-dir",
                workdir,
                *extra,
            ],  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        line = ""
        deadline = time.monotonic() + 60
        while "serving on" not in line:
            line = self.proc.stdout.readline()  # type: ignore[union-attr]
            if not line and self.proc.poll() is not None:
                raise RuntimeError("miniapiserver exited before serving")
            if time.monotonic() > deadline:
                raise TimeoutError("miniapiserver did not start")
        self.url = line.split("serving on ")[1].split(";")[0].strip()
        pki = os.path.join(workdir, "pki")
        self.ca = os.path.join(pki, "ca.crt")
        self.token = Path(pki, "tokens.csv").read_text().split(",", 1)[0]
        self.env = {**os.environ, "KUBECONFIG": self.kubeconfig}

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, env=None
    ) -> subprocess.CompletedProcess:
        out = subprocess.run(
            ["kubectl", *args],
            capture_output=True,
            text=True,
            input=stdin,
            env={**self.env, **(env or {})},
            timeout=60,
        )
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr}")
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def apiserver() -> Iterator[APIServerProcess]:
    """miniapiserver over a real etcd 3.4, as kubectl and the Python client meet it.

    One for the session: the kubectl, Python client and bad-input modules share it
    (each uses its own object names).
    """
    etcd_url, etcd_proc, etcd_data = start_etcd("etcd")
    workdir = tempfile.mkdtemp(prefix=f"miniapiserver-{os.getpid()}-")
    # A small watch cache makes "too old resource version" reachable in a test.
    # A quick `kubernetes` Service reconcile lets a test see it come back after a delete.
    extra = ["--default-watch-cache-size", "50", "--watch-bookmark-interval", "300ms",
             "--kubernetes-service-reconcile-interval", "500ms"]  # fmt: skip
    server = APIServerProcess(etcd_url, workdir, extra)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        stop_etcd(etcd_proc, etcd_data)


class RestartableAPIServer:
    """A second server over its own etcd, restartable (same data dir, CA and token).

    It runs the ServiceAccount admission plugin (off by default) and a 60 s not-ready
    toleration, so the modules that need those flags share one process.
    """

    FLAGS = [
        "--default-watch-cache-size", "500",
        "--enable-admission-plugins=ServiceAccount",
        "--default-not-ready-toleration-seconds=60",
    ]  # fmt: skip

    def __init__(self) -> None:
        self.etcd_url, self.etcd, self.etcd_data = start_etcd("etcd")
        self.workdir = tempfile.mkdtemp(prefix=f"miniapiserver-second-{os.getpid()}-")
        self.proc = APIServerProcess(self.etcd_url, self.workdir, self.FLAGS)

    def restart(self) -> None:
        self.proc.stop()
        self.proc = APIServerProcess(self.etcd_url, self.workdir, self.FLAGS)

    def close(self) -> None:
        self.proc.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        stop_etcd(self.etcd, self.etcd_data)


@pytest.fixture(scope="session")
def second_apiserver() -> Iterator[RestartableAPIServer]:
    server = RestartableAPIServer()
    try:
        yield server
    finally:
        server.close()
