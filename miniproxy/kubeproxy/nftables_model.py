"""An in-memory nftables table that applies the transactions the nftables proxier writes.

Plays the role of sigs.k8s.io/knftables fake.go (Fake.Run over a Transaction): add/flush/
delete of tables, chains, sets, maps, rules and elements, for the command subset our
renderer emits. Applying a partial sync on top of a full one can be compared with a fresh
full sync, and the tracer walks the result.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

_CMD = re.compile(r"^(add|flush|delete) (table|chain|rule|set|map|element) ip (\S+)(?: (.*))?$")
_BASE = re.compile(r"type (\w+) hook (\w+) priority (-?\d+)")


class NftError(ValueError):
    """A command `nft -f` would refuse (unknown object, element already present)."""


@dataclass
class Chain:
    name: str
    rules: list[str] = field(default_factory=list)
    hook: str | None = None
    priority: int = 0
    ctype: str = ""


@dataclass
class Container:
    """A set (values all "") or a verdict map, keyed by the element key text."""

    kind: str
    name: str
    elements: dict[str, str] = field(default_factory=dict)


@dataclass
class NftTable:
    """One table's chains, sets and maps."""

    name: str = "kube-proxy"
    exists: bool = False
    chains: dict[str, Chain] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)

    def run(self, text: str) -> None:
        """Apply a transaction; like `nft -f`, nothing changes when any command fails."""
        backup = copy.deepcopy((self.exists, self.chains, self.containers))
        try:
            for n, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    self._command(line.strip(), n)
        except NftError:
            self.exists, self.chains, self.containers = backup
            raise

    def _command(self, line: str, n: int) -> None:
        m = _CMD.match(line)
        if not m or m.group(3) != self.name:
            raise NftError(f"line {n}: cannot parse {line!r}")
        verb, obj, rest = m.group(1), m.group(2), m.group(4) or ""
        if obj == "table":
            self.exists = verb == "add"
            if verb != "add":
                self.chains, self.containers = {}, {}
            return
        getattr(self, f"_{obj}")(verb, rest, n)

    def _chain(self, verb: str, rest: str, n: int) -> None:
        name = rest.split(" ", 1)[0]
        if verb == "add":
            chain = self.chains.setdefault(name, Chain(name))
            base = _BASE.search(rest)
            if base:
                chain.ctype, chain.hook, chain.priority = (
                    base.group(1),
                    base.group(2),
                    int(base.group(3)),
                )
        elif name not in self.chains:
            raise NftError(f"line {n}: no such chain {name}")
        elif verb == "flush":
            self.chains[name].rules = []
        else:
            del self.chains[name]

    def _rule(self, verb: str, rest: str, n: int) -> None:
        name, _, rule = rest.partition(" ")
        if verb != "add" or name not in self.chains:
            raise NftError(f"line {n}: cannot {verb} rule in {name}")
        self.chains[name].rules.append(rule)

    def _set(self, verb: str, rest: str, n: int) -> None:
        self._container("set", verb, rest, n)

    def _map(self, verb: str, rest: str, n: int) -> None:
        self._container("map", verb, rest, n)

    def _container(self, kind: str, verb: str, rest: str, n: int) -> None:
        name = rest.split(" ", 1)[0]
        if verb == "add":
            self.containers.setdefault(name, Container(kind, name))
        elif name not in self.containers:
            raise NftError(f"line {n}: no such {kind} {name}")
        elif verb == "flush":
            self.containers[name].elements = {}
        else:
            del self.containers[name]

    def _element(self, verb: str, rest: str, n: int) -> None:
        name, _, body = rest.partition(" ")
        c = self.containers.get(name)
        if c is None:
            raise NftError(f"line {n}: no such set or map {name}")
        key, value = _parse_element(body.strip().removeprefix("{").removesuffix("}"))
        if verb == "add":
            if key in c.elements and c.elements[key] != value:
                raise NftError(f"line {n}: element {key} already exists in {name}")
            c.elements[key] = value
        elif key in c.elements:
            del c.elements[key]
        else:
            raise NftError(f"line {n}: no element {key} in {name}")

    def objects(self) -> tuple[set[str], set[str]]:
        """(chains, sets and maps) present, as the kernel adapter lists them."""
        return set(self.chains), set(self.containers)

    def base_chains(self, hook: str) -> list[Chain]:
        """The base chains on a hook, in the order the kernel runs them."""
        return sorted((c for c in self.chains.values() if c.hook == hook), key=lambda c: c.priority)


def _parse_element(body: str) -> tuple[str, str]:
    key, _, value = body.partition(" : ")
    key = re.sub(r' comment "[^"]*"', "", key).strip()
    return key, value.strip()
