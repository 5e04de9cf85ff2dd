"""Names shared by raft.py and its helpers: roles, campaign kinds, errors.

Mirrors the top of etcd-io/raft raft.go (StateType, CampaignType, None,
ErrProposalDropped) and util.go (voteRespMsgType).
"""

from __future__ import annotations

from enum import IntEnum

from miniraft.raft.raftpb import MessageType
from miniraft.raft.storage import RaftError

NONE = 0  # "no node": no leader known, no vote cast

# CampaignType values; CAMPAIGN_TRANSFER also travels in MsgVote.context so
# voters skip their leader lease for a leadership transfer.
CAMPAIGN_PRE_ELECTION = b"CampaignPreElection"
CAMPAIGN_ELECTION = b"CampaignElection"
CAMPAIGN_TRANSFER = b"CampaignTransfer"


class StateType(IntEnum):
    """The role of a node (§5.1, plus PreVote's pre-candidate)."""

    FOLLOWER = 0
    CANDIDATE = 1
    LEADER = 2
    PRE_CANDIDATE = 3

    def __str__(self) -> str:
        return "State" + "".join(p.capitalize() for p in self.name.split("_"))


class ErrProposalDropped(RaftError):
    def __init__(self) -> None:
        super().__init__("raft proposal dropped")


def vote_resp_msg_type(t: MessageType) -> MessageType:
    return MessageType.MSG_VOTE_RESP if t == MessageType.MSG_VOTE else MessageType.MSG_PRE_VOTE_RESP
