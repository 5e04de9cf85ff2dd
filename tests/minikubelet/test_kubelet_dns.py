"""Pod DNS per dnsPolicy and the managed /etc/hosts, against pkg/kubelet/network/dns's rules.

Table tests follow dns_test.go's cases (ClusterFirst, the fall-back to Default without
--cluster-dns, None with dnsConfig, ClusterFirstWithHostNet, option merging, limits);
the hypothesis property checks the limits hold for any input.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from miniapi.core import v1
from miniapi.meta import v1 as metav1
from minikubelet import dns, etchosts

HOST = dns.parse_resolv_conf(
    "# generated\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch old.example\n"
    "search corp.example. lab.example\noptions timeout:2 rotate\n"
)
CLUSTER = dns.Configurer(("10.96.0.10",), "cluster.local")


def pod(policy: str = "", host_network: bool = False, config=None, **spec) -> v1.Pod:
    return v1.Pod(
        metadata=metav1.ObjectMeta(name="p", namespace="ns1", uid="u1"),
        spec=v1.PodSpec(dns_policy=policy, host_network=host_network, dns_config=config, **spec),
    )


def test_parse_resolv_conf() -> None:
    want = dns.DNSConfig(["192.0.2.53", "192.0.2.54"], ["corp.example", "lab.example"],
                         ["timeout:2", "rotate"])  # fmt: skip
    assert want == HOST


def test_cluster_first_uses_the_cluster_dns_only() -> None:
    events: list = []
    got = CLUSTER.get_pod_dns(pod(), HOST, events)
    assert got == dns.DNSConfig(
        ["10.96.0.10"],
        ["ns1.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example",
         "lab.example"],
        ["ndots:5"],
    )  # fmt: skip
    assert events == []
    assert dns.resolv_conf_content(got) == (
        "search ns1.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
        "nameserver 10.96.0.10\noptions ndots:5\n"
    )


def test_cluster_first_without_cluster_dns_falls_back_to_default() -> None:
    events: list = []
    got = dns.Configurer((), "cluster.local").get_pod_dns(pod("ClusterFirst"), HOST, events)
    assert got == HOST
    assert events == [("Warning", "MissingClusterDNS", 'pod: "p_ns1(u1)". kubelet does not have '
                       'ClusterDNS IP configured and cannot create Pod using "ClusterFirst" '
                       'policy. Falling back to "Default" policy.')]  # fmt: skip


def test_host_network_policies() -> None:
    # ClusterFirst on the host network means Default; ClusterFirstWithHostNet keeps the cluster.
    assert CLUSTER.get_pod_dns(pod("ClusterFirst", True), HOST, []) == HOST
    got = CLUSTER.get_pod_dns(pod("ClusterFirstWithHostNet", True), HOST, [])
    assert got.servers == ["10.96.0.10"] and got.searches[0] == "ns1.svc.cluster.local"
    assert CLUSTER.get_pod_dns(pod("Default"), HOST, []) == HOST


def test_empty_resolv_conf_flag_means_localhost() -> None:
    c = dns.Configurer((), "", resolver_config="")
    assert c.get_pod_dns(pod("Default"), dns.DNSConfig(), []) == dns.DNSConfig(["127.0.0.1"],
                                                                               ["."], [])  # fmt: skip


def test_none_takes_only_dns_config_and_options_merge() -> None:
    config = v1.PodDNSConfig(
        nameservers=["1.1.1.1"], searches=["a.example"],
        options=[v1.PodDNSConfigOption(name="ndots", value="2"),
                 v1.PodDNSConfigOption(name="edns0")],
    )  # fmt: skip
    assert CLUSTER.get_pod_dns(pod("None", config=config), HOST, []) == dns.DNSConfig(
        ["1.1.1.1"], ["a.example"], ["ndots:2", "edns0"]
    )
    got = CLUSTER.get_pod_dns(pod("ClusterFirst", config=config), HOST, [])
    assert got.servers == ["10.96.0.10", "1.1.1.1"]
    assert got.searches[-1] == "a.example" and got.options == ["ndots:2", "edns0"]
    dup = v1.PodDNSConfig(nameservers=["10.96.0.10"], searches=["cluster.local"])
    got = CLUSTER.get_pod_dns(pod(config=dup), HOST, [])
    assert got.servers == ["10.96.0.10"] and got.searches.count("cluster.local") == 1


def test_limits_with_upstream_events() -> None:
    config = v1.PodDNSConfig(nameservers=[f"192.0.2.{i}" for i in range(5)])
    events: list = []
    got = CLUSTER.get_pod_dns(pod("None", config=config), HOST, events)
    assert got.servers == ["192.0.2.0", "192.0.2.1", "192.0.2.2"]
    assert events == [("Warning", "DNSConfigForming", "Nameserver limits were exceeded, some "
                       "nameservers have been omitted, the applied nameserver line is: "
                       "192.0.2.0 192.0.2.1 192.0.2.2")]  # fmt: skip
    events = []
    long = v1.PodDNSConfig(searches=[f"d{i}.example" for i in range(40)] + ["x" * 254])
    got = CLUSTER.get_pod_dns(pod("None", config=long), HOST, events)
    assert got.searches == [f"d{i}.example" for i in range(32)]
    assert events[0][2].endswith("the applied search line is: " + " ".join(got.searches))


# lengths that cross the 253-character name and 2048-character line limits
names = st.builds(lambda n, k: ".".join(["x" * n] * k), st.integers(1, 90), st.integers(1, 4))


@given(
    servers=st.lists(st.integers(0, 9).map(lambda i: f"10.0.0.{i}"), max_size=6),
    searches=st.lists(names, max_size=40),
    policy=st.sampled_from(["ClusterFirst", "Default", "None", "ClusterFirstWithHostNet"]),
)
def test_limits_always_hold(servers: list[str], searches: list[str], policy: str) -> None:
    config = v1.PodDNSConfig(nameservers=servers, searches=searches)
    got = CLUSTER.get_pod_dns(pod(policy, config=config), HOST, [])
    assert len(got.servers) <= dns.MAX_DNS_NAMESERVERS
    assert len(got.searches) <= dns.MAX_DNS_SEARCH_PATHS
    assert len(" ".join(got.searches)) <= dns.MAX_DNS_SEARCH_LIST_CHARS
    assert len(set(got.searches)) == len(got.searches)
    assert all(len(s) <= dns.DNS1123_SUBDOMAIN_MAX_LENGTH for s in got.searches)


def test_managed_hosts_file() -> None:
    aliases = [v1.HostAlias(ip="192.0.2.9", hostnames=["foo", "bar"])]
    p = pod(hostname="box", subdomain="sub", host_aliases=aliases)
    text = etchosts.hosts_file_content(p, ["10.1.0.7"], "cluster.local", "")
    assert text == (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
        "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
        "10.1.0.7\tbox.sub.ns1.svc.cluster.local\tbox\n"
        "\n# Entries added by HostAliases.\n192.0.2.9\tfoo\n192.0.2.9\tbar\n"
    )
    plain = etchosts.hosts_file_content(pod(), ["10.1.0.8"], "cluster.local", "")
    assert plain.endswith("fe00::2\tip6-allrouters\n10.1.0.8\tp\n")
    host = etchosts.hosts_file_content(pod(host_network=True), [], "", "127.0.0.1 node\n")
    assert host == "# Kubernetes-managed hosts file (host network).\n127.0.0.1 node\n"


def test_hostname_truncation_and_fqdn() -> None:
    long = v1.Pod(metadata=metav1.ObjectMeta(name="a" * 62 + "-bc", namespace="n"))
    assert etchosts.generate_pod_hostname_and_domain(long, "") == ("a" * 62, "")
    fqdn = pod(hostname="box", subdomain="sub", set_hostname_as_fqdn=True)
    assert etchosts.sandbox_hostname(fqdn, "cluster.local") == "box.sub.ns1.svc.cluster.local"
    assert etchosts.sandbox_hostname(fqdn, "") == "box"
