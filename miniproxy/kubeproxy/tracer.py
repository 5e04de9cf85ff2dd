"""Walk a packet through netfilter rules without root: every path, with its probability.

Mirrors the test tracers of k8s.io/kubernetes pkg/proxy/iptables/proxier_test.go
(iptablesTracer, tracePacket) and pkg/proxy/nftables/helpers_test.go (nftablesTracer,
runChain): the packet visits the hooks in kernel order (output or prerouting, then
input/forward, then postrouting), each hook's base chains by priority, and follows jumps,
gotos and returns. Where the kernel would roll a die (`statistic --mode random`,
`numgen random`) the tracer forks, so the result lists each reachable outcome — DNAT
target, REJECT or DROP — with its probability and whether it was masqueraded.
Omitted: conntrack for established flows (every traced packet opens a new connection).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Protocol

Action = tuple[str, ...]  # ("next",) ("jump", c) ("goto", c) ("return",) ("accept",) ...
_TERMINAL = ("accept", "drop", "reject")
_MAX_DEPTH = 64


class TraceError(ValueError):
    """A rule the tracer does not understand, or a loop."""


@dataclass(frozen=True)
class Packet:
    src: str
    dst: str
    dport: int
    proto: str = "tcp"
    mark: int = 0
    dnat: str | None = None
    masqueraded: bool = False


@dataclass(frozen=True)
class State:
    """One branch of the walk: the packet, its probability, the rules it hit."""

    pkt: Packet
    prob: float = 1.0
    hits: tuple[str, ...] = ()
    recent: frozenset[tuple[str, str]] = frozenset()

    def hit(self, text: str) -> State:
        return replace(self, hits=(*self.hits, text))


class Evaluator(Protocol):
    """What a backend (iptables or nftables) tells the walker."""

    def base_chains(self, hook: str) -> list[str]: ...
    def rules(self, chain: str) -> list: ...
    def step(self, chain: str, rule, st: State) -> list[tuple[State, Action | None]]: ...


@dataclass
class TracePath:
    prob: float
    verdict: str
    destination: str
    masqueraded: bool
    hits: list[str] = field(default_factory=list)


@dataclass
class TraceResult:
    paths: list[TracePath]

    def outcomes(self) -> dict[str, float]:
        """Destination ("ip:port", "REJECT", "DROP") -> probability."""
        out: dict[str, float] = defaultdict(float)
        for p in self.paths:
            out[p.destination if p.verdict == "ACCEPT" else p.verdict] += p.prob
        return dict(out)


def is_local(ip: str, local_ips: frozenset[str]) -> bool:
    return ip in local_ips or ipaddress.ip_address(ip).is_loopback


class Walker:
    """Runs chains with jump/goto/return semantics, forking on random choices."""

    def __init__(self, ev: Evaluator):
        self.ev = ev

    def run_chain(self, chain: str, st: State, depth: int = 0) -> list[tuple[State, str]]:
        if depth > _MAX_DEPTH:
            raise TraceError(f"jump depth over {_MAX_DEPTH} at {chain}")
        return self._run_from(chain, 0, st, depth)

    def _run_from(self, chain: str, idx: int, st: State, depth: int) -> list[tuple[State, str]]:
        rules = self.ev.rules(chain)
        for i in range(idx, len(rules)):
            branches = self.ev.step(chain, rules[i], st)
            if len(branches) == 1 and branches[0][1] is None:
                st = branches[0][0]
                continue
            out: list[tuple[State, str]] = []
            for bst, action in branches:
                if action is None:
                    out += self._run_from(chain, i + 1, bst, depth)
                else:
                    out += self._act(chain, i, bst, action, depth)
            return out
        return [(st, "return")]

    def _act(
        self, chain: str, i: int, st: State, action: Action, depth: int
    ) -> list[tuple[State, str]]:
        kind = action[0]
        if kind == "next":
            return self._run_from(chain, i + 1, st, depth)
        if kind in _TERMINAL or kind == "return":
            return [(st, kind)]
        out: list[tuple[State, str]] = []
        for sst, res in self.run_chain(action[1], st, depth + 1):
            if res != "return":
                out.append((sst, res))
            elif kind == "jump":
                out += self._run_from(chain, i + 1, sst, depth)
            else:  # goto: falling off the target returns to our caller
                out.append((sst, "return"))
        return out

    def run_hook(
        self, hook: str, states: list[State]
    ) -> tuple[list[State], list[tuple[State, str]]]:
        """Run every base chain on the hook; return survivors and dropped/rejected ends."""
        for chain in self.ev.base_chains(hook):
            nxt: list[State] = []
            ended: list[tuple[State, str]] = []
            for st in states:
                for sst, res in self.run_chain(chain, st):
                    (ended if res in ("drop", "reject") else nxt).append((sst, res))
            states = [s for s, _ in nxt]
            if ended:
                return states, ended
        return states, []


def _hooks_after_first(pkt: Packet, local_origin: bool, local_ips: frozenset[str]) -> list[str]:
    dst_local = is_local(pkt.dst, local_ips)
    if local_origin:
        return ["postrouting", "input"] if dst_local else ["postrouting"]
    return ["input"] if dst_local else ["forward", "postrouting"]


def walk(ev: Evaluator, pkt: Packet, local_ips: frozenset[str], recent=frozenset()) -> TraceResult:
    """Trace one new connection's first packet through every hook it crosses."""
    walker = Walker(ev)
    local_origin = is_local(pkt.src, local_ips)
    first = "output" if local_origin else "prerouting"
    alive, ended = walker.run_hook(first, [State(pkt, recent=frozenset(recent))])
    finals = [(s, r) for s, r in ended]
    for st in alive:
        states = [st]
        for hook in _hooks_after_first(st.pkt, local_origin, local_ips):
            states, hook_ended = walker.run_hook(hook, states)
            finals += hook_ended
        finals += [(s, "accept") for s in states]
    return TraceResult([_path(s, r) for s, r in finals])


def _path(st: State, res: str) -> TracePath:
    p = st.pkt
    dest = p.dnat or f"{p.dst}:{p.dport}"
    return TracePath(st.prob, res.upper(), dest, p.masqueraded, list(st.hits))


def format_result(result: TraceResult) -> str:
    """Human-readable trace: each path's rules, then its verdict and probability."""
    lines = []
    for n, path in enumerate(sorted(result.paths, key=lambda p: (-p.prob, p.destination)), 1):
        lines.append(f"path {n}: probability {path.prob:.4f}")
        lines += [f"  {hit}" for hit in path.hits]
        verdict = f"DNAT to {path.destination}" if path.verdict == "ACCEPT" else path.verdict
        masq = ", masqueraded" if path.masqueraded else ""
        lines.append(f"  => {verdict}{masq}")
    lines.append("outcomes:")
    for dest, prob in sorted(result.outcomes().items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {dest:<24} {prob:.4f}")
    return "\n".join(lines)
