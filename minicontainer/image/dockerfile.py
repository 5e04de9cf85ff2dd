"""Dockerfile parsing: lines → instructions → stages, with ARG/ENV word expansion.

Mirrors BuildKit's frontend/dockerfile/parser/parser.go (line continuation, comments,
JSON vs shell form), instructions/parse.go (per-command arguments and flags such as
`--from` and `--chown`, `FROM image AS name`) and shell/lex.go (`$VAR`, `${VAR}`,
`${VAR:-default}`, `${VAR:+alt}`). Pure: no files, no images.
Omitted: parser directives (`# escape=`, `# syntax=`), heredocs, ONBUILD, HEALTHCHECK,
SHELL, STOPSIGNAL, VOLUME, `ADD` of URLs and archives (ADD behaves like COPY).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

KNOWN = {"from", "run", "copy", "add", "env", "arg", "workdir", "user", "expose", "label"}
KNOWN |= {"cmd", "entrypoint"}
VAR_RE = re.compile(r"\$(?:\{(\w+)(?::([-+])([^}]*))?\}|(\w+))")


class DockerfileError(Exception):
    pass


@dataclass(frozen=True)
class Instruction:
    cmd: str  # lower-case keyword
    args: tuple[str, ...]  # words (JSON form) or one raw string (shell form)
    json_form: bool
    flags: tuple[tuple[str, str], ...] = ()
    line: int = 0
    original: str = ""

    def flag(self, name: str) -> str | None:
        return dict(self.flags).get(name)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join `\\`-continued lines and drop comments and blanks, keeping the first line number."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buf):
            continue
        if not buf:
            start = n
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def parse_line(lineno: int, line: str) -> Instruction:
    keyword, _, rest = line.partition(" ")
    cmd = keyword.lower()
    if cmd not in KNOWN:
        raise DockerfileError(
            f"dockerfile parse error on line {lineno}: unknown instruction: {keyword}"
        )
    rest = rest.strip()
    flags = []
    while cmd in ("copy", "add", "from", "run") and rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        name, _, value = word[2:].partition("=")
        flags.append((name, value))
        rest = rest.strip()
    if rest.startswith("["):
        try:
            words = json.loads(rest)
            if isinstance(words, list) and all(isinstance(w, str) for w in words):
                return Instruction(cmd, tuple(words), True, tuple(flags), lineno, line)
        except ValueError:
            pass  # not JSON: BuildKit falls back to the shell form as well
    return Instruction(cmd, (rest,), False, tuple(flags), lineno, line)


def parse(text: str) -> tuple[list[Instruction], list[Stage]]:
    """(ARGs before the first FROM, stages)."""
    meta: list[Instruction] = []
    stages: list[Stage] = []
    for lineno, line in logical_lines(text):
        ins = parse_line(lineno, line)
        if ins.cmd == "from":
            words = ins.args[0].split()
            if len(words) == 3 and words[1].lower() == "as":
                stages.append(Stage(words[0], words[2].lower()))
            elif len(words) == 1:
                stages.append(Stage(words[0], None))
            else:
                raise DockerfileError(
                    f"FROM requires either one or three arguments (line {lineno})"
                )
        elif not stages:
            if ins.cmd != "arg":
                raise DockerfileError("no build stage in current context")
            meta.append(ins)
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise DockerfileError("the Dockerfile (Dockerfile) cannot be empty")
    return meta, stages


def expand(word: str, env: dict[str, str]) -> str:
    """shell/lex.go's ProcessWord subset: $A, ${A}, ${A:-x}, ${A:+x}."""

    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(4)
        value = env.get(name, "")
        if m.group(2) == "-":
            return value or m.group(3)
        if m.group(2) == "+":
            return m.group(3) if value else ""
        return value

    return VAR_RE.sub(sub, word)


def key_values(text: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """`ENV a=1 b="two words"` or legacy `ENV a one value` (also LABEL and ARG)."""
    words = shlex.split(text, posix=True)
    if words and "=" not in words[0]:
        return [(words[0], expand(" ".join(words[1:]), env))]
    out = []
    for w in words:
        k, sep, v = w.partition("=")
        if not sep:
            raise DockerfileError(f"missing '=' in {w!r}")
        out.append((k, expand(v, env)))
    return out


def command_words(ins: Instruction) -> list[str]:
    """Exec form as is; shell form runs under /bin/sh -c (the default SHELL)."""
    return list(ins.args) if ins.json_form else ["/bin/sh", "-c", ins.args[0]]
