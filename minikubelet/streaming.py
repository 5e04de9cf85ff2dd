"""The kubelet's /exec endpoint: run a command in a container over a WebSocket.

Mirrors pkg/kubelet/server/server.go (getExec: find the pod and its running container,
else `container not found ("name")` as a 500 before any upgrade),
pkg/kubelet/cri/streaming/remotecommand/websocket.go and httpstream.go (the channels a
request opens, resize events) and exec.go (ServeExec: run, then one Status on the error
channel). The command runs through the OCI runtime's own `exec` (`runc exec` or
`minicontainer exec`; for a tty, a `--process` file whose consoleSize is the first
resize, on a pty this process owns), so both runtimes work unchanged; a later resize
sets the pty's size and sends SIGWINCH, which the runtime forwards to the container's
terminal; when the client goes away mid-command the command
is SIGKILLed through the runtime's `--pid-file`. Omitted: SPDY/3.1 (only WebSocket v5/v4 is
served), attach and port-forward, the idle and stream-creation timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import tempfile
import termios

from aiohttp import WSMsgType, web

from minikubelet import streaming_protocol as sp
from minikubelet.cri import REPO
from minikubelet.kubelet import Kubelet

# Wait this long for kubectl's first resize so the pty has its size when the command starts.
FIRST_RESIZE_WAIT = 0.5
# Seconds the runtime gets to exit once the command of a vanished client is killed.
ABANDON_GRACE = 2.0


def find_container_id(kubelet: Kubelet, ns: str, pod_name: str, container: str) -> str:
    """findContainer: the running container's id, or the 500 upstream's kubelet answers."""
    pod = next((p for p in kubelet.workers.pods.values()
                if p.metadata.namespace == ns and p.metadata.name == pod_name), None)  # fmt: skip
    if pod is None or kubelet.runtime is None:
        raise web.HTTPNotFound(text=f'pod "{pod_name}" not found')
    live = [c for c in kubelet.runtime.containers(pod.metadata.uid)
            if c.config.name == container and c.state == "RUNNING"]  # fmt: skip
    if not live:
        raise web.HTTPInternalServerError(text=f'container not found ("{container}")')
    return live[0].id


def exec_argv(kubelet: Kubelet, cid: str, cmd: list[str], tty: bool, pid_file: str) -> list[str]:
    """`<runtime> exec`; with a tty, the process comes from a --process file (tty_process)."""
    rs = kubelet.runtime.runtime
    if tty:
        process_file = os.path.join(os.path.dirname(pid_file), "process.json")
        return [*rs.runtime, "--root", rs.runtime_root, "exec", "--pid-file", pid_file,
                "--process", process_file, cid]  # fmt: skip
    return [*rs.runtime, "--root", rs.runtime_root, "exec", "--pid-file", pid_file, cid, *cmd]


def tty_process(kubelet: Kubelet, cid: str, cmd: list[str]) -> dict:
    """The exec's OCI process for a tty: the container's own (env, cwd, user, caps) running
    cmd, as containerd builds an exec spec. Its consoleSize is filled in at start: `runc
    exec -t` sizes the pty only after the command runs (tty.go's resize in the signal
    forwarder), so a quick `stty size` saw 0 rows and busybox printed a stale errno
    ("No child processes"); a consoleSize is applied before the command's execve."""
    config = os.path.join(kubelet.runtime.runtime.root, "containers", cid, "bundle", "config.json")
    with open(config) as f:
        process = json.load(f)["process"]
    return {**process, "args": cmd, "terminal": True}


class ExecSession:
    """One exec: a runtime process wired to the WebSocket's channels."""

    def __init__(
        self, ws: web.WebSocketResponse, opts: sp.Options, argv: list[str], pid_file: str,
        process: dict | None = None,
    ) -> None:  # fmt: skip
        self.ws, self.opts, self.argv, self.pid_file = ws, opts, argv, pid_file
        self.process = process  # tty only: written to --process with the pty's size
        self.v5 = ws.ws_protocol == sp.STREAM_PROTOCOL_V5
        self.proc: asyncio.subprocess.Process | None = None
        self.master = -1
        self.sized = asyncio.Event()
        self.started = asyncio.Event()  # stdin waits for the process; a resize does not
        self.send_lock = asyncio.Lock()

    async def send(self, channel: int, data: bytes) -> None:
        async with self.send_lock:  # one writer at a time on the shared connection
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_bytes(sp.frame(channel, data))

    async def run(self) -> None:
        reader = asyncio.create_task(self.read_client())
        try:
            status = await self.execute()
        finally:
            reader.cancel()
            if self.master >= 0:
                os.close(self.master)
        async with self.send_lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_bytes(sp.status_frame(status))
        await self.ws.close()

    async def execute(self) -> dict:
        env = {**os.environ, "PYTHONPATH": REPO}
        try:
            if self.opts.tty:
                pumps = await self.start_tty(env)
            else:
                pumps = await self.start_pipes(env)
        except OSError as err:
            return sp.internal_error_status(str(err))
        finally:
            self.started.set()
        await asyncio.gather(*pumps)
        code = await self.proc.wait()
        code = code if code >= 0 else 128 - code  # killed by a signal: the shell's convention
        return sp.success_status() if code == 0 else sp.exit_status(code)

    async def start_pipes(self, env: dict) -> list:
        pipe, null = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, env=env, cwd="/", stdin=pipe if self.opts.stdin else null,
            stdout=pipe if self.opts.stdout else null, stderr=pipe if self.opts.stderr else null,
        )  # fmt: skip
        pumps = []
        if self.opts.stdout:
            pumps.append(self.pump(self.proc.stdout, sp.STDOUT))
        if self.opts.stderr:
            pumps.append(self.pump(self.proc.stderr, sp.STDERR))
        return pumps

    async def pump(self, stream: asyncio.StreamReader, channel: int) -> None:
        while data := await stream.read(32768):
            await self.send(channel, data)

    async def start_tty(self, env: dict) -> list:
        self.master, slave = pty.openpty()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.sized.wait(), FIRST_RESIZE_WAIT)
        if self.process is not None:
            self.write_process()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, env=env, cwd="/", stdin=slave, stdout=slave, stderr=slave,
                start_new_session=True,
            )  # fmt: skip
        finally:
            os.close(slave)  # the master then reads EOF (EIO) once the command's side is gone
        return [self.pump_master()] if self.opts.stdout else []

    def write_process(self) -> None:
        """The --process file, with the pty's current size as the OCI consoleSize."""
        rows, cols, _x, _y = struct.unpack(
            "HHHH", fcntl.ioctl(self.master, termios.TIOCGWINSZ, b"\0" * 8))  # fmt: skip
        process = dict(self.process or {})
        if rows and cols:
            process["consoleSize"] = {"height": rows, "width": cols}
        with open(os.path.join(os.path.dirname(self.pid_file), "process.json"), "w") as f:
            json.dump(process, f)

    async def pump_master(self) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(self.master, 32768)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(self.master)
            queue.put_nowait(data)

        os.set_blocking(self.master, False)
        loop.add_reader(self.master, readable)
        try:
            while data := await queue.get():
                await self.send(sp.STDOUT, data)
        finally:
            loop.remove_reader(self.master)

    async def read_client(self) -> None:
        """Demultiplex the client's messages: stdin, resize, v5 close; the end closes stdin."""
        async for msg in self.ws:
            if msg.type != WSMsgType.BINARY:
                continue
            channel, payload = sp.parse_frame(msg.data)
            if channel == sp.RESIZE and self.opts.tty:
                self.resize(payload)
                continue
            await self.started.wait()
            if channel == sp.STDIN and self.opts.stdin:
                await self.write_stdin(payload)
            elif channel == sp.CLOSE and self.v5 and sp.close_channel(payload) == sp.STDIN:
                self.close_stdin()
        await self.started.wait()
        self.close_stdin()
        if self.proc is not None and self.proc.returncode is None:
            await self.abandon()

    async def abandon(self) -> None:
        """The client went away mid-command: SIGKILL the command, as containerd's CRI does
        when an exec's stream ends, then the runtime process if it lingers."""
        with contextlib.suppress(OSError, ValueError), open(self.pid_file) as f:
            os.kill(int(f.read().strip()), signal.SIGKILL)
        try:
            await asyncio.wait_for(self.proc.wait(), ABANDON_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def write_stdin(self, data: bytes) -> None:
        if self.opts.tty:
            if self.master >= 0:
                with contextlib.suppress(OSError):  # the terminal is already gone
                    os.write(self.master, data)
            return
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(ConnectionError):
                self.proc.stdin.write(data)
                await self.proc.stdin.drain()

    def close_stdin(self) -> None:
        if not self.opts.tty and self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()

    def resize(self, payload: bytes) -> None:
        size = sp.parse_resize(payload)
        if size is None or self.master < 0:
            return
        width, height = size
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        self.sized.set()
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGWINCH)  # the runtime re-reads the size


async def serve_exec(req: web.Request, kubelet: Kubelet) -> web.StreamResponse:
    """GET|POST /exec/{ns}/{pod}/{container}?command=..&input=1&output=1&error=1&tty=1."""
    m = req.match_info
    cid = find_container_id(kubelet, m["ns"], m["pod"], m["container"])
    ws = web.WebSocketResponse(protocols=sp.SUPPORTED_PROTOCOLS, heartbeat=None)
    if not ws.can_prepare(req).ok:
        raise web.HTTPBadRequest(
            text="minikubelet serves exec over WebSocket only "
            f"({', '.join(sp.SUPPORTED_PROTOCOLS)}); SPDY/3.1 is not supported"
        )
    opts = sp.options_from_kubelet_query(req.query)
    await ws.prepare(req)
    with tempfile.TemporaryDirectory(prefix="exec-", dir=kubelet.runtime.runtime.root) as tmp:
        pid_file = os.path.join(tmp, "pid")
        cmd = req.query.getall("command", [])
        argv = exec_argv(kubelet, cid, cmd, opts.tty, pid_file)
        process = tty_process(kubelet, cid, cmd) if opts.tty else None
        await ExecSession(ws, opts, argv, pid_file, process).run()
    return ws
