"""The container's terminal: a pty whose master goes out over the console socket.

Mirrors libcontainer/console_linux.go (setupConsole: open /dev/ptmx inside the
container, unlock it, size it from process.consoleSize, send the master over
the --console-socket with SCM_RIGHTS, make the slave the controlling
terminal and stdio) and
utils/cmsg.go (SendFd: the file name travels as the message payload).
Uses the C `_socket` module: `socket` would import enum, ~2 ms on the start path.
"""

from __future__ import annotations

import _socket
import array
import fcntl
import os
import struct
import termios

_TIOCSPTLCK = 0x40045431
_TIOCGPTN = 0x80045430


def open_pty() -> tuple[int, str]:
    """Open a pty master from this mount namespace's /dev/ptmx; return it and the slave path."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
    num = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, b"\0\0\0\0"))[0]
    return master, f"/dev/pts/{num}"


def send_fd(sock: _socket.socket, name: str, fd: int) -> None:
    fds = array.array("i", [fd])
    sock.sendmsg([name.encode()], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])


def recv_fd(sock: _socket.socket) -> tuple[str, int]:
    fds = array.array("i")
    msg, anc, _flags, _addr = sock.recvmsg(4096, _socket.CMSG_SPACE(fds.itemsize))
    for level, kind, data in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    if not fds:
        raise OSError("no file descriptor received over the console socket")
    return msg.decode(), fds[0]


def setup_console(sock: _socket.socket, size: dict | None = None) -> None:
    """The init side: send the master, then the slave becomes stdio and the ctty.

    `size` is the process's `consoleSize` ({height, width}): set before the
    process runs, so its first look at the terminal already sees it.
    """
    master, slave_path = open_pty()
    if size and size.get("height") and size.get("width"):
        winsize = struct.pack("HHHH", size["height"], size["width"], 0, 0)
        fcntl.ioctl(master, termios.TIOCSWINSZ, winsize)
    send_fd(sock, "/dev/ptmx", master)
    os.close(master)
    sock.close()
    slave = os.open(slave_path, os.O_RDWR)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
