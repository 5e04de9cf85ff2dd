"""Elections: starting one (hup), asking for votes (campaign), counting them (poll).

Mirrors etcd-io/raft raft.go (hup, hasUnappliedConfChanges, campaign, poll).
§5.2: a follower whose election timeout fires becomes a candidate, votes for
itself and asks every voter; with PreVote (thesis §9.6) it first asks "would
you vote for me?" without touching its term, so a node that was partitioned
away cannot force the cluster into a new term when it comes back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from miniraft.raft.quorum import VoteResult
from miniraft.raft.raft_state import (
    CAMPAIGN_PRE_ELECTION,
    CAMPAIGN_TRANSFER,
    StateType,
    vote_resp_msg_type,
)
from miniraft.raft.raftpb import EntryType, Message, MessageType

if TYPE_CHECKING:
    from miniraft.raft.raft import Raft

MT = MessageType


def hup(r: Raft, t: bytes) -> None:
    if r.state == StateType.LEADER:
        return
    if not r.promotable():
        r.log(f"{r.id:x} is unpromotable and can not campaign")
        return
    if has_unapplied_conf_changes(r):
        r.log(
            f"{r.id:x} cannot campaign at term {r.term} since there are still "
            "pending configuration changes to apply"
        )
        return
    r.log(f"{r.id:x} is starting a new election at term {r.term}")
    campaign(r, t)


def has_unapplied_conf_changes(r: Raft) -> bool:
    if r.raft_log.applied >= r.raft_log.committed:
        return False
    ents = r.raft_log.slice(r.raft_log.applied + 1, r.raft_log.committed + 1)
    return any(e.type != EntryType.NORMAL for e in ents)


def campaign(r: Raft, t: bytes) -> None:
    if t == CAMPAIGN_PRE_ELECTION:
        r.become_pre_candidate()
        vote_msg, term = MT.MSG_PRE_VOTE, r.term + 1  # the term we would run in
    else:
        r.become_candidate()
        vote_msg, term = MT.MSG_VOTE, r.term
    last_index = r.raft_log.last_index()
    last_term = r.raft_log.last_term()
    for i in r.trk.voter_nodes():
        if i == r.id:
            # Our own vote, counted once our term and vote are persisted.
            r.send(Message(type=vote_resp_msg_type(vote_msg), to=i, term=term))
            continue
        r.log(
            f"{r.id:x} [logterm: {last_term}, index: {last_index}] sent {vote_msg} "
            f"request to {i:x} at term {r.term}"
        )
        ctx = CAMPAIGN_TRANSFER if t == CAMPAIGN_TRANSFER else b""
        r.send(
            Message(
                type=vote_msg,
                to=i,
                term=term,
                index=last_index,
                log_term=last_term,
                context=ctx,
            )
        )


def poll(r: Raft, node_id: int, t: MessageType, v: bool) -> tuple[int, int, VoteResult]:
    what = "" if v else " rejection"
    r.log(f"{r.id:x} received {t}{what} from {node_id:x} at term {r.term}")
    r.trk.record_vote(node_id, v)
    return r.trk.tally_votes()
