"""runc's logging: logrus text or JSON lines, to stderr or the --log file.

Mirrors runc's main.go (configLogrus) and utils.go (fatalWithCode: the error
goes to the logger, and to stderr as plain text when the logger writes
elsewhere). containerd's shim passes `--log FILE --log-format json` and reads
the last error line from that file, so both formats matter.
"""

from __future__ import annotations

import os
import sys
import time

from minicontainer.libcontainer import fastjson

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")


def go_quote(text: str) -> str:
    """Go's %q for the common characters (logrus quotes values this way)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(text: str) -> str:
    return text if text and all(c in _SAFE for c in text) else go_quote(text)


class Logger:
    def __init__(self, path: str = "", fmt: str = "text", debug: bool = False) -> None:
        self.path = path
        self.fmt = fmt
        self.debug_on = debug

    def _emit(self, level: str, msg: str) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.fmt == "json":
            line = fastjson.dumps({"level": level, "msg": msg, "time": now})
        else:
            line = f"time={_value(now)} level={level} msg={_value(msg)}"
        if self.path:
            try:
                fd = os.open(
                    self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
                )
            except OSError:
                # The shim's bundle (and its log.json) may be gone during cleanup.
                sys.stderr.write(line + "\n")
                return
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def error(self, msg: str) -> None:
        self._emit("error", msg)
        if self.path:
            sys.stderr.write(msg + "\n")

    def warning(self, msg: str) -> None:
        self._emit("warning", msg)

    def debug(self, msg: str) -> None:
        if self.debug_on:
            self._emit("debug", msg)
