"""The `sim` command line: one JSON line with the documented fields, exit 0
when safe and live; --trace prints a readable timeline first."""

from __future__ import annotations

import json
import subprocess
import sys

from miniraft.sim.cli import main


def test_cli_prints_one_json_line(capsys) -> None:
    rc = main(["--nodes", "5", "--seed", "7", "--ticks", "300", "--faults",
               "drop,dup,reorder,partition,crash,restart"])  # fmt: skip
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    res = json.loads(out[0])
    for key in (
        "seed",
        "nodes",
        "ticks",
        "committed",
        "elections",
        "max_term",
        "violations",
        "liveness",
    ):
        assert key in res
    assert res["seed"] == 7 and res["nodes"] == 5 and res["ticks"] == 300
    assert res["violations"] == [] and res["liveness"] is True and rc == 0
    assert res["committed"] > 0 and res["elections"] >= 1


def test_cli_trace_through_python_m_miniraft() -> None:
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "miniraft",
            "sim",
            "--nodes",
            "3",
            "--seed",
            "1",
            "--ticks",
            "60",
            "--faults",
            "",
            "--trace",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert any("became leader at term 1" in ln for ln in lines)
    assert any("MsgVote Term:1" in ln for ln in lines)
    assert json.loads(lines[-1])["liveness"] is True


def test_cli_rejects_unknown_fault(capsys) -> None:
    try:
        main(["--faults", "drop,meteor"])
    except SystemExit as e:
        assert e.code == 2
    assert "unknown fault" in capsys.readouterr().err
