"""`python -m miniraft`: the demo with no arguments; `serve`, `snapshot restore`, `sim`.

Wiring only, like etcd's main.go dispatching to etcdmain and etcdutl.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(
            "usage: python -m miniraft [--keep]                 run the 3-member demo\n"
            "       python -m miniraft serve [etcd flags]       run one member\n"
            "       python -m miniraft snapshot restore FILE [flags]  (etcdutl's)\n"
            "       python -m miniraft sim [...]                the Raft simulator"
        )
        return 0
    if argv and argv[0] == "serve":
        from miniraft.server.etcdmain import main as serve

        return serve(argv[1:])
    if argv and argv[0] == "snapshot":
        from miniraft.server.etcdutl import main as etcdutl

        return etcdutl(argv)
    if argv and argv[0] == "sim":
        from miniraft.sim.cli import main as sim

        return sim(argv[1:])
    from miniraft.server.demo import main as demo

    return demo(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
