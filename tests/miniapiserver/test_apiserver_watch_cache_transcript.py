"""Datadriven transcript of the watch cache (testdata/watch_cache.txt).

Each block is a command, `----`, and the cache's answer. Run with
MINIAPISERVER_REWRITE=1 to rewrite the expected answers from the code.
"""

from __future__ import annotations

import os
from pathlib import Path

from miniapiserver.cacher.watch_cache import WatchCache
from miniapiserver.storage import errors

DATA = Path(__file__).with_name("testdata") / "watch_cache.txt"


def run_command(cache: list[WatchCache], line: str) -> str:
    cmd, *args = line.split()
    c = cache[0]
    if cmd == "capacity":
        cache[0] = WatchCache(int(args[0]))
        return "ok"
    if cmd == "replace":
        rv, keys = int(args[0]), args[1:]
        c.replace({k: {"metadata": {"name": k}} for k in keys}, rv)
        return f"rv={c.resource_version} oldest={c.oldest_rv()}"
    if cmd == "event":
        kind, key, rv = args[0], args[1], int(args[2])
        ev = c.process_event(kind, key, {"metadata": {"name": key}}, rv)
        prev = ev.prev_object["metadata"]["name"] if ev.prev_object else "-"
        return f"{ev.type} {ev.key} {ev.rv} prev={prev}"
    if cmd == "since":
        try:
            return "\n".join(f"{e.type} {e.key} {e.rv}" for e in c.events_since(int(args[0])))
        except errors.StorageError as e:
            return f"error: {e}"
    if cmd == "list":
        return "\n".join(o["metadata"]["name"] for o in c.list(args[0] if args else ""))
    if cmd == "oldest":
        return str(c.oldest_rv())
    raise ValueError(f"unknown command {cmd!r}")


def parse(text: str) -> list[tuple[list[str], str, str]]:
    """Blocks of (leading comment lines, command, expected answer)."""
    blocks, comments = [], []
    lines = iter(text.splitlines())
    for line in lines:
        if not line.strip() or line.startswith("#"):
            comments.append(line)
            continue
        assert next(lines) == "----", f"expected ---- after {line!r}"
        answer = []
        for out in lines:
            if not out.strip():
                break
            answer.append(out)
        blocks.append((comments, line, "\n".join(answer)))
        comments = []
    return blocks


def test_watch_cache_transcript() -> None:
    cache = [WatchCache()]
    blocks = parse(DATA.read_text())
    got = [(comments, cmd, run_command(cache, cmd)) for comments, cmd, _ in blocks]
    if os.environ.get("MINIAPISERVER_REWRITE"):
        out = []
        for comments, cmd, answer in got:
            out += [c for c in comments if c.startswith("#")] + [cmd, "----", answer, ""]
        DATA.write_text("\n".join(out))
        return
    for (_, cmd, want), (_, _, have) in zip(blocks, got, strict=True):
        assert have == want, f"{cmd}:\nwant:\n{want}\nhave:\n{have}"
