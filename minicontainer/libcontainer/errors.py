"""Errors a runtime reports, worded like libcontainer/error.go and the runc CLI.

`ContainerError` carries the exact message runc prints; the CLI adds runc's
prefix ("runc create failed: ...") and picks the exit status.
"""

from __future__ import annotations

ERR_EXIST = "container with given ID already exists"
ERR_INVALID_ID = "invalid container id format"
ERR_NOT_EXIST = "container does not exist"
ERR_PAUSED = "container paused"
ERR_RUNNING = "container still running"
ERR_NOT_RUNNING = "container not running"
ERR_NOT_PAUSED = "container not paused"


class ContainerError(Exception):
    """A runc-style error: `str(err)` is the message runc would log."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
