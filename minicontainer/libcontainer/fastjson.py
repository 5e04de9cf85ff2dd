"""JSON through the C accelerator `_json` alone, without importing the json package.

Why: `import json` pulls in re, enum and functools, which is most of a CLI
call's import time (runc answers `state` in a few ms; every command of ours
pays the interpreter start first). The C scanner and encoder are the same
code json.loads/json.dumps use underneath; this module only supplies the
settings object they read and a small pretty-printer for `indent`, which the
C encoder does not do. Errors fall back to the json package for its message.
Output follows Go's encoding/json where they differ from Python's defaults:
non-ASCII is written as UTF-8, separators are "," and ":" unless indented.
"""

from __future__ import annotations

import _json

_WS = " \t\n\r"


def _constant(name: str) -> float:
    return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


class _Context:
    """The attributes _json.make_scanner reads (json.JSONDecoder's, with defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)
    memo: dict = {}


_scan = _json.make_scanner(_Context())


def loads(text: str | bytes):
    if isinstance(text, bytes):
        text = text.decode()
    idx = 0
    while idx < len(text) and text[idx] in _WS:
        idx += 1
    try:
        obj, end = _scan(text, idx)
    except (StopIteration, ValueError, SystemError):
        # The C scanner builds its error from json.decoder, which we did not import;
        # on any failure the json package parses again and raises the real error.
        end = -1
    if end >= 0:
        while end < len(text) and text[end] in _WS:
            end += 1
    if end != len(text):
        import json  # the rare path: let the json package word the error

        return json.loads(text)
    return obj


def _encoder(item_sep: str, key_sep: str):
    return _json.make_encoder(
        {}, _default, _json.encode_basestring, None, key_sep, item_sep, False, False, True
    )


def _default(obj):
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_COMPACT = _encoder(",", ":")
_SPACED = _encoder(", ", ": ")


def dumps(obj, indent: str | int | None = None, compact: bool = True) -> str:
    """compact=False gives Python's default ", "/": " separators (used for hook input)."""
    if indent is None:
        return "".join((_COMPACT if compact else _SPACED)(obj, 0))
    step = " " * indent if isinstance(indent, int) else indent
    return _pretty(obj, step, 0)


def _pretty(obj, step: str, level: int) -> str:
    inner = "\n" + step * (level + 1)
    if isinstance(obj, dict) and obj:
        parts = [f"{_scalar(str(k))}: {_pretty(v, step, level + 1)}" for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)) and obj:
        parts = [_pretty(v, step, level + 1) for v in obj]
    else:
        return _scalar(obj)
    open_, close = ("{", "}") if isinstance(obj, dict) else ("[", "]")
    return open_ + inner + ("," + inner).join(parts) + "\n" + step * level + close


def _scalar(obj) -> str:
    return "".join(_COMPACT(obj, 0))
