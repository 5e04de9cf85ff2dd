"""Run every benchmark in this folder; each prints one JSON line per figure.

Each benchmark measures our component and its real peer (etcd, runc/crun,
nginx/haproxy) in the same run, so the figures to read are the ratios.
Usage: benchmarks/run.py [NAME ...]   (NAME is a file stem, e.g. raft)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = set(argv)
    scripts = [p for p in sorted(HERE.glob("*.py")) if p.name != "run.py"]
    failed = 0
    for script in scripts:
        if names and script.stem not in names:
            continue
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        if rc != 0:
            print(f'{{"benchmark": "{script.stem}", "error": "exit {rc}"}}', flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
