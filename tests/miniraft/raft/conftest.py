"""Datadriven transcript runner for tests/miniraft/raft (cockroachdb/datadriven style).

A testdata file is a sequence of blocks:

    # comments
    command arg key=value
    optional input lines
    ----
    expected output

Run with MINIRAFT_REWRITE=1 to rewrite the expected outputs in place from the
actual ones (then review the diff), like upstream's `go test -rewrite`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REWRITE = os.environ.get("MINIRAFT_REWRITE", "") not in ("", "0")


@dataclass
class Block:
    line: int
    preamble: list[str]  # comments and blank lines before the command
    command: str
    input: list[str]
    expected: list[str]


def parse_datadriven(text: str) -> tuple[list[Block], list[str]]:
    lines = text.split("\n")
    blocks: list[Block] = []
    pre: list[str] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if not ln.strip() or ln.startswith("#"):
            pre.append(ln)
            i += 1
            continue
        start, cmd = i + 1, ln
        i += 1
        inp: list[str] = []
        while i < len(lines) and lines[i] != "----":
            inp.append(lines[i])
            i += 1
        if i >= len(lines):
            raise ValueError(f"line {start}: command without ---- separator")
        i += 1
        exp: list[str] = []
        while i < len(lines) and lines[i].strip():
            exp.append(lines[i])
            i += 1
        blocks.append(Block(start, pre, cmd, inp, exp))
        pre = []
    return blocks, pre


def render(blocks: list[Block], trailer: list[str], outputs: list[str]) -> str:
    out: list[str] = []
    for b, got in zip(blocks, outputs, strict=True):
        out.extend(b.preamble)
        out.append(b.command)
        out.extend(b.input)
        out.append("----")
        out.extend(got.split("\n"))
    out.extend(trailer)
    text = "\n".join(out)
    return text if text.endswith("\n") else text + "\n"


Runner = Callable[[Path, Callable[[str, str], str]], None]


@pytest.fixture
def datadriven() -> Runner:
    """run(path, do) where do(command_line, input_text) -> actual output."""

    def run(path: Path, do: Callable[[str, str], str]) -> None:
        blocks, trailer = parse_datadriven(path.read_text())
        outputs = []
        failures = []
        for b in blocks:
            got = do(b.command, "\n".join(b.input))
            outputs.append(got)
            if got.split("\n") != b.expected and not REWRITE:
                failures.append(
                    f"{path.name}:{b.line}: {b.command}\n--- expected\n"
                    + "\n".join(b.expected)
                    + "\n--- got\n"
                    + got
                )
        if REWRITE:
            path.write_text(render(blocks, trailer, outputs))
        assert not failures, "\n\n".join(failures[:3])

    return run
