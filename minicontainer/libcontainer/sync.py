"""The parent ↔ init synchronisation channel.

Mirrors libcontainer/sync.go (syncType procReady/procHooks/procResume/
procError) and the netlink bootstrap pipe of nsexec.c, as JSON lines over a
socketpair: one message per line, so either side can block on `recv`.
"""

from __future__ import annotations

from minicontainer.libcontainer import fastjson

# `_socket` is a shared object on a shared-libpython build (~0.7 ms to load):
# only the commands that make sockets import it; annotations name it lazily.
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    import _socket

PROC_GO = "go"  # parent → stage-1: joined the cgroup, go on
PROC_USERMAP = "usermap"  # stage-1 → parent: write my uid_map/gid_map
PROC_USERMAP_DONE = "usermap-done"
PROC_PID = "pid"  # stage-1 → parent: the init's host pid
PROC_HOOKS = "procHooks"  # init → parent: mounts done, run prestart/createRuntime
PROC_RESUME = "procResume"
PROC_READY = "procReady"  # init → parent: about to wait on the exec fifo
PROC_ERROR = "procError"
STAGE1_ERROR = "stage1Error"  # the stage-1 child failed: no init pid will follow


class Channel:
    """One end of the socketpair, with a line buffer."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self._buf = b""
        # The stage-1 child reports the init's pid after fork(), so the init's first
        # message can overtake it on the shared socket: held messages are replayed.
        self.held: list[dict] = []

    def send(self, kind: str, **fields: object) -> None:
        self.sock.sendall(fastjson.dumps({"type": kind, **fields}).encode() + b"\n")

    def recv(self) -> dict | None:
        """The next message, or None at EOF (the other side died)."""
        if self.held:
            return self.held.pop(0)
        while b"\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return fastjson.loads(line)

    def expect(self, kind: str) -> dict:
        msg = self.recv()
        if msg is None:
            raise EOFError("parent closed the sync channel")
        if msg["type"] != kind:
            raise ValueError(f"invalid JSON payload from child: unexpected {msg['type']!r}")
        return msg
