"""The datadriven command table: `cmd args` lines -> InteractionEnv calls.

Mirrors etcd-io/raft rafttest/interaction_env_handler.go (Handle and the
argument parsing of each command). Arguments are `key=value`, `key=(1,2,3)`
or bare positional node ids, as in upstream's testdata.
"""

from __future__ import annotations

from miniraft.raft.raftpb import ConfChangeTransition
from miniraft.raft.rafttest.interaction_env import InteractionEnv

Args = list[tuple[str, str]]


def parse_args(text: str) -> tuple[str, Args]:
    """`add-nodes 3 voters=(1,2,3) index=2` -> ("add-nodes", [("", "3"), ...])."""
    parts: list[str] = []
    depth, cur = 0, ""
    for ch in text.strip():
        if ch == " " and depth == 0:
            if cur:
                parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur:
        parts.append(cur)
    args = [(p.split("=", 1)[0], p.split("=", 1)[1]) if "=" in p else ("", p) for p in parts[1:]]
    return parts[0], args


def _ids(v: str) -> tuple[int, ...]:
    v = v.strip("()")
    return tuple(int(x) for x in v.split(",") if x)


def _kw(args: Args) -> dict[str, str]:
    return {k: v for k, v in args if k}


def _pos(args: Args) -> list[str]:
    return [v for k, v in args if not k]


def _bool(v: str) -> bool:
    return v.lower() == "true"


def handle(env: InteractionEnv, cmd: str, args: Args, data: str = "") -> str:
    kw, pos = _kw(args), _pos(args)
    if cmd == "log-level":
        env.log_enabled = pos[0] != "none"
    elif cmd == "add-nodes":
        env.add_nodes(
            int(pos[0]),
            voters=_ids(kw.get("voters", "()")),
            learners=_ids(kw.get("learners", "()")),
            index=int(kw.get("index", "0")),
            pre_vote=_bool(kw.get("prevote", "false")),
            check_quorum=_bool(kw.get("checkquorum", "false")),
            election_tick=int(kw.get("election-tick", "10")),
            heartbeat_tick=int(kw.get("heartbeat-tick", "1")),
        )
    elif cmd == "campaign":
        env.campaign(int(pos[0]))
    elif cmd == "propose":
        env.propose(int(pos[0]), pos[1].encode())
    elif cmd == "propose-conf-change":
        t = kw.get("transition")
        transition = ConfChangeTransition[t.upper()] if t else None
        env.propose_conf_change(int(pos[0]), data.strip(), transition)
    elif cmd == "process-ready":
        for nid in pos:
            env.process_ready(int(nid))
    elif cmd == "deliver-msgs":
        drop = [int(x) for x in _ids(kw["drop"])] if "drop" in kw else []
        if drop:
            env.deliver_msgs(drop, drop=True)
        env.deliver_msgs([int(x) for x in pos])
    elif cmd == "stabilize":
        env.stabilize([int(x) for x in pos] or None)
    elif cmd == "tick-heartbeat":
        env.tick_heartbeat(int(pos[0]))
    elif cmd == "tick-election":
        env.tick_election(int(pos[0]))
    elif cmd == "raft-log":
        env.raft_log(int(pos[0]))
    elif cmd == "raft-state":
        env.raft_state()
    elif cmd == "status":
        env.status(int(pos[0]))
    elif cmd == "compact":
        env.compact(int(pos[0]), int(pos[1]))
    elif cmd == "transfer-leadership":
        env.transfer_leadership(int(kw["from"]), int(kw["to"]))
    elif cmd == "report-unreachable":
        env.report_unreachable(int(pos[0]), int(pos[1]))
    else:
        raise ValueError(f"unknown command {cmd!r}")
    return env.take_output()
