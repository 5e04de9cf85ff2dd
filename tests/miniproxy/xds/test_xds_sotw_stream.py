"""The state-of-the-world stream as a pure state machine: one request in, responses out.

Reference: envoy/api/xds_protocol.rst, "ACK/NACK and resource type instance version",
"When to send an update", "Resource updates" and "Eventual consistency considerations"
(CDS before EDS, LDS before RDS).
"""

from __future__ import annotations

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from google.protobuf import any_pb2
from google.rpc import status_pb2

from miniproxy.xds.server import discovery_request as dreq
from miniproxy.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, ROUTE, next_snapshot
from miniproxy.xds.sotw import SotwStream


def pack(msg) -> any_pb2.Any:
    a = any_pb2.Any()
    a.Pack(msg)
    return a


def resources(port=80, route_cluster="c1"):
    cla = endpoint_pb2.ClusterLoadAssignment(cluster_name="c1")
    cla.endpoints.add().lb_endpoints.add().endpoint.address.socket_address.port_value = port
    rc = route_pb2.RouteConfiguration(name="r1")
    rc.virtual_hosts.add(name="v", domains=["*"]).routes.add().route.cluster = route_cluster
    return [
        pack(cluster_pb2.Cluster(name="c1", type=cluster_pb2.Cluster.EDS)),
        pack(cluster_pb2.Cluster(name="c2")),
        pack(cla),
        pack(listener_pb2.Listener(name="l1")),
        pack(rc),
    ]


def test_wildcard_cds_then_ack_then_push_on_change_only():
    snap1 = next_snapshot(None, resources(), 1)
    s = SotwStream(snap1)
    (r,) = s.on_request(dreq(CLUSTER, node_id="n"))
    assert r.version_info == "1" and len(r.resources) == 2 and r.nonce
    assert s.on_request(dreq(CLUSTER, version="1", nonce=r.nonce)) == []  # ACK
    assert s.events[-1].kind == "ack"
    snap2 = next_snapshot(snap1, resources(port=81), 2)
    assert snap2.version(CLUSTER) == "1" and snap2.version(ENDPOINT) == "2"
    assert s.on_snapshot(snap2) == []  # clusters unchanged: nothing to send


def test_eds_and_rds_are_filtered_by_name_and_pushes_follow_envoys_order():
    snap1 = next_snapshot(None, resources(), 1)
    s = SotwStream(snap1)
    acks = {}
    for t, names in ((CLUSTER, []), (ENDPOINT, ["c1", "missing"]), (LISTENER, []), (ROUTE, ["r1"])):
        (r,) = s.on_request(dreq(t, names))
        assert len(r.resources) == 1 or t == CLUSTER
        acks[t] = r
        s.on_request(dreq(t, names, version=r.version_info, nonce=r.nonce))
    new = resources(port=99, route_cluster="c2")
    new[0] = pack(
        cluster_pb2.Cluster(name="c1", type=cluster_pb2.Cluster.EDS, connect_timeout={"seconds": 3})
    )
    new[3] = pack(listener_pb2.Listener(name="l1", stat_prefix="x"))
    out = s.on_snapshot(next_snapshot(snap1, new, 2))
    assert [r.type_url for r in out] == [CLUSTER, ENDPOINT, LISTENER, ROUTE]


def test_nack_is_recorded_and_the_rejected_version_is_not_resent():
    snap1 = next_snapshot(None, resources(), 1)
    s = SotwStream(snap1)
    (r1,) = s.on_request(dreq(LISTENER))
    s.on_request(dreq(LISTENER, version="1", nonce=r1.nonce))
    snap2 = next_snapshot(
        snap1,
        resources()[:3]
        + [pack(listener_pb2.Listener(name="l1", stat_prefix="bad"))]
        + resources()[4:],
        2,
    )
    (r2,) = s.on_snapshot(snap2)
    nack = dreq(LISTENER, version="1", nonce=r2.nonce)
    nack.error_detail.CopyFrom(status_pb2.Status(code=3, message="boom"))
    assert s.on_request(nack) == []
    ev = s.events[-1]
    assert (ev.kind, ev.version, ev.message) == ("nack", "2", "boom")
    snap3 = next_snapshot(snap2, resources(), 3)  # a fixed config gets through
    (r3,) = s.on_snapshot(snap3)
    assert r3.version_info == "3"


def test_stale_nonce_is_ignored():
    s = SotwStream(next_snapshot(None, resources(), 1))
    (r,) = s.on_request(dreq(CLUSTER))
    assert s.on_request(dreq(CLUSTER, version="0", nonce="not-" + r.nonce)) == []
    assert s.events[-1].kind == "stale"


def test_changing_the_subscription_gets_an_immediate_answer():
    s = SotwStream(next_snapshot(None, resources(), 1))
    (r,) = s.on_request(dreq(ENDPOINT, ["nothing"]))
    assert len(r.resources) == 0
    (r2,) = s.on_request(dreq(ENDPOINT, ["c1"], version=r.version_info, nonce=r.nonce))
    assert len(r2.resources) == 1
