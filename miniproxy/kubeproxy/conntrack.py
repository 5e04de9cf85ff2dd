"""Flush conntrack entries that still point UDP clients at endpoints that are gone.

Mirrors k8s.io/kubernetes pkg/util/conntrack/conntrack.go as it was while kube-proxy
exec'd the conntrack tool (ClearEntriesForNAT, ClearEntriesForPortNAT, and the "0 flow
entries have been deleted" exit status that is not an error) and the proxiers'
deleteEndpointConnections. Why: UDP has no connection to close, so the kernel keeps the
DNAT it chose for a client's 5-tuple for as long as packets keep coming (120 s of
silence by default); without this flush, a DNS client with a fixed source port keeps
talking to a dead pod after the endpoint is removed.
Omitted: the netlink filters newer upstream uses instead of the tool, and clearing a
service IP's entries when it goes from no endpoints to some (cached ICMP rejects).
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable

from miniproxy.kubeproxy.types import EndpointInfo, ServicePortMap

log = logging.getLogger("miniproxy.kubeproxy.conntrack")

__all__ = ["Conntrack", "delete_endpoint_connections"]


class Conntrack:
    """The conntrack tool, optionally inside a network namespace."""

    def __init__(self, netns: str | None = None, binary: str = "conntrack") -> None:
        self.prefix = ["ip", "netns", "exec", netns] if netns else []
        self.binary = binary

    def _delete(self, *args: str) -> None:
        argv = [*self.prefix, self.binary, "-D", *args]
        proc = subprocess.run(argv, capture_output=True, text=True)
        # conntrack exits 1 when nothing matched; only other failures are errors.
        if proc.returncode != 0 and "0 flow entries have been deleted" not in proc.stderr:
            raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")

    def clear_entries_for_nat(self, origin: str, dest: str, protocol: str) -> None:
        """Entries of flows sent to `origin` (a service IP) and DNATed to `dest`."""
        self._delete("--orig-dst", origin, "--dst-nat", dest, "-p", protocol.lower())

    def clear_entries_for_port_nat(self, dest: str, port: int, protocol: str) -> None:
        """Entries of flows to node port `port` DNATed to `dest`."""
        self._delete("-p", protocol.lower(), "--dport", str(port), "--dst-nat", dest)


def delete_endpoint_connections(
    ct: Conntrack, svc_port_map: ServicePortMap, stale: Iterable[tuple[str, EndpointInfo]]
) -> int:
    """deleteEndpointConnections: flush every address a removed UDP endpoint served behind.

    `stale` names service ports by their string form (as changes.py reports them).
    Returns how many endpoints were flushed; a failure is logged, not raised, as upstream.
    """
    by_name = {str(spn): svc for spn, svc in svc_port_map.items()}
    flushed = 0
    for name, ep in stale:
        svc = by_name.get(name)
        if svc is None or svc.protocol != "UDP":
            continue
        try:
            if svc.node_port:
                ct.clear_entries_for_port_nat(ep.ip, svc.node_port, svc.protocol)
            for ip in (svc.cluster_ip, *svc.external_ips, *svc.load_balancer_vips):
                ct.clear_entries_for_nat(ip, ep.ip, svc.protocol)
            flushed += 1
        except (OSError, RuntimeError) as err:
            log.error("failed to clear conntrack entries for %s -> %s: %s", name, ep, err)
    return flushed
