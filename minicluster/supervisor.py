"""The background process `up` leaves behind: it brings the cluster up and keeps it.

Mirrors kind's create flow (pkg/cluster/internal/create/create.go: provision nodes, start
the control plane, install the CNI and the storage class, wait for Ready) with our pieces:
netns.py's nodes, controlplane.py's components, a minikubelet and a kube-proxy per node
inside its namespace. Each step is appended to progress.jsonl (`up` narrates it) and every
pid to state.json (`down` finds them). SIGTERM stops the processes; `down` removes the rest.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import time
import traceback

from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client
from minicluster import bootstrap, cgroups, cni, components, dns_identity, netns, preload, state
from minicluster.children import Children
from minicluster.components import ApiServerFlags
from minicluster.controlplane import ControlPlane, free_port, run_dns
from minicluster.state import State
from minicluster.topology import Topology, pick_subnet_index, plan

NODE_READY_TIMEOUT = 120.0
HOLLOW_NODE_READY_SECONDS = 0.5
HOLLOW_TAINT = {"key": "minicluster.x-k8s.io/hollow", "value": "true", "effect": "NoSchedule"}


def kubelet_knows_cluster_dns() -> bool:
    """Whether this minikubelet takes --cluster-dns (it writes pods' resolv.conf then)."""
    try:
        out = subprocess.run([sys.executable, "-m", "minikubelet", "--help"],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return "--cluster-dns" in out.stdout


class Supervisor:
    def __init__(self, st: State) -> None:
        self.st = st
        o = st.options
        self.root = state.cluster_dir(o.data_dir, o.name)
        self.children = Children(self.root / "logs", self._record_pid)
        self.t: Topology | None = None
        self.started = time.monotonic()
        self.cp: ControlPlane | None = None
        # Each component's own kubeconfig (kubeadm's file names); the admin one is the user's.
        self.confs: dict[str, str] = {}
        self.ca_file = ""  # the cluster CA: the controller manager publishes it per namespace

    def _record_pid(self, name: str, pid: int) -> None:
        self.st.pids[name] = pid
        state.save(self.st)

    def step(self, name: str, detail: str = "") -> None:
        self.st.addresses[name] = detail
        state.save(self.st)
        state.progress(self.st.options.data_dir, self.st.options.name, step=name, detail=detail,
                       seconds=round(time.monotonic() - self.started, 1))  # fmt: skip

    def make_nodes(self) -> Topology:
        o = self.st.options
        # Two clusters coming up at once must not pick the same free subnet. The lock is
        # on the /run directory itself, so that no lock file is left behind.
        fd = os.open("/run", os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.st.subnet_index = index = _pick_index()
            t = plan(o.name, o.nodes, index)
            self.st.host_routes = [n.pod_cidr for n in t.nodes]
            state.save(self.st)
            netns.setup(t)
        finally:
            os.close(fd)
        self.step("network", f"bridge {t.bridge} {t.bridge_ip}/{t.prefix_len}")
        for n in t.nodes:
            self.step(f"netns {n.netns}", f"{n.node_ip}, pods {n.pod_cidr}")
        return t

    async def control_plane(self, t: Topology) -> str:
        """etcd, the API server, the kubeconfig; returns the kubeconfig's path."""
        o = self.st.options
        self.cp = cp = ControlPlane(t, self.root, o.processes, self.children)
        members = await cp.start_etcd(o.etcd_members)
        self.step("etcd (miniraft)", ",".join(m.client_url for m in members))
        creds = bootstrap.credentials(self.root, t)
        self.ca_file = str(creds.ca_file)
        identities = bootstrap.component_identities(t)
        tokens = bootstrap.component_tokens(creds.token_file, identities)
        inflight, mutating = components.inflight_limits(o.nodes + o.hollow_nodes)
        flags = ApiServerFlags(
            etcd_servers=",".join(m.client_url for m in members), bind_address=t.bridge_ip,
            secure_port=free_port(t.bridge_ip, prefer=6443), cert=str(creds.cert_file),
            key=str(creds.key_file), ca=str(creds.ca_file), tokens=str(creds.token_file),
            data_dir=str(self.root), sa_key=str(bootstrap.service_account_key(self.root)),
            max_requests_inflight=inflight, max_mutating_requests_inflight=mutating,
        )  # fmt: skip
        await cp.start_apiserver(flags)
        self.st.api_url = f"https://{t.bridge_ip}:{flags.secure_port}"
        kubeconfig = self.root / "kubeconfig"
        bootstrap.write_kubeconfig(kubeconfig, self.st.api_url, creds, f"minicloud-{o.name}")
        self.st.kubeconfig = str(kubeconfig)
        self.confs = bootstrap.write_component_kubeconfigs(
            self.root, self.st.api_url, creds, identities, tokens, f"minicloud-{o.name}"
        )
        self.step("kube-apiserver (miniapiserver)", self.st.api_url)
        return str(kubeconfig)

    def controllers(self, kubeconfig: str) -> None:
        assert self.cp is not None
        self.cp.start_controller_manager(
            self.confs.get("controller-manager.conf", kubeconfig), self.ca_file
        )
        self.step("kube-controller-manager (minicontroller)", "watching the API server")
        self.cp.start_scheduler(self.confs.get("scheduler.conf", kubeconfig))
        self.step("kube-scheduler (minischeduler)", "watching the API server")

    async def dns(self, t: Topology, client: Client) -> None:
        assert self.cp is not None
        await bootstrap.create_kube_dns(client, t)
        conf = await dns_identity.write_kubeconfig(
            client, self.root / "coredns.conf", self.st.api_url,
            bootstrap.credentials(self.root, t), f"minicloud-{self.st.options.name}",
        )  # fmt: skip
        self.st.dns = await self.cp.start_dns(conf)
        where = f"{t.dns_ip}:53 -> {t.bridge_ip}:53" if self.st.dns else "not available"
        self.step("kube-dns (minicluster.dns)", where)

    def start_nodes(self, t: Topology, kubeconfig: str, dns: bool) -> None:
        """Kubelets and kube-proxies; dns: give the kubelets --cluster-dns."""
        o = self.st.options
        cgroups.ensure_cpuset_parent()
        for n in t.nodes:
            root_dir = self.root / "nodes" / n.name
            conf_dir = cni.write(n, root_dir)
            kubelet_conf = self.confs.get(f"kubelet-{n.name}.conf", kubeconfig)
            self.children.spawn(f"kubelet-{n.name}", components.kubelet_argv(
                n, t, kubelet_conf, str(root_dir), o.runtime, dns, conf_dir))  # fmt: skip
            proxy_conf = self.confs.get("kube-proxy.conf", kubeconfig)
            self.children.spawn(f"kube-proxy-{n.name}",
                                components.kube_proxy_argv(n, t, proxy_conf))  # fmt: skip
        if o.hollow_nodes:
            taint = "{key}={value}:{effect}".format(**HOLLOW_TAINT)
            self.children.spawn("hollow-nodes", components.hollow_argv(
                kubeconfig, o.hollow_nodes, str(self.root / "nodes" / "hollow"), taint))  # fmt: skip

    def node_names(self, t: Topology) -> set[str]:
        names = {n.name for n in t.nodes}
        hollow = self.st.options.hollow_nodes
        if hollow > 1:
            names |= {f"hollow-{i}" for i in range(hollow)}
        elif hollow == 1:
            names.add("hollow")
        return names

    def report_hollow_nodes(self, t: Topology) -> None:
        """Hollow nodes run no containers: they register with HOLLOW_TAINT
        (--register-with-taints, as kubemark's do), so only pods that tolerate it go there."""
        hollow = self.node_names(t) - {n.name for n in t.nodes}
        if hollow:
            taint = "{key}={value}:{effect}".format(**HOLLOW_TAINT)
            self.step(f"{len(hollow)} hollow nodes", f"tainted {taint}")

    async def up(self) -> None:
        # Asked while the control plane starts: the answer costs an interpreter start-up.
        kubelet_dns = asyncio.ensure_future(asyncio.to_thread(kubelet_knows_cluster_dns))
        t = self.t = self.make_nodes()
        roots = [self.root / "nodes" / n.name for n in t.nodes]
        images = asyncio.ensure_future(asyncio.to_thread(preload.preload_images, roots))
        kubeconfig = await self.control_plane(t)
        await images
        # The node agents start next: their start-up overlaps the rest of the control plane.
        self.start_nodes(t, kubeconfig, run_dns is not None and await kubelet_dns)
        self.controllers(kubeconfig)
        async with Client(load_kubeconfig(kubeconfig)) as client:
            await self.dns(t, client)
            # A hollow node's registration and first status cost the API server some time.
            timeout = NODE_READY_TIMEOUT + HOLLOW_NODE_READY_SECONDS * self.st.options.hollow_nodes
            await bootstrap.wait_nodes_ready(
                client, self.node_names(t), timeout, self.children.check
            )
            self.report_hollow_nodes(t)
            # The ServiceAccount admission plugin refuses pods until these exist.
            await bootstrap.wait_default_service_account(client, "default", NODE_READY_TIMEOUT)
        for n in t.nodes:
            self.step(f"node {n.name}", f"Ready, kubelet {n.node_ip}:10250, kube-proxy iptables")
        self.st.ready = True
        state.save(self.st)
        state.progress(self.st.options.data_dir, self.st.options.name, ready=True)

    async def watch(self, stop: asyncio.Event) -> None:
        """Run until SIGTERM, restarting children that die (the kubelet's static-pod job)."""
        o = self.st.options
        reported = ""
        while not stop.is_set():
            assert self.cp is not None
            for name, code in self.children.restart_dead():
                state.progress(o.data_dir, o.name, restarted=name, exit_code=code)
            failed = self.cp.failed_task()  # an in-process component cannot be restarted alone
            if failed and failed != reported:
                state.progress(o.data_dir, o.name, died=failed)
                reported = failed
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        await self.children.stop()
        if self.cp is not None:
            await self.cp.stop()


def _pick_index() -> int:
    return pick_subnet_index(netns.routed_cidrs())


async def run(st: State) -> int:
    sup = Supervisor(st)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    code = 0
    try:
        await sup.up()
        await sup.watch(stop)
    except Exception as e:  # told to `up` through the progress file, then stop
        traceback.print_exc()
        state.progress(st.options.data_dir, st.options.name, error=f"{type(e).__name__}: {e}")
        code = 1
    finally:
        await sup.stop()
    return code
