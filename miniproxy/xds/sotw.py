"""One ADS stream's state-of-the-world protocol, as a pure state machine.

Mirrors go-control-plane's pkg/server/sotw/v3/server.go and pkg/cache/v3/simple.go
(watches) and the xDS protocol document (envoy/api/xds_protocol.rst: "ACK and NACK
semantics", "When to send an update", "Resource warming"). Per type the stream remembers
the subscribed names, the nonce of its last response and whether the client has a request
outstanding (an open watch). A request carrying a stale nonce is ignored; one with
`error_detail` is a NACK of the version it was sent and that version is not sent again; an
ACK closes nothing but reopens the watch. A response goes out only on an open watch, when the
snapshot's version differs from what the client holds or the subscription changed. Snapshot
changes are answered in CDS, EDS, LDS, RDS order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from envoy.service.discovery.v3 import discovery_pb2

from miniproxy.xds.snapshot import ORDER, WILDCARD_TYPES, Snapshot


@dataclass
class TypeState:
    names: list[str] | None = None  # None: wildcard
    client_version: str = ""
    last_nonce: str = ""
    sent_version: str | None = None
    sent_names: list[str] | None = None
    watch_open: bool = False
    nacked_version: str | None = None
    acked_version: str = ""


@dataclass(frozen=True)
class Event:
    """What happened, for logs and for the server's NACK report."""

    kind: str  # "ack" | "nack" | "stale"
    type_url: str
    version: str
    nonce: str
    message: str = ""
    node_id: str = ""


@dataclass
class SotwStream:
    snapshot: Snapshot
    control_plane: str = "minicloud-xds"
    nonce_counter: int = 0
    types: dict[str, TypeState] = field(default_factory=dict)
    node_id: str = ""
    events: list[Event] = field(default_factory=list)

    def on_request(
        self, req: discovery_pb2.DiscoveryRequest
    ) -> list[discovery_pb2.DiscoveryResponse]:
        if req.node.id:
            self.node_id = req.node.id
        st = self.types.setdefault(req.type_url, TypeState())
        if req.response_nonce and req.response_nonce != st.last_nonce:
            self.events.append(
                Event(
                    "stale",
                    req.type_url,
                    req.version_info,
                    req.response_nonce,
                    node_id=self.node_id,
                )
            )
            return []
        names = list(req.resource_names)
        st.names = (
            None if (not names and req.type_url in WILDCARD_TYPES) or names == ["*"] else names
        )
        if req.response_nonce:
            if req.HasField("error_detail") and req.error_detail.code != 0:
                st.nacked_version = st.sent_version
                self.events.append(
                    Event(
                        "nack",
                        req.type_url,
                        st.sent_version or "",
                        req.response_nonce,
                        req.error_detail.message,
                        self.node_id,
                    )
                )
            else:
                st.acked_version = req.version_info
                self.events.append(
                    Event(
                        "ack",
                        req.type_url,
                        req.version_info,
                        req.response_nonce,
                        node_id=self.node_id,
                    )
                )
        st.client_version = req.version_info
        st.watch_open = True
        resp = self._maybe_respond(req.type_url, st)
        return [resp] if resp is not None else []

    def on_snapshot(self, snapshot: Snapshot) -> list[discovery_pb2.DiscoveryResponse]:
        self.snapshot = snapshot
        out = []
        for t in ORDER:
            st = self.types.get(t)
            if st is not None:
                resp = self._maybe_respond(t, st)
                if resp is not None:
                    out.append(resp)
        return out

    def _maybe_respond(
        self, type_url: str, st: TypeState
    ) -> discovery_pb2.DiscoveryResponse | None:
        if not st.watch_open:
            return None
        version = self.snapshot.version(type_url)
        if not version:
            return None
        names_changed = st.sent_names != st.names
        if not names_changed and (version == st.client_version or version == st.nacked_version):
            return None
        self.nonce_counter += 1
        resp = discovery_pb2.DiscoveryResponse(
            version_info=version,
            resources=self.snapshot.select(type_url, st.names),
            type_url=type_url,
            nonce=str(self.nonce_counter),
        )
        resp.control_plane.identifier = self.control_plane
        st.last_nonce = resp.nonce
        st.sent_version = version
        st.sent_names = None if st.names is None else list(st.names)
        st.watch_open = False
        return resp
