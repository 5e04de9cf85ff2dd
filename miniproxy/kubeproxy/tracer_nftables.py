"""The nftables side of the tracer: rule statements evaluated left to right.

Mirrors nftablesTracer.runChain in k8s.io/kubernetes pkg/proxy/nftables/helpers_test.go:
rather than parse nft's grammar, each rule is consumed piece by piece by patterns that
recognize exactly the statements the proxier writes (address/port matches, fib type local,
set and verdict-map lookups, numgen, mark, update, dnat, masquerade, verdicts).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

from miniproxy.kubeproxy.nftables_model import NftTable
from miniproxy.kubeproxy.tracer import (
    Action,
    Packet,
    State,
    TraceError,
    TraceResult,
    is_local,
    walk,
)

_COMMENT = re.compile(r' ?comment "[^"]*"$')
_P = {
    "ct_new": re.compile(r"^ct state new\b"),
    "dispatch": re.compile(r"^ip daddr \. meta l4proto \. th dport vmap @(\S+)$"),
    "port_dispatch": re.compile(r"^meta l4proto \. th dport vmap @(\S+)$"),
    "addr_set": re.compile(r"^ip (daddr|saddr) @(\S+)"),
    "addr_anon": re.compile(r"^ip (daddr|saddr) (!= )?\{([^}]*)\}"),
    "addr": re.compile(r"^ip (daddr|saddr) (!= )?(\S+)"),
    "fib": re.compile(r"^fib (daddr|saddr) type local\b"),
    "dport": re.compile(r"^(tcp|udp|sctp) dport (\d+)\b"),
    "numgen": re.compile(r"^numgen random mod (\d+) vmap \{(.*)\}$"),
    "chance": re.compile(r"^numgen random mod (\d+) (?:== )?0 ((?:jump|goto) \S+)$"),
    "mark_and": re.compile(r"^mark and (\S+) == 0\b"),
    "mark_set": re.compile(r"^mark set mark (or|xor) (\S+)$"),
    "update": re.compile(r"^update @(\S+) \{ ip saddr \}$"),
    "dnat": re.compile(r"^meta l4proto (tcp|udp|sctp) dnat to (\S+)$"),
    "masq": re.compile(r"^masquerade( fully-random)?$"),
    "verdict": re.compile(r"^(jump|goto) (\S+)$"),
    "simple": re.compile(r"^(drop|reject|return|accept)$"),
}
_HOOKS = {"prerouting", "input", "forward", "output", "postrouting"}


def _addr_ok(ip: str, spec: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(spec.strip(), strict=False)


class NftEvaluator:
    """Evaluator over an NftTable; `local_ips` answer `fib ... type local`."""

    def __init__(self, table: NftTable, local_ips: frozenset[str]):
        self.table, self.local_ips = table, local_ips

    def base_chains(self, hook: str) -> list[str]:
        assert hook in _HOOKS
        return [c.name for c in self.table.base_chains(hook)]

    def rules(self, chain: str) -> list[str]:
        if chain not in self.table.chains:
            raise TraceError(f"unknown chain {chain}")
        return self.table.chains[chain].rules

    def _elements(self, name: str) -> dict[str, str]:
        if name not in self.table.containers:
            raise TraceError(f"unknown set or map {name}")
        return self.table.containers[name].elements

    def step(self, chain: str, rule: str, st: State) -> list[tuple[State, Action | None]]:
        rest = _COMMENT.sub("", rule).strip()
        while rest:
            out = self._piece(rest, st)
            if out is None:
                return [(st, None)]
            kind, st, rest = out[0], out[1], out[2].strip()
            if kind == "act":
                return [(st.hit(f"{chain}: {rule}"), out[3])]
            if kind == "chance":
                p = 1.0 / out[3]
                taken = replace(st.hit(f"{chain}: {rule}"), prob=st.prob * p)
                return [(taken, _verdict(out[4])), (replace(st, prob=st.prob * (1 - p)), None)]
            if kind == "branch":
                st = st.hit(f"{chain}: {rule}")
                return [(replace(st, prob=st.prob / len(out[3])), a) for a in out[3]]
        return [(st, None)]

    def _piece(self, rest: str, st: State):
        """Consume one statement: None = no match; ("cont"|"act"|"branch", st, rest, ...)."""
        p = st.pkt
        for name in ("dispatch", "port_dispatch"):
            m = _P[name].match(rest)
            if m:
                key = (
                    f"{p.dst} . {p.proto} . {p.dport}"
                    if name == "dispatch"
                    else f"{p.proto} . {p.dport}"
                )
                value = self._elements(m.group(1)).get(key)
                return None if value is None else ("act", st, "", _verdict(value))
        if m := _P["ct_new"].match(rest):
            return "cont", st, rest[m.end() :]
        if m := _P["addr_set"].match(rest):
            ip = p.dst if m.group(1) == "daddr" else p.src
            ok = self._in_set(m.group(2), ip, st)
            return ("cont", st, rest[m.end() :]) if ok else None
        if m := _P["addr_anon"].match(rest):
            ip = p.dst if m.group(1) == "daddr" else p.src
            inside = any(_addr_ok(ip, s) for s in m.group(3).split(","))
            return ("cont", st, rest[m.end() :]) if inside != bool(m.group(2)) else None
        if m := _P["addr"].match(rest):
            ip = p.dst if m.group(1) == "daddr" else p.src
            ok = _addr_ok(ip, m.group(3)) != bool(m.group(2))
            return ("cont", st, rest[m.end() :]) if ok else None
        return self._piece2(rest, st)

    def _piece2(self, rest: str, st: State):
        p = st.pkt
        if m := _P["fib"].match(rest):
            ok = is_local(p.dst if m.group(1) == "daddr" else p.src, self.local_ips)
            return ("cont", st, rest[m.end() :]) if ok else None
        if m := _P["dport"].match(rest):
            ok = p.proto == m.group(1) and p.dport == int(m.group(2))
            return ("cont", st, rest[m.end() :]) if ok else None
        if m := _P["chance"].match(rest):
            return "chance", st, "", int(m.group(1)), m.group(2)
        if m := _P["numgen"].match(rest):
            entries = [e.split(":", 1)[1].strip() for e in m.group(2).split(",")]
            return "branch", st, "", [_verdict(e) for e in entries]
        if m := _P["mark_and"].match(rest):
            ok = p.mark & int(m.group(1), 16) == 0
            return ("cont", st, rest[m.end() :]) if ok else None
        if m := _P["mark_set"].match(rest):
            v = int(m.group(2), 16)
            mark = p.mark | v if m.group(1) == "or" else p.mark ^ v
            return "act", replace(st, pkt=replace(p, mark=mark)), "", ("next",)
        if m := _P["update"].match(rest):
            st = replace(st, recent=st.recent | {(m.group(1), p.src)})
            return "cont", st, rest[m.end() :]
        if m := _P["dnat"].match(rest):
            ip, _, port = m.group(2).rpartition(":")
            pkt = replace(p, dst=ip, dport=int(port), dnat=m.group(2))
            return "act", replace(st, pkt=pkt), "", ("accept",)
        if _P["masq"].match(rest):
            return "act", replace(st, pkt=replace(p, masqueraded=True)), "", ("accept",)
        if m := _P["verdict"].match(rest) or _P["simple"].match(rest):
            return "act", st, "", _verdict(m.group(0))
        raise TraceError(f"tracer does not understand {rest!r}")

    def _in_set(self, name: str, ip: str, st: State) -> bool:
        if name.startswith("affinity-"):
            return (name, ip) in st.recent
        return ip in self._elements(name)


def _verdict(text: str) -> Action:
    words = text.split()
    if words[0] in ("jump", "goto"):
        return (words[0], words[1])
    return (words[0],)


def trace_nftables(
    table: NftTable, pkt: Packet, local_ips: frozenset[str], recent=frozenset()
) -> TraceResult:
    return walk(NftEvaluator(table, local_ips), pkt, local_ips, recent)
