"""The log backend of --audit-log-path: one JSON Event per line.

Mirrors k8s.io/apiserver/plugin/pkg/audit/log/backend.go (format "json": each
event marshalled on its own line; "-" is standard output) in its default blocking
mode: the line is written and flushed before the request goes on. Omitted: the
"legacy" text format, rotation (--audit-log-maxage, -maxbackup, -maxsize) and
batching.
"""

from __future__ import annotations

import sys
from typing import IO, Any

import msgspec

_json = msgspec.json.Encoder()


class LogBackend:
    def __init__(self, path: str) -> None:
        self.path = path
        self.out: IO[bytes] = sys.stdout.buffer if path == "-" else open(path, "ab")  # noqa: SIM115

    def process_events(self, *events: dict[str, Any]) -> None:
        for ev in events:
            self.out.write(_json.encode(ev) + b"\n")
        self.out.flush()

    def shutdown(self) -> None:
        if self.path != "-":
            self.out.close()
