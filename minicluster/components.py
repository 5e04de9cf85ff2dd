"""Each component's upstream-style command line, as `--processes` runs it.

Mirrors hack/local-up-cluster.sh (start_etcd, start_apiserver, start_controller_manager,
start_scheduler, start_kubelet, start_kubeproxy: one process per component with its own
flags) and kind's kubeadm config (--cluster-dns, --cluster-domain, podSubnet). Pure: paths
and addresses in, argv lists out, so the flags a learner copies are the ones we run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from minicluster.topology import NodePlan, Topology

PY = sys.executable
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"  # kubeadm's default


@dataclass(frozen=True)
class EtcdMember:
    name: str
    client_url: str
    peer_url: str
    data_dir: str


def initial_cluster(members: list[EtcdMember]) -> str:
    return ",".join(f"{m.name}={m.peer_url}" for m in members)


def etcd_argv(member: EtcdMember, members: list[EtcdMember]) -> list[str]:
    return [
        PY, "-m", "miniraft", "serve", "--name", member.name, "--data-dir", member.data_dir,
        "--listen-client-urls", member.client_url, "--listen-peer-urls", member.peer_url,
        "--initial-cluster", initial_cluster(members), "--initial-cluster-state", "new",
    ]  # fmt: skip


@dataclass(frozen=True)
class ApiServerFlags:
    etcd_servers: str
    bind_address: str
    secure_port: int
    cert: str
    key: str
    ca: str
    tokens: str
    data_dir: str
    sa_key: str = ""  # kubeadm's sa.key: signs (and verifies) ServiceAccount tokens
    max_requests_inflight: int = 400  # upstream's defaults; raised for big hollow clusters
    max_mutating_requests_inflight: int = 200


def inflight_limits(nodes: int) -> tuple[int, int]:
    """The API server's in-flight limits for a cluster of `nodes` nodes: the defaults, and
    from 500 nodes what cluster/gce's large-cluster settings give (1500 / 500), so that a
    thousand heartbeating hollow nodes are not turned away with 429s."""
    return (1500, 500) if nodes >= 500 else (400, 200)


def apiserver_argv(f: ApiServerFlags, t: Topology) -> list[str]:
    return [
        PY, "-m", "miniapiserver", "--etcd-servers", f.etcd_servers,
        "--bind-address", f.bind_address, "--secure-port", str(f.secure_port),
        "--tls-cert-file", f.cert, "--tls-private-key-file", f.key, "--client-ca-file", f.ca,
        "--token-auth-file", f.tokens, "--authorization-mode", "Node,RBAC",
        "--enable-admission-plugins", "NodeRestriction,ServiceAccount",
        "--service-cluster-ip-range", t.service_cidr, "--data-dir", f.data_dir,
        "--max-requests-inflight", str(f.max_requests_inflight),
        "--max-mutating-requests-inflight", str(f.max_mutating_requests_inflight),
        *service_account_flags(f),
    ]  # fmt: skip


def service_account_flags(f: ApiServerFlags) -> list[str]:
    """kubeadm's: one key pair signs and verifies, the in-cluster issuer URL."""
    if not f.sa_key:
        return []
    return [
        "--service-account-key-file", f.sa_key, "--service-account-signing-key-file", f.sa_key,
        "--service-account-issuer", SERVICE_ACCOUNT_ISSUER,
    ]  # fmt: skip


def controller_manager_flags(kubeconfig: str, root_ca_file: str) -> list[str]:
    # Grace 40s as before v1.32 keeps a loaded machine's late lease renewals from tainting nodes.
    # kubeadm's --use-service-account-credentials: each controller as its own ServiceAccount;
    # --root-ca-file: the bundle published as every namespace's kube-root-ca.crt.
    return [
        "--kubeconfig", kubeconfig, "--node-monitor-grace-period", "40s",
        "--use-service-account-credentials", "--root-ca-file", root_ca_file,
    ]  # fmt: skip


def controller_manager_argv(kubeconfig: str, root_ca_file: str) -> list[str]:
    return [PY, "-m", "minicontroller", *controller_manager_flags(kubeconfig, root_ca_file)]


def scheduler_argv(kubeconfig: str) -> list[str]:
    return [PY, "-m", "minischeduler", "--kubeconfig", kubeconfig]


def dns_argv(kubeconfig: str, t: Topology) -> list[str]:
    return [
        PY, "-m", "minicluster.dns", "--kubeconfig", kubeconfig,
        "--listen", f"{t.bridge_ip}:53", "--cluster-domain", t.cluster_domain,
    ]  # fmt: skip


def in_netns(netns: str, argv: list[str]) -> list[str]:
    """Enter only the node's network namespace: mounts stay the host's, so `down` sees them."""
    return ["nsenter", f"--net=/var/run/netns/{netns}", *argv]


def kubelet_argv(
    n: NodePlan,
    t: Topology,
    kubeconfig: str,
    root_dir: str,
    runtime: str,
    dns: bool,
    cni_conf_dir: str,
) -> list[str]:
    argv = [
        PY, "-m", "minikubelet", "--kubeconfig", kubeconfig, "--hostname-override", n.name,
        "--node-ip", n.node_ip, "--address", n.node_ip, "--port", "10250",
        "--pod-cidr", n.pod_cidr, "--root-dir", root_dir,
        "--container-runtime-endpoint", runtime, "--cni-conf-dir", cni_conf_dir,
    ]  # fmt: skip
    if dns:
        argv += ["--cluster-dns", t.dns_ip, "--cluster-domain", t.cluster_domain]
    return in_netns(n.netns, argv)


def kube_proxy_argv(n: NodePlan, t: Topology, kubeconfig: str) -> list[str]:
    # --masquerade-all: without br_netfilter, a reply from a pod on the same node bridge
    # would skip the conntrack entry that un-DNATs it; SNAT to the node brings it back.
    argv = [
        PY, "-m", "miniproxy.kubeproxy", "--kubeconfig", kubeconfig,
        "--hostname-override", n.name, "--proxy-mode", "iptables", "--node-ip", n.node_ip,
        "--cluster-cidr", t.cluster_cidr, "--masquerade-all",
        "--iptables-min-sync-period", "500ms",
    ]  # fmt: skip
    return in_netns(n.netns, argv)


def hollow_argv(kubeconfig: str, count: int, root_dir: str, taints: str) -> list[str]:
    """kubemark's hollow kubelets (one process here), registered already tainted."""
    return [
        PY, "-m", "minikubelet", "--kubeconfig", kubeconfig, "--hollow",
        "--hollow-nodes", str(count), "--hostname-override", "hollow",
        "--root-dir", root_dir, "--address", "127.0.0.1", "--port", "0",
        "--register-with-taints", taints,
    ]  # fmt: skip
