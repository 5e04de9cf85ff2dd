"""An in-memory netfilter table set that reads iptables-restore and iptables-save text.

Plays the role of k8s.io/kubernetes pkg/util/iptables/testing (FakeIPTables, the
iptables-save parser in parse.go): `restore` applies restore input with --noflush semantics
(a `:CHAIN` line creates or flushes that chain, `-X` deletes it, chains not named are kept),
so applying a partial sync on top of a full one can be compared with a fresh full sync. It
parses both our rendered text and the kernel's normalized `iptables-save` output.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from miniproxy.kubeproxy.iptables_chains import JUMP_CHAINS

BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
}
# Options that take no value; every other option takes exactly one.
_FLAGS = {
    "--rcheck",
    "--set",
    "--reap",
    "--rsource",
    "--rdest",
    "--random-fully",
    "--random",
    "--update",
}
_ALIASES = {
    "--source": "-s",
    "--destination": "-d",
    "--protocol": "-p",
    "--jump": "-j",
    "--append": "-A",
}


class RestoreError(ValueError):
    """Input iptables-restore would refuse, with its line number."""


@dataclass(frozen=True)
class Opt:
    """One option of a rule: `! --name value`."""

    name: str
    value: str | None
    negated: bool = False


@dataclass(frozen=True)
class Rule:
    """A parsed `-A` line: matches, then the target with its options."""

    chain: str
    matches: tuple[Opt, ...]
    target: str
    target_opts: tuple[Opt, ...]
    text: str

    def target_opt(self, name: str) -> str | None:
        return next((o.value for o in self.target_opts if o.name == name), None)


def parse_rule(line: str) -> Rule:
    """Parse `-A CHAIN [!] --opt value ... -j TARGET --topt value`."""
    words = [_ALIASES.get(w, w) for w in shlex.split(line)]
    if len(words) < 2 or words[0] != "-A":
        raise RestoreError(f"not an -A rule: {line!r}")
    chain, matches, target, target_opts = words[1], [], "", []
    i, negate = 2, False
    while i < len(words):
        word = words[i]
        if word == "!":
            negate, i = True, i + 1
            continue
        if word == "-j":
            target, i = words[i + 1], i + 2
            continue
        if not word.startswith("-"):
            raise RestoreError(f"unexpected {word!r} in {line!r}")
        value = None if word in _FLAGS else words[i + 1]
        opt = Opt(word, value, negate)
        (target_opts if target else matches).append(opt)
        negate, i = False, i + (1 if value is None else 2)
    return Rule(chain, tuple(matches), target, tuple(target_opts), line)


@dataclass
class IptablesTables:
    """table -> chain -> rules, with built-in chains always present."""

    tables: dict[str, dict[str, list[Rule]]] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, list[Rule]]:
        if name not in self.tables:
            self.tables[name] = {c: [] for c in BUILTIN_CHAINS.get(name, ())}
        return self.tables[name]

    def restore(self, text: str, noflush: bool = True) -> None:
        """Apply iptables-restore input; each table's block is all-or-nothing."""
        current: dict[str, list[Rule]] | None = None
        pending: dict[str, list[Rule]] = {}
        name = ""
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("*"):
                name = line[1:]
                base = self.table(name)
                pending = {c: list(r) for c, r in base.items()} if noflush else self._fresh(name)
                current = pending
            elif current is None:
                raise RestoreError(f"line {n}: rule outside a table")
            elif line == "COMMIT":
                self.tables[name], current = pending, None
            else:
                self._apply_line(current, line, n)

    def _fresh(self, name: str) -> dict[str, list[Rule]]:
        return {c: [] for c in BUILTIN_CHAINS.get(name, ())}

    @staticmethod
    def _apply_line(chains: dict[str, list[Rule]], line: str, n: int) -> None:
        if line.startswith(":"):
            chains[line[1:].split()[0]] = []  # create, or flush an existing chain
        elif line.startswith("-X"):
            chain = line.split()[1]
            if chain not in chains:
                raise RestoreError(f"line {n}: -X of unknown chain {chain}")
            del chains[chain]
        else:
            rule = parse_rule(line)
            if rule.chain not in chains:
                raise RestoreError(f"line {n}: chain {rule.chain} does not exist")
            chains[rule.chain].append(rule)

    def ensure_rule_prepended(self, table: str, chain: str, args: list[str]) -> None:
        """EnsureRule(Prepend, ...): insert at the top unless an equal rule exists."""
        rule = parse_rule(shlex.join(["-A", chain, *args]))
        rules = self.table(table).setdefault(chain, [])
        if not any(r.matches == rule.matches and r.target == rule.target for r in rules):
            rules.insert(0, rule)

    def ensure_jump_rules(self) -> None:
        """What the proxier's full sync ensures in built-in chains (see JUMP_CHAINS)."""
        for jump in JUMP_CHAINS:
            self.table(jump.table).setdefault(jump.dst_chain, [])
            self.ensure_rule_prepended(jump.table, jump.src_chain, jump.rule_args())

    def chains(self, table: str) -> set[str]:
        return set(self.table(table))

    def rule_count(self, table: str) -> int:
        return sum(len(r) for r in self.table(table).values())
