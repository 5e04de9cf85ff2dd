"""The peer writer's coalescing (rafthttp/coalesce.py): what it drops, and that it changes nothing.

1. A property over arbitrary queues: the result keeps order, never drops a
   message with entries, a rejection or any other type, and every dropped
   message is covered by a later kept one (same term and previous entry, a
   commit at least as high; or an acknowledgement at least as high).
2. Three RawNodes wired in memory, each Ready persisted and its messages
   queued per peer the way the transport queues them: with coalescing the
   cluster commits the same log with fewer messages than without it, on a
   seeded schedule of proposals and deliveries.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from miniraft.raft import (
    Config,
    ConfState,
    Entry,
    HardState,
    MemoryStorage,
    Message,
    MessageType,
    RawNode,
    Snapshot,
    SnapshotMetadata,
    StateType,
)
from miniraft.server.rafthttp.coalesce import coalesce

APP, RESP = MessageType.MSG_APP, MessageType.MSG_APP_RESP

messages = st.builds(
    lambda kind, term, index, log_term, commit, n, reject: Message(
        type=kind,
        to=2,
        frm=1,
        term=term,
        index=index,
        log_term=log_term,
        commit=commit,
        entries=tuple(
            Entry(term=term, index=index + i + 1) for i in range(n if kind == APP else 0)
        ),
        reject=reject,
    ),
    st.sampled_from([APP, APP, RESP, RESP, MessageType.MSG_HEARTBEAT]),
    st.integers(1, 2),
    st.integers(0, 3),
    st.integers(0, 2),
    st.integers(0, 4),
    st.integers(0, 2),
    st.booleans(),
)


def covered(m: Message, later: list[Message]) -> bool:
    for x in later:
        if x.type != m.type or x.term != m.term:
            continue
        if (
            m.type == APP
            and (x.index, x.log_term) == (m.index, m.log_term)
            and x.commit >= m.commit
        ):
            return True
        if m.type == RESP and not x.reject and x.index >= m.index:
            return True
    return False


@settings(max_examples=150, deadline=None)
@given(st.lists(messages, max_size=12))
def test_coalesce_keeps_order_and_drops_only_covered_messages(msgs: list[Message]) -> None:
    out = coalesce(msgs)
    pos: list[int] = []  # where each kept message stood in the queue, by identity
    for m in out:
        start = pos[-1] + 1 if pos else 0
        pos.append(next(j for j in range(start, len(msgs)) if msgs[j] is m))
    for i, m in enumerate(msgs):
        if i in pos:
            continue
        assert m.type in (APP, RESP) and not m.entries and not (m.type == RESP and m.reject)
        later = [x for x, j in zip(out, pos, strict=True) if j > i]
        assert covered(m, later), f"dropped {m} with nothing covering it"


def node(i: int) -> tuple[RawNode, MemoryStorage]:
    s = MemoryStorage()
    cs = ConfState(voters=(1, 2, 3))
    s.apply_snapshot(Snapshot(metadata=SnapshotMetadata(cs, index=1, term=1)))
    return RawNode(Config(i, 10, 1, s, rand=random.Random(i), max_inflight_msgs=256)), s


def run(seed: int, merge: bool) -> tuple[list[bytes], int]:
    """Committed data on every member (checked equal) and the number of messages delivered."""
    rng = random.Random(seed)
    nodes = {i: node(i) for i in (1, 2, 3)}
    queues: dict[tuple[int, int], list[Message]] = {}
    committed: dict[int, list[bytes]] = {i: [] for i in nodes}
    delivered = 0
    nodes[1][0].campaign()
    proposed = 0
    for _ in range(400):
        for i, (rn, s) in nodes.items():
            if rn.has_ready():
                rd = rn.ready()
                s.append(rd.entries)
                if rd.hard_state != HardState():
                    s.set_hard_state(rd.hard_state)
                committed[i] += [e.data for e in rd.committed_entries if e.data]
                for m in rd.messages:
                    queues.setdefault((i, m.to), []).append(m)
                rn.advance(rd)
        lead = nodes[1][0]
        if lead.raft.state == StateType.LEADER and proposed < 60 and rng.random() < 0.4:
            proposed += 1
            lead.propose(b"p%d" % proposed)
        for key in list(queues):
            if rng.random() < 0.5:  # the peer's writer has not run yet: more queues up
                continue
            batch = queues.pop(key)
            for m in coalesce(batch) if merge else batch:
                delivered += 1
                nodes[key[1]][0].step(m)
    assert committed[1] == committed[2] == committed[3]
    return committed[1], delivered


def test_coalesced_cluster_commits_the_same_log_with_fewer_messages() -> None:
    for seed in range(3):
        plain, n_plain = run(seed, merge=False)
        merged, n_merged = run(seed, merge=True)
        assert len(plain) == 60 and merged == plain
        assert n_merged < n_plain
