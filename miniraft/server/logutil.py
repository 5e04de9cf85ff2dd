"""Structured logs: one JSON object per line on stderr, like etcd's zap logger."""

from __future__ import annotations

import json
import sys
import time


class Logger:
    def __init__(self, name: str, stream=None) -> None:
        self.name = name
        self.stream = stream or sys.stderr

    def _emit(self, level: str, msg: str, fields: dict) -> None:
        rec = {"level": level, "ts": round(time.time(), 3), "name": self.name, "msg": msg}
        rec.update(fields)
        try:
            self.stream.write(json.dumps(rec, default=str) + "\n")
            self.stream.flush()
        except (ValueError, OSError):
            pass  # stderr closed while shutting down

    def info(self, msg: str, **fields) -> None:
        self._emit("info", msg, fields)

    def warn(self, msg: str, **fields) -> None:
        self._emit("warn", msg, fields)

    def error(self, msg: str, **fields) -> None:
        self._emit("error", msg, fields)
