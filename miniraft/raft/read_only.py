"""ReadIndex: linearizable reads without writing to the log.

Mirrors etcd-io/raft read_only.go (readOnly, ReadOnlyOption). §6.4 of the
Raft thesis: the leader records its commit index as the read index, then
proves it is still leader by a heartbeat round that a quorum acknowledges;
once acked, any read at or after that index is linearizable.
Each pending read gets a position (1, 2, 3...); a heartbeat carries the
highest position (8 bytes, little endian) so one ack confirms every read up to
it. READ_ONLY_LEASE_BASED skips the round and trusts the leader lease instead,
which is only safe if clocks drift by less than the election timeout (it relies
on CheckQuorum having deposed a partitioned leader in time).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from miniraft.raft.quorum import JointConfig
from miniraft.raft.raftpb import Message


class ReadOnlyOption(IntEnum):
    READ_ONLY_SAFE = 0
    READ_ONLY_LEASE_BASED = 1


@dataclass(frozen=True, slots=True)
class ReadState:
    """A read that may be served once the node has applied up to `index`."""

    index: int
    request_ctx: bytes


@dataclass(slots=True)
class ReadIndexRequest:
    req: Message
    index: int


class ReadOnly:
    def __init__(self, option: ReadOnlyOption) -> None:
        self.option = option
        self.acks: dict[int, int] = {}  # voter -> highest position it acked
        self.unconfirmed_reads: list[ReadIndexRequest] = []
        self.confirmed_reads = 0

    def add_request(self, commit_index: int, req: Message) -> None:
        self.unconfirmed_reads.append(ReadIndexRequest(req, commit_index))

    def recv_ack(self, frm: int, ctx: bytes) -> None:
        if len(ctx) == 8:
            self.acks[frm] = max(self.acks.get(frm, 0), int.from_bytes(ctx, "little"))

    def maybe_advance(self, voters: JointConfig) -> list[ReadIndexRequest]:
        """The reads that a quorum has now confirmed, oldest first."""
        confirmed = voters.committed_index(self.acks.get)
        if confirmed <= self.confirmed_reads:
            return []
        n = confirmed - self.confirmed_reads
        done, self.unconfirmed_reads = self.unconfirmed_reads[:n], self.unconfirmed_reads[n:]
        self.confirmed_reads = confirmed
        return done

    def heartbeat_ctx(self) -> bytes:
        if not self.unconfirmed_reads:
            return b""
        pos = self.confirmed_reads + len(self.unconfirmed_reads)
        return pos.to_bytes(8, "little")
