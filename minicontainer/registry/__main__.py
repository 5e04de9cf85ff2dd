"""`python -m minicontainer.registry`: distribution's `registry serve`, as flags.

Mirrors cmd/registry + registry/registry.go (NewRegistry, ListenAndServe) with the config
reduced to flags: --addr (http.addr), --root (storage.filesystem.rootdirectory),
--proxy-remote (proxy.remoteurl). Plain HTTP only; clients use --tls-verify=false.
"""

from __future__ import annotations

import argparse
import os
import sys

from aiohttp import web

from minicontainer.registry.handlers import make_app
from minicontainer.registry.proxy import PullThrough
from minicontainer.registry.storage import Storage


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m minicontainer.registry")
    p.add_argument("--addr", default="127.0.0.1:5000", help="listen address host:port")
    default_root = os.path.join(
        os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share")),
        "minicontainer",
        "registry",
    )
    p.add_argument("--root", default=default_root, help="storage root directory")
    p.add_argument("--proxy-remote", default=None, help="pull-through cache of this registry")
    args = p.parse_args(argv)
    host, _, port = args.addr.rpartition(":")
    proxy = PullThrough(args.proxy_remote) if args.proxy_remote else None
    app = make_app(Storage(args.root), proxy)
    print(f"minicontainer registry listening on {args.addr}, root {args.root}", flush=True)
    web.run_app(app, host=host or "127.0.0.1", port=int(port), print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
