"""Cluster membership: members, their URLs, and the IDs derived from them.

Mirrors etcd server/etcdserver/api/membership/{cluster.go,member.go}
(RaftCluster, Member, NewMember's ID from sha1 of peer URLs + cluster token
(+ time for added members), the cluster ID from the member IDs, the JSON a
ConfChange carries in its context, ValidateConfigurationChange's errors).
Omitted: the v2 store and backend persistence (snapshots carry members),
cluster versions, downgrade.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field

from miniraft.api.etcdserverpb import rpc_pb2 as pb


class MembershipError(Exception):
    """Carries etcd's message; rpctypes maps it to a gRPC status."""


def compute_member_id(peer_urls: list[str], token: str, now: int | None = None) -> int:
    b = "".join(sorted(peer_urls)) + token
    if now is not None:
        b += str(now)
    return struct.unpack(">Q", hashlib.sha1(b.encode()).digest()[:8])[0]


@dataclass
class Member:
    id: int
    name: str = ""
    peer_urls: list[str] = field(default_factory=list)
    client_urls: list[str] = field(default_factory=list)
    is_learner: bool = False

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "id": self.id,
                "peerURLs": self.peer_urls,
                "name": self.name,
                "isLearner": self.is_learner,
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Member:
        d = json.loads(data)
        return cls(
            id=d["id"],
            name=d.get("name", ""),
            peer_urls=list(d.get("peerURLs", [])),
            is_learner=d.get("isLearner", False),
        )

    def to_pb(self) -> pb.Member:
        return pb.Member(
            ID=self.id,
            name=self.name,
            peerURLs=self.peer_urls,
            clientURLs=self.client_urls,
            isLearner=self.is_learner,
        )


@dataclass
class RaftCluster:
    token: str = "etcd-cluster"
    cid: int = 0
    members: dict[int, Member] = field(default_factory=dict)
    removed: set[int] = field(default_factory=set)

    def set_id_from_members(self) -> None:
        ids = sorted(self.members)
        b = b"".join(struct.pack(">Q", i) for i in ids)
        self.cid = struct.unpack(">Q", hashlib.sha1(b).digest()[:8])[0]

    def member_by_name(self, name: str) -> Member | None:
        return next((m for m in self.members.values() if m.name == name), None)

    def voters(self) -> list[int]:
        return sorted(i for i, m in self.members.items() if not m.is_learner)

    def add_member(self, m: Member) -> None:
        self.members[m.id] = m

    def remove_member(self, mid: int) -> None:
        self.members.pop(mid, None)
        self.removed.add(mid)

    def promote_member(self, mid: int) -> None:
        if mid in self.members:
            self.members[mid].is_learner = False

    def update_peer_urls(self, mid: int, urls: list[str]) -> None:
        if mid in self.members:
            self.members[mid].peer_urls = urls

    def update_attributes(self, mid: int, name: str, client_urls: list[str]) -> None:
        if mid in self.members:
            self.members[mid].name = name
            self.members[mid].client_urls = client_urls

    def validate_add(self, m: Member) -> None:
        if m.id in self.members or m.id in self.removed:
            raise MembershipError("etcdserver: member ID already exist")
        urls = {u for x in self.members.values() for u in x.peer_urls}
        if urls & set(m.peer_urls):
            raise MembershipError("etcdserver: Peer URLs already exists")

    def validate_remove(self, mid: int) -> None:
        if mid in self.removed or mid not in self.members:
            raise MembershipError("etcdserver: member not found")

    def validate_promote(self, mid: int) -> None:
        m = self.members.get(mid)
        if m is None:
            raise MembershipError("etcdserver: member not found")
        if not m.is_learner:
            raise MembershipError("etcdserver: can only promote a learner member")

    def to_dict(self) -> dict:
        return {
            "token": self.token,
            "cid": self.cid,
            "removed": sorted(self.removed),
            "members": [
                {
                    "id": m.id,
                    "name": m.name,
                    "peerURLs": m.peer_urls,
                    "clientURLs": m.client_urls,
                    "isLearner": m.is_learner,
                }
                for m in self.members.values()
            ],
        }

    @classmethod
    def from_dict(cls, d: dict) -> RaftCluster:
        c = cls(token=d["token"], cid=d["cid"], removed=set(d["removed"]))
        for m in d["members"]:
            c.members[m["id"]] = Member(
                m["id"], m["name"], m["peerURLs"], m["clientURLs"], m["isLearner"]
            )
        return c


def parse_initial_cluster(spec: str) -> list[tuple[str, str]]:
    """`n1=http://a:2380,n2=http://b:2380` → [(name, peer URL)]; a name may repeat."""
    out = []
    for part in spec.split(","):
        if not part.strip():
            continue
        name, _, url = part.partition("=")
        if not url:
            raise ValueError(f"invalid --initial-cluster entry {part!r}")
        out.append((name.strip(), url.strip()))
    return out


def new_cluster_from_flags(spec: str, token: str) -> RaftCluster:
    c = RaftCluster(token=token)
    by_name: dict[str, list[str]] = {}
    for name, url in parse_initial_cluster(spec):
        by_name.setdefault(name, []).append(url)
    for name, urls in by_name.items():
        mid = compute_member_id(urls, token)
        c.members[mid] = Member(mid, name, sorted(urls))
    c.set_id_from_members()
    return c
