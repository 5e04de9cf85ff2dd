"""The pod's hostname, domain and kubelet-managed /etc/hosts.

Mirrors pkg/kubelet/kubelet_pods.go (GeneratePodHostNameAndDomain with
truncatePodHostnameIfNeeded; ensureHostsFile: managedHostsFileContent for pods on
their own network, nodeHostsFileContent for host-network pods, hostsEntriesFromHostAliases)
and pkg/kubelet/util's setHostnameAsFQDN rule for the sandbox hostname. Pure: text in,
text out; the kubelet writes the result to <pod dir>/etc-hosts and bind-mounts it.
Omitted: the Windows hosts path.
"""

from __future__ import annotations

from miniapi.core import v1

MANAGED_HOSTS_HEADER = "# Kubernetes-managed hosts file.\n"
MANAGED_HOSTS_HEADER_WITH_HOST_NETWORK = "# Kubernetes-managed hosts file (host network).\n"
HOSTNAME_MAX_LEN = 63


def truncate_pod_hostname(name: str) -> str:
    """Hostnames longer than 63 are cut, then trailing '-' and '.' trimmed."""
    if len(name) <= HOSTNAME_MAX_LEN:
        return name
    return name[:HOSTNAME_MAX_LEN].rstrip("-.")


def generate_pod_hostname_and_domain(pod: v1.Pod, cluster_domain: str) -> tuple[str, str]:
    """(hostname, domain): spec.hostname or the pod name; <subdomain>.<ns>.svc.<domain>."""
    hostname = truncate_pod_hostname(pod.spec.hostname or pod.metadata.name)
    domain = ""
    if pod.spec.subdomain and cluster_domain:
        domain = f"{pod.spec.subdomain}.{pod.metadata.namespace}.svc.{cluster_domain}"
    return hostname, domain


def sandbox_hostname(pod: v1.Pod, cluster_domain: str) -> str:
    """The UTS hostname: the FQDN when setHostnameAsFQDN and a domain exist."""
    hostname, domain = generate_pod_hostname_and_domain(pod, cluster_domain)
    return f"{hostname}.{domain}" if pod.spec.set_hostname_as_fqdn and domain else hostname


def hosts_entries_from_host_aliases(aliases: list[v1.HostAlias]) -> str:
    if not aliases:
        return ""
    lines = [f"{a.ip}\t{name}\n" for a in aliases for name in a.hostnames]
    return "\n# Entries added by HostAliases.\n" + "".join(lines)


def managed_hosts_file_content(
    pod_ips: list[str], hostname: str, domain: str, aliases: list[v1.HostAlias]
) -> str:
    out = MANAGED_HOSTS_HEADER
    out += "127.0.0.1\tlocalhost\n"
    out += "::1\tlocalhost ip6-localhost ip6-loopback\n"
    out += "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\n"
    out += "fe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
    for ip in pod_ips:
        out += f"{ip}\t{hostname}.{domain}\t{hostname}\n" if domain else f"{ip}\t{hostname}\n"
    return out + hosts_entries_from_host_aliases(aliases)


def node_hosts_file_content(node_hosts: str, aliases: list[v1.HostAlias]) -> str:
    return (
        MANAGED_HOSTS_HEADER_WITH_HOST_NETWORK
        + node_hosts
        + hosts_entries_from_host_aliases(aliases)
    )


def hosts_file_content(pod: v1.Pod, pod_ips: list[str], cluster_domain: str, node_hosts: str):
    """ensureHostsFile's content for this pod."""
    if pod.spec.host_network:
        return node_hosts_file_content(node_hosts, pod.spec.host_aliases)
    hostname, domain = generate_pod_hostname_and_domain(pod, cluster_domain)
    return managed_hosts_file_content(pod_ips, hostname, domain, pod.spec.host_aliases)
