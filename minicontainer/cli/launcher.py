"""Write the lean `minicontainer` executable: `#!PYTHON -IS`, this checkout on sys.path.

runc is one static binary; our start-up cost is the interpreter's. pip's
console-script wrapper runs with `site` (the venv's site-packages scan and its
.pth files) and imports `re` before our first line: about 10 ms a call, paid
by every `state` containerd's shim runs. The runtime imports only the standard
library, so this launcher starts Python isolated (-I: no environment, no user
site) and without `site` (-S), and puts the repository on sys.path itself.
It also switches the cyclic GC off: collections during the imports cost CPU,
and in the forked children they would touch (copy-on-write) every object.
Usage: python -m minicontainer.cli.launcher [--python PATH] DEST
"""

from __future__ import annotations

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TEMPLATE = """#!{python} -IS
# The minicontainer OCI runtime (written by python -m minicontainer.cli.launcher).
import gc
import sys

gc.disable()  # a runtime call lives for milliseconds; main() turns it back on for images
sys.path.insert(0, {repo!r})
from minicontainer.cli.main import entry

entry()
"""


def write_launcher(dest: str, python: str = sys.executable, repo: str = REPO) -> str:
    """Write DEST (mode 0755) atomically; return its absolute path.

    `repo`: the checkout to run (another one, to compare two versions side by side).
    """
    dest = os.path.abspath(dest)
    tmp = dest + ".tmp"
    with open(tmp, "w") as f:
        f.write(TEMPLATE.format(python=python, repo=repo))
    os.chmod(tmp, 0o755)
    os.rename(tmp, dest)
    return dest


def main(argv: list[str]) -> int:
    python = sys.executable
    if len(argv) == 3 and argv[0] == "--python":
        python, argv = argv[1], argv[2:]
    if len(argv) != 1:
        sys.stderr.write("usage: python -m minicontainer.cli.launcher [--python PATH] DEST\n")
        return 2
    print(write_launcher(argv[0], python))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
