"""Network namespaces for the kube-proxy kernel tests: a node, its backends, a client.

Each test gets a "node" namespace (unique name) with a dummy-like interface holding the node IP,
the endpoint IPs and a route for the service range, plus an optional "client" namespace on
a veth pair, so traffic arrives from off-node. Backends are TCP servers inside the node
namespace that answer each connection with the address they listen on. Everything is
deleted at teardown, even when the test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter

import pytest

NODE_IP = "10.99.0.1"
CLIENT_NODE_SIDE = "10.99.1.1"
CLIENT_IP = "10.99.1.2"
SERVICE_RANGE = "172.30.0.0/16"

_SERVER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    ip, port = spec.rsplit(":", 1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port)))
    s.listen(128)
    sel.register(s, selectors.EVENT_READ, spec)
print("READY", flush=True)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        try:
            conn.sendall(key.data.encode())
        finally:
            conn.close()
"""

_CLIENT = r"""
import collections, json, socket, sys
ip, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = collections.Counter()
for _ in range(count):
    try:
        with socket.create_connection((ip, port), timeout=2) as s:
            seen[s.recv(64).decode() or "EMPTY"] += 1
    except ConnectionRefusedError:
        seen["REFUSED"] += 1
    except OSError:
        seen["TIMEOUT"] += 1
print(json.dumps(seen))
"""


def sh(*argv: str, check: bool = True, stdin: str | None = None) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc.stdout


class Netns:
    """One namespace the test created; `run` executes a command inside it."""

    def __init__(self, name: str):
        self.name = name
        self.procs: list[subprocess.Popen] = []
        sh("ip", "netns", "add", name)
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *argv: str, check: bool = True, stdin: str | None = None) -> str:
        return sh("ip", "netns", "exec", self.name, *argv, check=check, stdin=stdin)

    def serve(self, addresses: list[str]) -> None:
        """Start one server process answering on every "ip:port" given."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.name, sys.executable, "-c", _SERVER, *addresses],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        assert proc.stdout.readline().strip() == "READY"

    def connect(self, ip: str, port: int, count: int) -> Counter:
        """`count` sequential connections; what answered each (or REFUSED/TIMEOUT)."""
        out = self.run(sys.executable, "-c", _CLIENT, ip, str(port), str(count))
        return Counter(json.loads(out))

    def delete(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
        sh("ip", "netns", "del", self.name, check=False)


class Lab:
    """A node namespace with endpoint addresses, and a client namespace wired to it."""

    node_ip = NODE_IP
    node_ips = (NODE_IP, CLIENT_NODE_SIDE)

    def __init__(self) -> None:
        tag = f"{os.getpid()}{uuid.uuid4().hex[:6]}"
        self.tag = tag
        self.node = Netns(f"kpnode{tag}")
        self.client: Netns | None = None
        try:
            self._wire_node()
        except Exception:
            self.node.delete()
            raise

    def _wire_node(self) -> None:
        n = self.node
        # The kernel may lack the dummy driver: a veth pair inside the node serves as one.
        n.run("ip", "link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1")
        n.run("ip", "addr", "add", f"{NODE_IP}/24", "dev", "dummy0")
        n.run("ip", "link", "set", "dummy0", "up")
        n.run("ip", "link", "set", "dummy1", "up")
        n.run("ip", "route", "add", SERVICE_RANGE, "dev", "dummy0")

    def add_endpoints(self, ips: list[str]) -> None:
        for ip in ips:
            self.node.run("ip", "addr", "add", f"{ip}/32", "dev", "dummy0")

    def add_client(self) -> Netns:
        c = self.client = Netns(f"kpcli{self.tag}")
        veth, peer = f"kpv{self.tag}"[:15], f"kpp{self.tag}"[:15]
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
        sh("ip", "link", "set", veth, "netns", self.node.name)
        sh("ip", "link", "set", peer, "netns", c.name)
        self.node.run("ip", "addr", "add", f"{CLIENT_NODE_SIDE}/24", "dev", veth)
        self.node.run("ip", "link", "set", veth, "up")
        c.run("ip", "addr", "add", f"{CLIENT_IP}/24", "dev", peer)
        c.run("ip", "link", "set", peer, "up")
        c.run("ip", "route", "add", "default", "via", CLIENT_NODE_SIDE)
        return c

    def delete(self) -> None:
        self.node.delete()
        if self.client:
            self.client.delete()


@pytest.fixture
def lab():
    lab = Lab()
    try:
        yield lab
    finally:
        lab.delete()
