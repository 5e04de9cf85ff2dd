"""Split a query name inside the cluster zone into its Kubernetes parts.

Mirrors coredns/coredns plugin/kubernetes/parse.go (recordRequest, parseRequest,
stripUnderscore). The name, with the zone cut off, is read right to left:
`svc|pod`, namespace, service (or the dashed pod IP), then either one endpoint
label or the `_port._protocol` pair of an SRV query. A name with more labels, or
whose last label is neither `svc` nor `pod`, is an invalid request: NXDOMAIN.
Omitted: the multicluster `endpoint.clusterid` and the zonal `zone._zone` forms.
"""

from __future__ import annotations

from dataclasses import dataclass

from minicluster.dns.wire import name_to_labels

__all__ = ["POD", "SVC", "InvalidRequest", "RecordRequest", "parse_request", "strip_underscore"]

SVC = "svc"
POD = "pod"


class InvalidRequest(ValueError):
    """errInvalidRequest: the name cannot name anything in the zone (a name error)."""


@dataclass(frozen=True)
class RecordRequest:
    """The labels of a query; empty fields were absent (a wildcard to the lookups)."""

    port: str = ""
    protocol: str = ""
    endpoint: str = ""
    service: str = ""
    namespace: str = ""
    pod_or_svc: str = ""


def strip_underscore(label: str) -> str:
    """`_http` -> `http`: SRV labels carry a leading underscore (RFC 2782)."""
    return label[1:] if label.startswith("_") else label


def trim_zone(name: str, zone: str) -> list[str]:
    """The labels of name left of zone, lower-cased (comparisons are case-insensitive)."""
    labels = [label.decode("latin-1").lower() for label in name_to_labels(name)]
    zone_len = len(name_to_labels(zone))
    return labels[: len(labels) - zone_len]


def parse_request(name: str, zone: str) -> RecordRequest:
    """parseRequest: the RecordRequest of a lower-case name inside zone."""
    segs = trim_zone(name, zone)
    if not segs or segs in ([SVC], [POD]):
        return RecordRequest()  # the apex, svc.<zone> or pod.<zone>: NODATA
    pod_or_svc = segs.pop()
    if pod_or_svc not in (SVC, POD):
        raise InvalidRequest(name)
    fields = {"pod_or_svc": pod_or_svc}
    for key in ("namespace", "service"):
        if segs:
            fields[key] = segs.pop()
    if len(segs) == 1:
        fields["endpoint"] = segs[0]
    elif len(segs) == 2:
        fields["port"] = strip_underscore(segs[0])
        fields["protocol"] = strip_underscore(segs[1])
    elif segs:
        raise InvalidRequest(name)
    return RecordRequest(**fields)
