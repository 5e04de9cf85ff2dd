"""The control plane: etcd (miniraft), API server, controller manager, scheduler, DNS.

Mirrors hack/local-up-cluster.sh's start order (etcd, apiserver, then the clients of the
apiserver) in two shapes: embedded, every component an asyncio task of this one process
(the way integration tests and `kube-apiserver` + `etcd` embed in k8s.io/kubernetes'
test/integration/framework), or `--processes`, one OS process per component with the
command lines of components.py. Either way the wires are the upstream protocols.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

from minicluster import components
from minicluster.children import Children
from minicluster.components import ApiServerFlags, EtcdMember
from minicluster.topology import Topology

try:  # the cluster DNS lives in minicluster/dns; without it pods get no cluster names
    from minicluster.dns import run_dns
except ImportError:  # pragma: no cover - depends on whether dns/ is present
    run_dns = None


def free_port(host: str = "127.0.0.1", prefer: int = 0) -> int:
    for port in (prefer, 0) if prefer else (0,):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError(f"no free port on {host}")


def etcd_members(count: int, data_dir: Path) -> list[EtcdMember]:
    return [
        EtcdMember(
            name=f"etcd{i}",
            client_url=f"http://127.0.0.1:{free_port()}",
            peer_url=f"http://127.0.0.1:{free_port()}",
            data_dir=str(data_dir / f"etcd{i}"),
        )
        for i in range(count)
    ]


async def wait_tcp(host: str, port: int, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, w = await asyncio.open_connection(host, port)
            w.close()
            return
        except OSError as err:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(
                    f"nothing listens on {host}:{port} after {timeout:.0f}s"
                ) from err
            await asyncio.sleep(0.2)


def dns_query(name: str) -> bytes:
    """A minimal RFC 1035 query: header (id 1, RD), one question, type A, class IN."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x00\x01\x00\x01"


async def wait_dns(host: str, name: str, timeout: float) -> bool:
    """Ask host:53 for name until any answer comes back (the server is up) or time is out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            try:
                await loop.sock_connect(s, (host, 53))
                await loop.sock_sendall(s, dns_query(name))
                await asyncio.wait_for(loop.sock_recv(s, 512), 1.0)
                return True
            except (OSError, TimeoutError):
                await asyncio.sleep(0.3)
    return False


class ControlPlane:
    """Start each component, in-process or as a child; stop them all in reverse order."""

    def __init__(self, t: Topology, root: Path, processes: bool, children: Children) -> None:
        self.t, self.root, self.processes, self.children = t, root, processes, children
        self.tasks: list[asyncio.Task] = []
        self.etcds: list = []
        self.apiserver = None
        self.stop_event = asyncio.Event()

    async def start_etcd(self, count: int) -> list[EtcdMember]:
        members = etcd_members(count, self.root)
        if self.processes:
            for m in members:
                self.children.spawn(m.name, components.etcd_argv(m, members))
        else:
            from miniraft.server.embed import Etcd
            from miniraft.server.etcdserver.config import ServerConfig

            cfgs = [
                ServerConfig(name=m.name, data_dir=m.data_dir, listen_client_urls=[m.client_url],
                             advertise_client_urls=[m.client_url], listen_peer_urls=[m.peer_url],
                             initial_advertise_peer_urls=[m.peer_url],
                             initial_cluster=components.initial_cluster(members))
                for m in members
            ]  # fmt: skip
            self.etcds = list(await asyncio.gather(*(Etcd.start(c) for c in cfgs)))
        for m in members:
            host, port = m.client_url.removeprefix("http://").split(":")
            await wait_tcp(host, int(port), 60)
        return members

    async def start_apiserver(self, flags: ApiServerFlags) -> None:
        if self.processes:
            self.children.spawn("kube-apiserver", components.apiserver_argv(flags, self.t))
            await wait_tcp(flags.bind_address, flags.secure_port, 90)
            return
        from miniapiserver.app import Config, Running
        from miniapiserver.auth.authn import Authenticator, load_token_file

        config = Config(
            etcd_servers=flags.etcd_servers.split(","), bind_address=flags.bind_address,
            secure_port=flags.secure_port, tls_cert_file=flags.cert,
            tls_private_key_file=flags.key, client_ca_file=flags.ca,
            authenticator=Authenticator(load_token_file(flags.tokens)),
            authorization_modes=("Node", "RBAC"),
            enable_admission_plugins=("NodeRestriction", "ServiceAccount"),
            service_cluster_ip_range=self.t.service_cidr,
            service_account_signing_key_file=flags.sa_key,
            service_account_key_files=(flags.sa_key,) if flags.sa_key else (),
            service_account_issuers=(components.SERVICE_ACCOUNT_ISSUER,) if flags.sa_key else (),
            max_requests_inflight=flags.max_requests_inflight,
            max_mutating_requests_inflight=flags.max_mutating_requests_inflight,
        )  # fmt: skip
        self.apiserver = Running(config)
        await self.apiserver.start()

    def start_controller_manager(self, kubeconfig: str, root_ca_file: str) -> None:
        if self.processes:
            self.children.spawn(
                "kube-controller-manager",
                components.controller_manager_argv(kubeconfig, root_ca_file),
            )
            return
        from minicontroller.__main__ import parse_args, run

        args = parse_args(components.controller_manager_flags(kubeconfig, root_ca_file))
        self.tasks.append(asyncio.create_task(run(args), name="kube-controller-manager"))

    def start_scheduler(self, kubeconfig: str) -> None:
        if self.processes:
            self.children.spawn("kube-scheduler", components.scheduler_argv(kubeconfig))
            return
        self.tasks.append(asyncio.create_task(self._scheduler(kubeconfig), name="kube-scheduler"))

    async def _scheduler(self, kubeconfig: str) -> None:
        from miniclient.kubeconfig import load_kubeconfig
        from miniclient.rest import Client
        from minischeduler.config import load
        from minischeduler.server import SchedulerServer

        async with Client(load_kubeconfig(kubeconfig)) as client:
            await SchedulerServer(client, load(None)).run(self.stop_event)

    async def start_dns(self, kubeconfig: str) -> bool:
        """The cluster DNS on the bridge address, port 53; False when dns/ is not there."""
        if run_dns is None:
            return False
        if self.processes:
            self.children.spawn("kube-dns", components.dns_argv(kubeconfig, self.t))
            return await wait_dns(
                self.t.bridge_ip, f"kube-dns.kube-system.svc.{self.t.cluster_domain}", 60
            )
        ready = asyncio.Event()
        task = asyncio.create_task(
            run_dns(kubeconfig, self.t.bridge_ip, 53, self.t.cluster_domain, ready), name="dns"
        )
        self.tasks.append(task)
        done, _ = await asyncio.wait(
            [task, asyncio.create_task(ready.wait())], timeout=30,
            return_when=asyncio.FIRST_COMPLETED,
        )  # fmt: skip
        if task in done:
            task.result()  # raises what made the DNS server stop
        return ready.is_set()

    def failed_task(self) -> str:
        """The first in-process component that ended on its own (it should run forever)."""
        for t in self.tasks:
            if t.done() and not t.cancelled():
                exc = t.exception()
                return f"{t.get_name()} stopped: {exc!r}" if exc else f"{t.get_name()} stopped"
        return ""

    async def stop(self) -> None:
        self.stop_event.set()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.apiserver is not None:
            with contextlib.suppress(Exception):
                await self.apiserver.stop()
        for e in self.etcds:
            with contextlib.suppress(Exception):
                await e.close()
