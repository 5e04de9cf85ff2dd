"""Cluster DNS over real sockets, asked by `dig`, answering from a live miniapiserver.

The API server (over a real etcd) is the miniclient test folder's session fixture,
loaded by path the way tests/minicontroller does. Each test uses its own namespace.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from miniapi.core.v1 import Namespace, Service, ServicePort, ServiceSpec
from miniapi.discovery.v1 import Endpoint, EndpointConditions, EndpointPort, EndpointSlice
from miniapi.meta.v1 import ObjectMeta
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client
from minicluster.dns import run_dns
from minicluster.dns.__main__ import main as dns_main

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "miniclient_test_fixtures", ROOT / "tests" / "miniclient" / "conftest.py"
)
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
apiserver = _fixtures.apiserver


def free_udp_tcp_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 a moment ago."""
    for _ in range(50):
        with socket.socket() as t, socket.socket(type=socket.SOCK_DGRAM) as u:
            t.bind(("127.0.0.1", 0))
            try:
                u.bind(("127.0.0.1", t.getsockname()[1]))
            except OSError:
                continue
            return t.getsockname()[1]
    raise RuntimeError("no free port")


class Dig:
    """One `dig` run, parsed: status, flags, and the answer section's lines."""

    def __init__(self, out: str) -> None:
        self.out = out
        status = re.search(r"status: (\w+)", out)
        flags = re.search(r"flags: ([a-z ]*);", out)
        self.status = status.group(1) if status else "NO-REPLY"
        self.flags = set(flags.group(1).split()) if flags else set()
        self.answer = _section(out, "ANSWER")
        self.authority = _section(out, "AUTHORITY")
        self.additional = _section(out, "ADDITIONAL")

    def rdata(self) -> list[str]:
        return [line.split(None, 4)[4] for line in self.answer]


def _section(out: str, name: str) -> list[str]:
    m = re.search(rf";; {name} SECTION:\n(.*?)(?:\n\n|\Z)", out, re.S)
    return [" ".join(line.split()) for line in m.group(1).splitlines()] if m else []


async def dig(port: int, *args: str) -> Dig:
    proc = await asyncio.create_subprocess_exec(
        "dig", "@127.0.0.1", "-p", str(port), "+time=5", "+tries=2", *args,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return Dig(out.decode())


async def busybox_nslookup(port: int, name: str) -> str:
    """busybox's nslookup: the resolver the demo's busybox pods carry."""
    proc = await asyncio.create_subprocess_exec(
        "busybox", "nslookup", name, f"127.0.0.1:{port}",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return out.decode()


async def until(check, what: str, timeout: float = 30.0):
    """Retry an async check until it returns something truthy (watch events take a moment)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _endpoints(n: int, base: str, hostnames: bool = False) -> list[Endpoint]:
    return [
        Endpoint(
            addresses=[f"{base}.{i}"],
            hostname=f"pod-{i}" if hostnames else None,
            conditions=EndpointConditions(ready=i != 99),
        )
        for i in range(1, n + 1)
    ]


def _cluster_ip() -> str:
    # An explicit ClusterIP (inside the server's range), as a user may ask for one.
    n = uuid.uuid4().int
    return f"10.{96 + n % 16}.{n >> 8 & 0xFF}.{1 + (n >> 16) % 254}"


async def _create_objects(client: Client, ns: str) -> str:
    """A namespace, a ClusterIP service, a headless one with 3 endpoints, a big one."""
    await client.resource(Namespace).create(Namespace(metadata=ObjectMeta(name=ns)))
    services = client.resource(Service)
    web = await services.create(
        Service(
            metadata=ObjectMeta(name="web", namespace=ns),
            spec=ServiceSpec(
                cluster_ip=_cluster_ip(), ports=[ServicePort(name="http", protocol="TCP", port=80)]
            ),
        ),
        namespace=ns,
    )
    slices = client.resource(EndpointSlice)
    for name, n in (("db", 3), ("big", 60)):
        await services.create(
            Service(
                metadata=ObjectMeta(name=name, namespace=ns),
                spec=ServiceSpec(
                    cluster_ip="None", ports=[ServicePort(name="pg", protocol="TCP", port=5432)]
                ),
            ),
            namespace=ns,
        )
        slice_ = EndpointSlice(
            metadata=ObjectMeta(
                name=f"{name}-1", namespace=ns, labels={"kubernetes.io/service-name": name}
            ),
            address_type="IPv4",
            endpoints=_endpoints(n, "10.244.7" if name == "db" else "10.244.8", name == "db"),
            ports=[EndpointPort(name="pg", protocol="TCP", port=5432)],
        )
        await slices.create(slice_, namespace=ns)
    return web.spec.cluster_ip


@pytest.mark.tool("etcd", "dig", "busybox")
def test_dig_gets_cluster_records_from_run_dns(apiserver) -> None:
    ns = f"dns-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    zone = f"{ns}.svc.cluster.local."

    async def scenario() -> None:
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            web_ip = await _create_objects(client, ns)
            port = free_udp_tcp_port()
            ready = asyncio.Event()
            task = asyncio.ensure_future(
                run_dns(apiserver.kubeconfig, "127.0.0.1", port, ready=ready)
            )
            try:
                await asyncio.wait_for(ready.wait(), 30)
                await _check_records(port, zone, web_ip)
                await _check_watch(client, port, ns, zone)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


async def _check_records(port: int, zone: str, web_ip: str) -> None:
    a = await dig(port, f"web.{zone}", "A")
    assert a.status == "NOERROR" and {"qr", "aa"} <= a.flags
    assert a.answer == [f"web.{zone} 5 IN A {web_ip}"]
    srv = await dig(port, f"_http._tcp.web.{zone}", "SRV")
    assert srv.rdata() == [f"0 100 80 web.{zone}"] and srv.additional == a.answer
    db = await dig(port, f"db.{zone}", "A")
    assert sorted(db.rdata()) == ["10.244.7.1", "10.244.7.2", "10.244.7.3"]
    assert (await dig(port, f"pod-2.db.{zone}", "A")).rdata() == ["10.244.7.2"]
    bb = await busybox_nslookup(port, f"web.{zone}")
    assert f"Address: {web_ip}" in bb, bb
    ptr = await dig(port, "-x", web_ip)
    assert ptr.rdata() == [f"web.{zone}"]
    nx = await dig(port, f"nope.{zone}", "A")
    assert nx.status == "NXDOMAIN" and nx.answer == []
    soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local."
    assert len(nx.authority) == 1 and nx.authority[0].startswith(soa)
    nodata = await dig(port, f"web.{zone}", "AAAA")
    assert nodata.status == "NOERROR" and nodata.answer == []
    # 60 answers do not fit in 512 octets: over UDP without EDNS the reply is cut, with TC...
    cut = await dig(port, "+noedns", "+ignore", f"big.{zone}", "A")
    assert "tc" in cut.flags and 0 < len(cut.answer) < 60
    # ...and dig retries over TCP by itself, as resolvers do; +tcp asks over TCP at once.
    for how in ("+noedns", "+tcp"):
        full = await dig(port, how, f"big.{zone}", "A")
        assert "tc" not in full.flags and len(full.answer) == 60, full.out
    # EDNS0 with dig's default payload size fits them over UDP.
    edns = await dig(port, "+bufsize=4096", f"big.{zone}", "A")
    assert "tc" not in edns.flags and len(edns.answer) == 60 and "EDNS: version: 0" in edns.out


async def _check_watch(client: Client, port: int, ns: str, zone: str) -> None:
    """A service created while DNS runs is answered once its watch event arrives."""
    await client.resource(Service).create(
        Service(
            metadata=ObjectMeta(name="late", namespace=ns),
            spec=ServiceSpec(
                cluster_ip=_cluster_ip(),
                ports=[ServicePort(name="http", protocol="TCP", port=8080)],
            ),
        ),
        namespace=ns,
    )

    async def resolved():
        out = await dig(port, f"late.{zone}", "A")
        return out if out.status == "NOERROR" and out.answer else None

    late = await until(resolved, "the new service's A record")
    assert len(late.rdata()) == 1
    await client.resource(Service).delete("late", namespace=ns)

    async def gone():
        return (await dig(port, f"late.{zone}", "A")).status == "NXDOMAIN"

    await until(gone, "the deleted service's NXDOMAIN")


@pytest.mark.tool("etcd", "dig")
def test_cli_serves_what_h3_will_start(apiserver) -> None:
    """`python -m minicluster.dns --kubeconfig ... --listen ...` as its own process."""
    ns = f"dnscli-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    port = free_udp_tcp_port()

    async def scenario() -> None:
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            web_ip = await _create_objects(client, ns)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "minicluster.dns", "--kubeconfig", apiserver.kubeconfig,
            "--listen", f"127.0.0.1:{port}", "--cluster-domain", "cluster.local",
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert b"serving on udp+tcp 127.0.0.1" in line
            out = await dig(port, "+tcp", f"web.{ns}.svc.cluster.local", "A")
            assert out.rdata() == [web_ip]
            proc.terminate()
            assert await proc.wait() == 0  # SIGTERM is a clean stop
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    asyncio.run(scenario())


def test_cli_reports_a_bad_kubeconfig_without_a_traceback(tmp_path, capsys) -> None:
    assert dns_main(["--kubeconfig", str(tmp_path / "none"), "--listen", "127.0.0.1:0"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: stat {tmp_path / 'none'}: no such file or directory"
