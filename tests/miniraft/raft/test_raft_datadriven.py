"""Transcript tests over testdata/*.txt, in the style of etcd-io/raft's
interaction_test.go (datadriven.Walk over testdata with rafttest.InteractionEnv).
Rewrite expected outputs with MINIRAFT_REWRITE=1."""

from __future__ import annotations

from pathlib import Path

import pytest

from miniraft.raft.rafttest import InteractionEnv, handle
from miniraft.raft.rafttest.handler import parse_args

TESTDATA = Path(__file__).parent / "testdata"


@pytest.mark.parametrize("path", sorted(TESTDATA.glob("*.txt")), ids=lambda p: p.stem)
def test_interaction(path: Path, datadriven) -> None:
    env = InteractionEnv()

    def do(command: str, data: str) -> str:
        cmd, args = parse_args(command)
        return handle(env, cmd, args, data)

    datadriven(path, do)
