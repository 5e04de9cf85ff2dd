"""The channel protocol `kubectl exec` speaks over a WebSocket, without any I/O.

Mirrors k8s.io/apimachinery/pkg/util/remotecommand/constants.go (the protocol names,
the NonZeroExitCode reason and ExitCode cause), k8s.io/apiserver/pkg/util/wsstream/conn.go
(one binary message per write, its first byte the channel: 0 stdin, 1 stdout, 2 stderr,
3 error, 4 resize; v5 adds 255 = "close this channel") and
pkg/kubelet/cri/streaming/remotecommand (websocket.go: which channels a request opens;
exec.go: the Status written on the error channel when the command ends).
Omitted: the base64 text protocols (base64.channel.k8s.io), v1-v3 channel layouts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STREAM_PROTOCOL_V4 = "v4.channel.k8s.io"
STREAM_PROTOCOL_V5 = "v5.channel.k8s.io"
# Preferred first: the server takes the first of the client's offers it knows.
SUPPORTED_PROTOCOLS = (STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255

NON_ZERO_EXIT_CODE_REASON = "NonZeroExitCode"
EXIT_CODE_CAUSE_TYPE = "ExitCode"

# api.ExecCommandParam and friends: the kubelet URL's query names (the API server
# translates kubectl's stdin/stdout/stderr into input/output/error).
KUBELET_PARAMS = {"stdin": "input", "stdout": "output", "stderr": "error", "tty": "tty"}


@dataclass(frozen=True)
class Options:
    """remotecommand.Options: which streams the client asked for."""

    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def options_from_kubelet_query(query: Any) -> Options:
    """NewOptions: a kubelet query (input=1&output=1&error=1&tty=1) as Options.

    With a tty there is no separate stderr: the terminal merges it into stdout.
    """
    flag = {k: query.get(v) == "1" for k, v in KUBELET_PARAMS.items()}
    return Options(flag["stdin"], flag["stdout"], flag["stderr"] and not flag["tty"], flag["tty"])


def frame(channel: int, data: bytes) -> bytes:
    """One binary WebSocket message carrying `data` on `channel`."""
    return bytes([channel]) + data


def parse_frame(message: bytes) -> tuple[int, bytes]:
    """(channel, payload) of a received message; an empty message is channel -1."""
    if not message:
        return -1, b""
    return message[0], message[1:]


def close_channel(message_payload: bytes) -> int | None:
    """The channel a v5 CLOSE message names, or None when it names none."""
    return message_payload[0] if message_payload else None


def parse_resize(payload: bytes) -> tuple[int, int] | None:
    """A TerminalSize {"Width":w,"Height":h} as (width, height); None when malformed."""
    try:
        size = json.loads(payload)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    if not (0 <= width < 1 << 16 and 0 <= height < 1 << 16):
        return None
    return width, height


def success_status() -> dict:
    return {"metadata": {}, "status": "Success"}


def exit_status(code: int) -> dict:
    """exec.go: a command that ran and exited non-zero; kubectl exits with `code`."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: "
        f"command terminated with exit code {code}",
        "reason": NON_ZERO_EXIT_CODE_REASON,
        "details": {"causes": [{"reason": EXIT_CODE_CAUSE_TYPE, "message": str(code)}]},
    }


def internal_error_status(message: str) -> dict:
    """apierrors.NewInternalError for a command that could not be run at all."""
    text = f"error executing command in container: {message}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {text}",
        "reason": "InternalError",
        "details": {"causes": [{"message": text}]},
        "code": 500,
    }


def status_frame(status: dict) -> bytes:
    return frame(ERROR, json.dumps(status, separators=(",", ":")).encode())


def exit_code_of(status: dict) -> int | None:
    """What a client reads back: the exit code of a NonZeroExitCode Status, 0 on Success."""
    if status.get("status") == "Success":
        return 0
    if status.get("reason") != NON_ZERO_EXIT_CODE_REASON:
        return None
    for cause in status.get("details", {}).get("causes", []):
        if cause.get("reason") == EXIT_CODE_CAUSE_TYPE:
            return int(cause["message"])
    return None
