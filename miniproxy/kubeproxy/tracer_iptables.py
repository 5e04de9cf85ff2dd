"""The iptables side of the tracer: which matches hold for a packet, what targets do.

Mirrors iptablesTracer.ruleMatches and runChain in k8s.io/kubernetes
pkg/proxy/iptables/proxier_test.go, over the rules an `IptablesTables` holds (our rendered
restore input plus the jump rules, or the kernel's own `iptables-save`). It understands the
matches and targets the proxier writes: -p/-s/-d/--dport, addrtype, statistic, recent,
mark, conntrack state; DNAT, MARK, MASQUERADE, ACCEPT/DROP/REJECT/RETURN and jumps.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from miniproxy.kubeproxy.iptables_model import IptablesTables, Opt, Rule
from miniproxy.kubeproxy.tracer import (
    Action,
    Packet,
    State,
    TraceError,
    TraceResult,
    is_local,
    walk,
)

_HOOK_CHAINS = {
    "prerouting": ["nat/PREROUTING"],
    "input": ["filter/INPUT"],
    "forward": ["filter/FORWARD"],
    "output": ["nat/OUTPUT", "filter/OUTPUT"],
    "postrouting": ["nat/POSTROUTING"],
}
_IGNORED = {
    "-m",
    "--comment",
    "--mode",
    "--seconds",
    "--reap",
    "--name",
    "--mask",
    "--rsource",
    "--set",
}


def _in(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def _mark_value(text: str) -> tuple[int, int]:
    value, _, mask = text.partition("/")
    return int(value, 16), int(mask, 16) if mask else 0xFFFFFFFF


class IptablesEvaluator:
    """Evaluator over an IptablesTables; `local_ips` are the node's addresses."""

    def __init__(self, tables: IptablesTables, local_ips: frozenset[str]):
        self.tables, self.local_ips = tables, local_ips

    def base_chains(self, hook: str) -> list[str]:
        return _HOOK_CHAINS[hook]

    def rules(self, chain: str) -> list[Rule]:
        table, _, name = chain.partition("/")
        rules = self.tables.table(table).get(name)
        if rules is None:
            raise TraceError(f"unknown chain {chain}")
        return rules

    def _match(self, opt: Opt, rule: Rule, st: State) -> bool | float:
        p, v = st.pkt, opt.value or ""
        if opt.name == "--probability":
            return float(v)
        if opt.name in _IGNORED:
            return True
        if opt.name == "-p":
            ok = p.proto == v
        elif opt.name in ("-s", "-d"):
            ok = _in(p.src if opt.name == "-s" else p.dst, v)
        elif opt.name == "--dport":
            ok = p.dport == int(v)
        elif opt.name in ("--dst-type", "--src-type"):
            ok = v == "LOCAL" and is_local(
                p.dst if opt.name == "--dst-type" else p.src, self.local_ips
            )
        elif opt.name == "--rcheck":
            name = next(o.value for o in rule.matches if o.name == "--name")
            ok = (name, p.src) in st.recent
        elif opt.name == "--mark":
            value, mask = _mark_value(v)
            ok = p.mark & mask == value
        elif opt.name == "--ctstate":
            states = {"NEW"} | ({"DNAT"} if p.dnat else set())
            ok = bool(states & set(v.split(",")))
        else:
            raise TraceError(f"tracer does not know match {opt.name} in {rule.text!r}")
        return ok != opt.negated

    def step(self, chain: str, rule: Rule, st: State) -> list[tuple[State, Action | None]]:
        prob = 1.0
        for opt in rule.matches:
            res = self._match(opt, rule, st)
            if res is False:
                return [(st, None)]
            if not isinstance(res, bool):
                prob *= res
        if any(o.name == "--set" for o in rule.matches):
            name = next(o.value for o in rule.matches if o.name == "--name")
            st = replace(st, recent=st.recent | {(name, st.pkt.src)})
        hit_st, action = self._target(chain, rule, st.hit(f"{chain}: {rule.text}"))
        if prob >= 1.0:
            return [(hit_st, action)]
        taken = replace(hit_st, prob=st.prob * prob)
        return [(taken, action), (replace(st, prob=st.prob * (1 - prob)), None)]

    def _target(self, chain: str, rule: Rule, st: State) -> tuple[State, Action]:
        t, p = rule.target, st.pkt
        if t == "":
            return st, ("next",)
        if t in ("ACCEPT", "DROP", "REJECT", "RETURN"):
            return st, (t.lower(),)
        if t == "DNAT":
            dest = rule.target_opt("--to-destination") or ""
            ip, _, port = dest.rpartition(":")
            return replace(st, pkt=replace(p, dst=ip, dport=int(port), dnat=dest)), ("accept",)
        if t == "MARK":
            return replace(st, pkt=replace(p, mark=_apply_mark(rule, p.mark))), ("next",)
        if t == "MASQUERADE":
            return replace(st, pkt=replace(p, masqueraded=True)), ("accept",)
        return st, ("jump", f"{chain.partition('/')[0]}/{t}")


def _apply_mark(rule: Rule, mark: int) -> int:
    for opt in rule.target_opts:
        if opt.name == "--or-mark":
            return mark | int(opt.value or "0", 16)
        if opt.name == "--xor-mark":
            return mark ^ int(opt.value or "0", 16)
        if opt.name == "--set-xmark":
            value, mask = _mark_value(opt.value or "0")
            return (mark & ~mask) ^ value
    raise TraceError(f"MARK without a mark option: {rule.text!r}")


def with_jump_rules(restore_text: str) -> IptablesTables:
    """Our rendered input plus the jump rules the proxier ensures in built-in chains."""
    tables = IptablesTables()
    tables.restore(restore_text)
    tables.ensure_jump_rules()
    return tables


def trace_iptables(
    tables: IptablesTables, pkt: Packet, local_ips: frozenset[str], recent=frozenset()
) -> TraceResult:
    return walk(IptablesEvaluator(tables, local_ips), pkt, local_ips, recent)
