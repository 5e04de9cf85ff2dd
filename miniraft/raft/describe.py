"""Human-readable one-liners for messages, entries, states and Ready.

Mirrors etcd-io/raft util.go (DescribeMessage, DescribeEntry, DescribeHardState,
DescribeSoftState, DescribeConfState, DescribeSnapshot, DescribeReady), so our
transcripts and traces read exactly like upstream's testdata.
Omitted: the async-storage fields (Vote, Responses) and EntryFormatter hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from miniraft.raft.raftpb import (
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    Snapshot,
    conf_changes_to_string,
    is_empty_hard_state,
)
from miniraft.raft.raftpb_codec import conf_change_from_entry

if TYPE_CHECKING:
    from miniraft.raft.rawnode import Ready, SoftState


def go_quote(data: bytes) -> str:
    """Go's %q of a byte slice: printable ASCII verbatim, the rest escaped."""
    out = []
    for b in data:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        elif c == "\n":
            out.append("\\n")
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"'


def _target(node_id: int) -> str:
    return "None" if node_id == 0 else format(node_id, "x")


def describe_entry(e: Entry) -> str:
    if e.type == EntryType.NORMAL:
        formatted = go_quote(e.data)
    else:
        cc = conf_change_from_entry(e)
        formatted = conf_changes_to_string(cc.as_v2().changes) if cc else ""
    if formatted:
        formatted = " " + formatted
    return f"{e.term}/{e.index} {e.type}{formatted}"


def describe_entries(ents: tuple[Entry, ...] | list[Entry]) -> str:
    return "".join(describe_entry(e) + "\n" for e in ents)


def describe_message(m: Message, indent: str = "") -> str:
    out = [
        f"{indent}{_target(m.frm)}->{_target(m.to)} {m.type} "
        f"Term:{m.term} Log:{m.log_term}/{m.index}"
    ]
    if m.reject:
        out.append(f" Rejected (Hint: {m.reject_hint})")
    if m.commit:
        out.append(f" Commit:{m.commit}")
    if len(m.entries) == 1:
        out.append(f" Entries:[{describe_entry(m.entries[0])}]")
    elif len(m.entries) > 1:
        out.append(" Entries:[")
        out.extend(f"\n{indent}  {describe_entry(e)}" for e in m.entries)
        out.append(f"\n{indent}]")
    if m.snapshot is not None and not m.snapshot.is_empty():
        out.append(f"\n{indent}  Snapshot: {describe_snapshot(m.snapshot)}")
    return "".join(out)


def describe_hard_state(hs: HardState) -> str:
    vote = f" Vote:{hs.vote}" if hs.vote else ""
    return f"Term:{hs.term}{vote} Commit:{hs.commit}"


def describe_soft_state(ss: SoftState) -> str:
    return f"Lead:{ss.lead} State:{ss.raft_state}"


def _ids(ids: tuple[int, ...]) -> str:
    return "[" + " ".join(str(i) for i in ids) + "]"


def describe_conf_state(cs: ConfState) -> str:
    return (
        f"Voters:{_ids(cs.voters)} VotersOutgoing:{_ids(cs.voters_outgoing)} "
        f"Learners:{_ids(cs.learners)} LearnersNext:{_ids(cs.learners_next)} "
        f"AutoLeave:{str(cs.auto_leave).lower()}"
    )


def describe_snapshot(s: Snapshot) -> str:
    m = s.metadata
    return f"Index:{m.index} Term:{m.term} ConfState:{describe_conf_state(m.conf_state)}"


def describe_ready(rd: Ready) -> str:
    lines: list[str] = []
    if rd.soft_state is not None:
        lines.append(describe_soft_state(rd.soft_state) + "\n")
    if not is_empty_hard_state(rd.hard_state):
        lines.append(f"HardState {describe_hard_state(rd.hard_state)}\n")
    if rd.read_states:
        # Go's %v of []ReadState: {Index [bytes of RequestCtx]}.
        rs = " ".join(
            f"{{{r.index} [{' '.join(str(b) for b in r.request_ctx)}]}}" for r in rd.read_states
        )
        lines.append(f"ReadStates [{rs}]\n")
    if rd.entries:
        lines.append("Entries:\n" + describe_entries(rd.entries))
    if not rd.snapshot.is_empty():
        lines.append(f"Snapshot {describe_snapshot(rd.snapshot)}\n")
    if rd.committed_entries:
        lines.append("CommittedEntries:\n" + describe_entries(rd.committed_entries))
    if rd.messages:
        lines.append("Messages:\n" + "".join(describe_message(m) + "\n" for m in rd.messages))
    if not lines:
        return "<empty Ready>"
    return f"Ready MustSync={str(rd.must_sync).lower()}:\n" + "".join(lines)
