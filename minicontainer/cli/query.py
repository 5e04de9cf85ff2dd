"""The read-only commands: state, list, ps.

Mirrors runc's state.go (the OCI state JSON, two-space indented), list.go
(a tabwriter table or JSON, -q for ids only) and ps.go (run the host's `ps`
and keep the rows whose PID is in the container's cgroup; -f json prints the
pids).
"""

from __future__ import annotations

import os
import sys

from minicontainer.cli.common import EXACT, MIN, CommandError, check_args, get_container, guard
from minicontainer.cli.flags import Flag, parse
from minicontainer.libcontainer import container, fastjson
from minicontainer.libcontainer import state as st


def run_command(name: str, argv: list[str], ctx) -> int:
    handler = {"state": _state, "list": _list, "ps": _ps}[name]
    return guard(ctx, lambda: handler(argv, ctx))


def _state(argv: list[str], ctx) -> int:
    _opts, args = parse(argv, [])
    check_args("state", args, 1, EXACT)
    s = get_container(ctx, args)
    out = st.oci_state(s, container.status_of(ctx.root, s))
    sys.stdout.write(fastjson.dumps(out, indent=2))
    return 0


def _owner(root: str, cid: str) -> str:
    import pwd

    try:
        uid = os.stat(os.path.join(root, cid, st.STATE_FILENAME)).st_uid
        return pwd.getpwuid(uid).pw_name
    except (OSError, KeyError):
        return "#?"


def tabwrite(rows: list[list[str]]) -> str:
    """text/tabwriter with minwidth 12, padding 1, as list.go configures it."""
    widths = [max(12, max(len(r[i]) for r in rows) + 3) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]]
        lines.append("".join(cells))
    return "\n".join(lines) + "\n"


def _list(argv: list[str], ctx) -> int:
    opts, _args = parse(argv, [Flag("format, f", "string", "table"), Flag("quiet, q")])
    items = []
    for cid in st.list_ids(ctx.root):
        try:
            s = st.load(ctx.root, cid)
        except Exception as e:
            sys.stderr.write(f"load container {cid}: {e}\n")
            continue
        out = st.oci_state(s, container.status_of(ctx.root, s))
        out["owner"] = _owner(ctx.root, cid)
        items.append(out)
    if opts["quiet"]:
        sys.stdout.write("".join(i["id"] + "\n" for i in items))
    elif opts["format"] == "json":
        sys.stdout.write(fastjson.dumps(items or None) + "\n")
    elif opts["format"] == "table":
        rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
        rows += [
            [i["id"], str(i["pid"]), i["status"], i["bundle"], i["created"], i["owner"]]
            for i in items
        ]
        sys.stdout.write(tabwrite(rows))
    else:
        raise CommandError("invalid format option")
    return 0


def _ps(argv: list[str], ctx) -> int:
    opts, args = parse(argv, [Flag("format, f", "string", "table")])
    check_args("ps", args, 1, MIN)
    s = get_container(ctx, args)
    if container.status_of(ctx.root, s) == st.STOPPED:
        raise CommandError("container not running")
    pids = container.manager_for(s).get_all_pids()
    if opts["format"] == "json":
        sys.stdout.write(fastjson.dumps(pids) + "\n")
        return 0
    if opts["format"] != "table":
        raise CommandError("invalid format option")
    import subprocess  # only `ps` needs it

    ps_args = args[1:] or ["-ef"]
    proc = subprocess.run(["ps", *ps_args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CommandError(f"exit status {proc.returncode}: {proc.stdout}{proc.stderr}")
    lines = proc.stdout.splitlines()
    header = lines[0].split()
    if "PID" not in header:
        raise CommandError("couldn't find PID field in ps output")
    idx = header.index("PID")
    keep = set(pids)
    out = [lines[0]] + [ln for ln in lines[1:] if int(ln.split()[idx]) in keep]
    sys.stdout.write("\n".join(out) + "\n")
    return 0
