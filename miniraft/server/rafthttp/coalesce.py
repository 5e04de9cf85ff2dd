"""Drop queued Raft messages that a later message to the same peer makes redundant.

No etcd counterpart: rafthttp writes every message the Ready loop hands it.
A Python member pays far more per message than etcd does (encode, a frame,
decode and a Raft step on the receiver, and for an append a Ready there), so
the peer writer drops, among the messages queued for one peer, the ones whose
whole effect a later queued message of the same term also has:

- an empty MsgApp (the leader telling a follower a new commit index) when a
  later MsgApp has the same previous entry (index, log term) and a commit
  index at least as high — typically the append of the next batch, which a
  leader steps right after the acknowledgements that moved its commit index;
- an accepting MsgAppResp when a later accepting MsgAppResp acknowledges an
  index at least as high (the leader only keeps the highest match).

Rejections, entries, snapshots, votes and heartbeats are never dropped, and
order is kept, so the receiver steps exactly what the Raft core would have
reached by stepping everything.
"""

from __future__ import annotations

from miniraft.raft import Message, MessageType

_APP = MessageType.MSG_APP
_APP_RESP = MessageType.MSG_APP_RESP


def coalesce(msgs: list[Message]) -> list[Message]:
    """The messages for one peer, in order, without the redundant ones."""
    if len(msgs) < 2:
        return msgs
    app_commit: dict[tuple[int, int, int], int] = {}  # (term, index, log_term) -> max commit
    resp_index: dict[int, int] = {}  # term -> highest accepted index later in the queue
    keep: list[Message] = []
    for m in reversed(msgs):
        if m.type == _APP and m.snapshot is None:
            key = (m.term, m.index, m.log_term)
            later = app_commit.get(key)
            if not m.entries and later is not None and later >= m.commit:
                continue
            if later is None or m.commit > later:
                app_commit[key] = m.commit
        elif m.type == _APP_RESP and not m.reject:
            later = resp_index.get(m.term)
            if later is not None and later >= m.index:
                continue
            resp_index[m.term] = m.index
        keep.append(m)
    if len(keep) == len(msgs):
        return msgs
    keep.reverse()
    return keep
