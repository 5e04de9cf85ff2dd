"""Cluster DNS: the role CoreDNS's kubernetes plugin plays in a Kubernetes cluster.

Answers `<svc>.<ns>.svc.<domain>` (ClusterIP, headless, ExternalName), endpoint
hostnames, SRV records of named ports, `<a-b-c-d>.<ns>.pod.<domain>` and PTR
records, from informer caches of Services, EndpointSlices and Namespaces, and
forwards every other name to the resolvers of /etc/resolv.conf. Modules, from the
wire up: wire, rdata, message (codec, after miekg/dns); parse, controller,
kubernetes, handler (the pure plugin core); forward, server, __main__ (sockets).
See docs/cluster-dns.md for the map to the upstream files.
"""

from minicluster.dns.server import run_dns

__all__ = ["run_dns"]
