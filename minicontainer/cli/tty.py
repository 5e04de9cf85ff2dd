"""A foreground `run` or `exec` with a terminal: proxy our stdio to the container's pty.

Mirrors runc's tty.go (recvtty: receive the master over the console socket,
copy stdin → master and master → stdout, put our own terminal in raw mode
while the process runs; resize: the pty takes our terminal's size, at start
and on every SIGWINCH, and the kernel tells the process).
"""

from __future__ import annotations

import _signal
import _socket
import fcntl
import os
import select
import sys
import termios
import tty

from minicontainer.libcontainer.console import recv_fd
from minicontainer.libcontainer.state import process_start_time


def resize(src: int, master: int) -> None:
    """tty.go resize: give the pty the size of our own terminal."""
    try:
        size = fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return  # our stdin is not a terminal: keep the pty's default size
    fcntl.ioctl(master, termios.TIOCSWINSZ, size)


def proxy_console(sock: _socket.socket, init_pid: int) -> None:
    """Copy bytes both ways until the container closes its end of the pty."""
    _name, master = recv_fd(sock)
    sock.close()
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    if saved is not None:
        resize(stdin, master)
        _signal.signal(_signal.SIGWINCH, lambda _n, _f: resize(stdin, master))
        tty.setraw(stdin)
    fds = [master, stdin]
    try:
        while master in fds:
            ready, _, _ = select.select(fds, [], [], 0.2)
            if not ready and process_start_time(init_pid) is None:
                break
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if fd == master:
                    if not data:
                        fds.remove(master)
                    else:
                        os.write(sys.stdout.fileno(), data)
                elif data:
                    os.write(master, data)
                else:
                    fds.remove(stdin)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        os.close(master)
