"""`python -m minicontainer build|image|push|pull`: the image commands.

Mirrors the command surface of podman/docker (build -t -f --build-arg, image ls/rm/
inspect/import/export/history/prune, push SRC DEST and pull SRC with --tls-verify=false)
over our own store: an OCI layout, an overlay snapshotter and a build cache under
`$XDG_DATA_HOME/minicontainer` (or `--store DIR`). Errors print as `Error: …`, exit 125,
as podman does. `image run IMAGE [CMD]` is the docker-like run (`run` itself stays runc's).
Omitted: TLS and credentials, image save/load of docker archives (import reads them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

COMMANDS = ("build", "image", "push", "pull")


def default_store() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "minicontainer")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minicontainer")
    p.add_argument("--store", default=default_store(), help="image store directory")
    sub = p.add_subparsers(dest="command", required=True)
    add_image_commands(sub)
    return p


def add_image_commands(sub) -> None:
    # --store is accepted after the command too, since runc-style global flags come first
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", default=argparse.SUPPRESS, help="image store directory")
    sub = _Sub(sub, store)
    b = sub.add_parser("build", help="build an image from a Dockerfile")
    b.add_argument("-t", "--tag", default=None)
    b.add_argument("-f", "--file", default=None)
    b.add_argument("--build-arg", action="append", default=[])
    b.add_argument("--runtime", choices=("minicontainer", "runc"), default="minicontainer")
    b.add_argument("--no-cache", action="store_true")
    b.add_argument("context")
    for name in ("push", "pull"):
        c = sub.add_parser(name, help=f"{name} an image (plain HTTP registries only)")
        c.add_argument("source")
        c.add_argument("destination", nargs="?" if name == "pull" else None)
        c.add_argument("--tls-verify", default="true")
    img = _Sub(
        sub.add_parser("image", help="manage images").add_subparsers(dest="action", required=True),
        store,
    )
    img.add_parser("ls", help="list images")
    for action in ("rm", "inspect", "history"):
        img.add_parser(action).add_argument("names", nargs="+")
    imp = img.add_parser("import", help="import an OCI layout, docker-archive or rootfs dir")
    imp.add_argument("path")
    imp.add_argument("name")
    exp = img.add_parser("export", help="write an image as an OCI layout directory")
    exp.add_argument("name")
    exp.add_argument("path")
    img.add_parser("prune", help="remove blobs no image references")
    scan = img.add_parser("scan", help="list packages and match them against advisories")
    scan.add_argument("name")
    scan.add_argument("--advisories", default=None)
    run = img.add_parser("run", help="run a container from an image (docker run)")
    run.add_argument("--runtime", choices=("minicontainer", "runc"), default="minicontainer")
    run.add_argument("name")
    run.add_argument("cmd", nargs=argparse.REMAINDER)


class _Sub:
    """add_subparsers() whose every parser also takes the shared --store flag."""

    def __init__(self, sub, parent: argparse.ArgumentParser) -> None:
        self.sub, self.parent = sub, parent

    def add_parser(self, name: str, **kw) -> argparse.ArgumentParser:
        return self.sub.add_parser(name, parents=[self.parent], **kw)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from minicontainer.image.content import ContentError
    from minicontainer.image.manifest import ManifestError

    try:
        return dispatch(args)
    except (ContentError, ManifestError, OSError, ValueError, LookupError) as e:
        sys.stderr.write(f"Error: {e}\n")
        return 125
    except Exception as e:  # build and client errors carry their own message
        if type(e).__module__.startswith("minicontainer."):
            sys.stderr.write(f"Error: {e}\n")
            return 125
        raise


def dispatch(args) -> int:
    from minicontainer.image import cli_commands as cc

    store = Path(args.store)
    if args.command == "build":
        return cc.build(store, args)
    if args.command in ("push", "pull"):
        if args.tls_verify.lower() != "false":
            raise ValueError("TLS is not supported by minicontainer: pass --tls-verify=false")
        return cc.push(store, args) if args.command == "push" else cc.pull(store, args)
    return getattr(cc, "image_" + args.action)(store, args)


def run_image(store: Path, name: str, cmd: list[str], runtime: str) -> int:
    """Unpack, mount an overlay rootfs, write the bundle, run it, clean up."""
    from minicontainer.image import bundle as bd
    from minicontainer.image.layout import Layout
    from minicontainer.image.snapshotter import Snapshotter, mount_all, unmount
    from minicontainer.image.unpack import unpack

    layout, snap = Layout(store / "images"), Snapshotter(store / "snapshots")
    chain = unpack(layout, snap, name)
    config = layout.config(name)
    cid = f"run-{uuid.uuid4().hex[:12]}"
    snap.prepare(cid, chain)
    bundle = Path(tempfile.mkdtemp(prefix="mc-run-"))
    (bundle / "rootfs").mkdir()
    try:
        mount_all(snap.mounts(cid), bundle / "rootfs")
        try:
            spec = bd.make_spec(config, bd.process_args(config, cmd), bundle / "rootfs")
            return bd.run_bundle(runtime, str(store / "run"), bundle, cid, spec)
        finally:
            unmount(bundle / "rootfs")
    finally:
        snap.remove(cid)
        shutil.rmtree(bundle, ignore_errors=True)


def print_json(doc) -> None:
    sys.stdout.write(json.dumps(doc, indent=4) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
