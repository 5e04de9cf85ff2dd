"""The handlers behind cli.py: one function per command, printing podman-like output.

Mirrors podman's cmd/podman/images (list.go columns REPOSITORY TAG IMAGE ID SIZE,
history.go, inspect.go) and cmd/podman/images/build.go's flags; the work is done by the
image package modules named in each function.
Omitted: --format templates, filters, image IDs other than the manifest digest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from minicontainer.image import client
from minicontainer.image import layout as lay
from minicontainer.image.layout import Layout


def _layout(store: Path) -> Layout:
    return Layout(store / "images")


def build(store: Path, args) -> int:
    from minicontainer.image.build import Builder
    from minicontainer.image.snapshotter import Snapshotter

    context = Path(args.context).resolve()
    dockerfile = Path(args.file) if args.file else context / "Dockerfile"
    layout = _layout(store)
    if args.no_cache:
        (layout.root / "buildcache.json").unlink(missing_ok=True)
    builder = Builder(layout, Snapshotter(store / "snapshots"), args.runtime, str(store / "run"))
    build_args = dict(a.partition("=")[::2] for a in args.build_arg)
    desc = builder.build(context, dockerfile.read_text(), args.tag, build_args)
    if args.tag:
        print(f"Successfully tagged {lay.normalize(args.tag)}")
    print(desc.digest)
    return 0


def push(store: Path, args) -> int:
    digest = client.push(_layout(store), args.source, args.destination)
    print(f"Writing manifest to image destination\n{digest}")
    return 0


def pull(store: Path, args) -> int:
    desc = client.pull(_layout(store), args.source, args.destination)
    print(desc.digest)
    return 0


def image_ls(store: Path, args) -> int:
    layout = _layout(store)
    print(f"{'REPOSITORY':<40} {'TAG':<12} {'IMAGE ID':<14} SIZE")
    for name, desc in layout.images():
        repo, _, tag = name.rpartition(":")
        try:
            _m, config, layers = layout.image(desc)
            size = sum(x.size for x in layers) + config.size + desc.size
        except Exception:
            size = desc.size
        print(f"{repo:<40} {tag:<12} {desc.digest[7:19]:<14} {_human(size)}")
    return 0


def image_rm(store: Path, args) -> int:
    layout = _layout(store)
    for name in args.names:
        desc = layout.untag(name)
        print(f"Untagged: {lay.normalize(name)}\nDeleted: {desc.digest}")
    layout.gc()
    return 0


def image_prune(store: Path, args) -> int:
    for d in _layout(store).gc():
        print(d)
    return 0


def image_inspect(store: Path, args) -> int:
    layout = _layout(store)
    out = []
    for name in args.names:
        desc = layout.resolve(name)
        m, config, layers = layout.image(desc)
        out.append(
            {
                "Id": desc.digest,
                "RepoTags": [lay.normalize(name)],
                "Digest": m.digest,
                "MediaType": m.media_type,
                "Config": json.loads(layout.content.read(config.digest)),
                "Layers": [x.digest for x in layers],
                "Size": sum(x.size for x in layers),
            }
        )
    sys.stdout.write(json.dumps(out, indent=4) + "\n")
    return 0


def image_history(store: Path, args) -> int:
    layout = _layout(store)
    _m, _c, layers = layout.image(layout.resolve(args.names[0]))
    config = layout.config(args.names[0])
    sizes = iter(x.size for x in layers)
    rows = []
    for h in config.get("history") or []:
        size = 0 if h.get("empty_layer") else next(sizes, 0)
        rows.append(f"{_human(size):<10} {h.get('created_by', '')}")
    print(f"{'SIZE':<10} CREATED BY")
    print("\n".join(reversed(rows)))
    return 0


def image_import(store: Path, args) -> int:
    from minicontainer.image.config import image_from_rootfs

    layout = _layout(store)
    p = Path(args.path)
    if p.is_dir() and not (p / "oci-layout").exists():
        desc = image_from_rootfs(layout, p, args.name, cmd=["sh"])
    else:
        desc = lay.import_path(layout, args.path, args.name)
    print(desc.digest)
    return 0


def image_export(store: Path, args) -> int:
    desc = lay.export_path(_layout(store), args.name, args.path)
    print(desc.digest)
    return 0


def image_run(store: Path, args) -> int:
    from minicontainer.image.cli import run_image

    return run_image(store, args.name, args.cmd, args.runtime)


def image_scan(store: Path, args) -> int:
    from minicontainer.image import scan

    layout = _layout(store)
    _m, _c, layers = layout.image(layout.resolve(args.name))
    packages = scan.inventory([layout.content.path(x.digest) for x in layers])
    advisories = json.loads(Path(args.advisories).read_text()) if args.advisories else []
    findings = scan.match(packages, advisories)
    print(f"{'TYPE':<8} {'PACKAGE':<30} {'VERSION':<20} ADVISORY")
    for pkg in packages:
        ids = ",".join(f["id"] for f in findings if f["package"] == pkg.name) or "-"
        print(f"{pkg.kind:<8} {pkg.name:<30} {pkg.version:<20} {ids}")
    return 1 if findings else 0


def _human(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1000
    return str(size)
