"""A small urfave/cli (v1) style flag parser, as runc's commands use it.

Mirrors the parsing rules runc inherits from urfave/cli and Go's flag package:
flags come before positional arguments (the first non-flag ends them),
`-f`, `--flag`, `--flag=value` and `--flag value` are all accepted, aliases
are comma-separated names ("force, f"), and string-slice flags repeat.
Pure: argv in, (values, args) out.
"""

from __future__ import annotations


class UsageError(Exception):
    """Wrong flags; the CLI prints "Incorrect Usage." like urfave/cli."""


class Flag:
    """One flag: comma-separated names ("force, f"), kind bool|string|int|list, default.

    A plain class, not a dataclass: importing dataclasses costs the CLI ~10 ms.
    """

    __slots__ = ("names", "kind", "default")

    def __init__(self, names: str, kind: str = "bool", default: object = None) -> None:
        self.names = names
        self.kind = kind
        self.default = default

    @property
    def key(self) -> str:
        return self.names.split(",")[0].strip()

    def aliases(self) -> list[str]:
        return [n.strip() for n in self.names.split(",")]


def parse(argv: list[str], flags: list[Flag], stop_at_first_arg: bool = True) -> tuple[dict, list]:
    by_name = {alias: f for f in flags for alias in f.aliases()}
    values: dict = {f.key: ([] if f.kind == "list" else f.default) for f in flags}
    if any(f.kind == "bool" for f in flags):
        values.update({f.key: bool(f.default) for f in flags if f.kind == "bool"})
    args: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            args += argv[i + 1 :]
            break
        if not a.startswith("-") or a == "-":
            if stop_at_first_arg:
                args += argv[i:]
                break
            args.append(a)
            i += 1
            continue
        name, eq, inline = a.lstrip("-").partition("=")
        flag = by_name.get(name)
        if flag is None:
            raise UsageError(f"flag provided but not defined: -{name}")
        if flag.kind == "bool":
            values[flag.key] = inline.lower() in ("true", "1", "t") if eq else True
            i += 1
            continue
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(argv):
                raise UsageError(f"flag needs an argument: -{name}")
            value = argv[i + 1]
            i += 2
        if flag.kind == "list":
            values[flag.key].append(value)
        elif flag.kind == "int":
            try:
                values[flag.key] = int(value)
            except ValueError:
                raise UsageError(f'invalid value "{value}" for flag -{name}') from None
        else:
            values[flag.key] = value
    return values, args
