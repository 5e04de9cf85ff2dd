"""A foreground `run` with `terminal: true`: proxy our stdio to the container's pty.

Mirrors runc's tty.go (setupProcessConsole/recvtty: receive the master over
the console socket, copy stdin → master and master → stdout, put our own
terminal in raw mode while the container runs).
"""

from __future__ import annotations

import os
import select
import socket
import sys
import termios
import tty

from minicontainer.libcontainer.console import recv_fd
from minicontainer.libcontainer.state import process_start_time


def proxy_console(sock: socket.socket, init_pid: int) -> None:
    """Copy bytes both ways until the container closes its end of the pty."""
    _name, master = recv_fd(sock)
    sock.close()
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    if saved is not None:
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
