"""`python -m miniraft sim`: run one seeded simulation, print one JSON line.

Usage: sim --nodes 5 --seed 7 --ticks 20000
           --faults drop,dup,reorder,partition,crash,restart [--trace]
--trace prints the timeline first (tick, node, role changes, terms, every
message sent in etcd's DescribeMessage form, and the faults injected).
Exit status: 0 when no safety property was violated and liveness held.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from miniraft.sim.simulation import (
    ALL_FAULTS,
    DEFAULT_NODES,
    DEFAULT_SEED,
    DEFAULT_TICKS,
    run,
)


def parse_faults(s: str) -> set[str]:
    faults = {f.strip() for f in s.split(",") if f.strip()}
    unknown = faults - set(ALL_FAULTS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown fault(s) {', '.join(sorted(unknown))}; choose from {','.join(ALL_FAULTS)}"
        )
    return faults


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m miniraft sim",
        description="Run a deterministic Raft simulation and check its safety and liveness.",
    )
    p.add_argument("--nodes", type=int, default=DEFAULT_NODES, help="cluster size (default 5)")
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="seed; the same seed replays exactly"
    )
    p.add_argument(
        "--ticks", type=int, default=DEFAULT_TICKS, help="ticks of faulty operation (default 20000)"
    )
    p.add_argument(
        "--faults",
        type=parse_faults,
        default=set(ALL_FAULTS),
        help=f"comma-separated subset of {','.join(ALL_FAULTS)} ('' for none)",
    )
    p.add_argument("--trace", action="store_true", help="print the timeline before the result")
    p.add_argument("--no-prevote", action="store_true", help="disable PreVote")
    p.add_argument("--no-checkquorum", action="store_true", help="disable CheckQuorum")
    args = p.parse_args(argv)
    if args.nodes < 1 or args.ticks < 0:
        p.error("--nodes must be >= 1 and --ticks >= 0")
    tracer = (lambda line: print(line, flush=False)) if args.trace else None
    try:
        res = run(
            nodes=args.nodes,
            seed=args.seed,
            ticks=args.ticks,
            faults=args.faults,
            tracer=tracer,
            pre_vote=not args.no_prevote,
            check_quorum=not args.no_checkquorum,
        )
        print(json.dumps(res.as_dict()), flush=True)
    except BrokenPipeError:  # `--trace | head`: the reader left; stop quietly
        # Point stdout at /dev/null so the interpreter's final flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0 if not res.violations and res.liveness else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
