"""Compile every .proto file in the minicloud packages with grpcio-tools.

The .proto files are ours (written from upstream's field numbers, never copied);
their `import` lines use repository-relative paths, so `miniraft/api/rpc.proto`
becomes the module `miniraft.api.rpc_pb2`. Generated files are not committed:
this runs at setup time and only recompiles what changed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(p for p in ROOT.glob("mini*") if p.is_dir())


def stale(proto: Path) -> bool:
    """True when the proto's generated module is missing or older than it."""
    out = proto.with_name(proto.stem + "_pb2.py")
    return not out.exists() or out.stat().st_mtime < proto.stat().st_mtime


def main() -> int:
    from grpc_tools import protoc

    os.chdir(ROOT)  # protoc resolves the relative file names against -I roots
    protos = [p for pkg in PACKAGES for p in sorted(pkg.rglob("*.proto"))]
    todo = [p for p in protos if stale(p)]
    if not todo:
        return 0
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={ROOT}",
        f"--pyi_out={ROOT}",
        f"--grpc_python_out={ROOT}",
        *(str(p.relative_to(ROOT)) for p in todo),
    ]
    rc = protoc.main(args)
    if rc != 0:
        print(f"gen_protos: protoc failed ({rc})", file=sys.stderr)
        return rc
    print(f"gen_protos: compiled {len(todo)} proto file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
