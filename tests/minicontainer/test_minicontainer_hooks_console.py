"""Hooks with the state on stdin, and the console socket handing out a pty master.

runtime-spec config.md "POSIX-platform Hooks" (which hook runs when, with
the state JSON on stdin) and runc's --console-socket protocol (the master
fd arrives over SCM_RIGHTS on an AF_UNIX socket).
"""

from __future__ import annotations

import array
import json
import os
import socket
import threading

import pytest

pytestmark = [pytest.mark.root, pytest.mark.kernel("cgroup", "netns")]


def _hook(tmp_path, name):
    log = tmp_path / f"{name}.json"
    script = tmp_path / f"{name}.sh"
    script.write_text(f"#!/bin/sh\ncat > {log}\n")
    script.chmod(0o755)
    return {"path": str(script)}, log


def test_hooks_run_in_order_with_state(mc, make_bundle, new_id, tmp_path):
    kinds = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ]
    logs = {}

    def mutate(spec):
        # startContainer runs inside the container: make the scripts visible at the same path.
        bind = {"destination": str(tmp_path), "source": str(tmp_path), "type": "bind"}
        spec["mounts"].append({**bind, "options": ["rbind", "rw"]})
        spec["hooks"] = {}
        for kind in kinds:
            hook, logs[kind] = _hook(tmp_path, kind)
            spec["hooks"][kind] = [hook]

    bundle = make_bundle(["sleep", "100"], mutate)
    cid = new_id("hk")
    assert mc("create", "-b", str(bundle), cid).returncode == 0
    assert all(logs[k].exists() for k in ("prestart", "createRuntime", "createContainer"))
    assert not logs["startContainer"].exists() and not logs["poststart"].exists()
    state = json.loads(logs["createRuntime"].read_text())
    assert state["id"] == cid and state["bundle"] == str(bundle) and state["pid"] > 0
    assert state["status"] == "creating"
    assert mc("start", cid).returncode == 0
    assert json.loads(logs["poststart"].read_text())["status"] == "running"
    assert mc("delete", "-f", cid).returncode == 0
    assert json.loads(logs["poststop"].read_text())["status"] == "stopped"
    for _ in range(100):
        if logs["startContainer"].exists():
            break
        threading.Event().wait(0.02)
    assert logs["startContainer"].exists()


def test_failing_prestart_hook_fails_create_and_cleans_up(mc, make_bundle, new_id, tmp_path):
    def mutate(spec):
        spec["hooks"] = {"prestart": [{"path": "/bin/false"}]}

    bundle = make_bundle(["true"], mutate)
    out = mc("create", "-b", str(bundle), new_id("hf"))
    assert out.returncode == 1
    assert "error running prestart hook" in out.stderr
    assert list(mc.root.iterdir()) == []


def _recv_master(server, box):
    conn, _ = server.accept()
    fds = array.array("i")
    msg, anc, _f, _a = conn.recvmsg(4096, socket.CMSG_SPACE(4))
    for _level, _kind, data in anc:
        fds.frombytes(data[:4])
    box["name"], box["fd"] = msg.decode(), fds[0]
    conn.close()


def test_console_socket_receives_pty_master(mc, make_bundle, new_id, tmp_path):
    def mutate(spec):
        spec["process"]["terminal"] = True

    bundle = make_bundle(["sh", "-c", "tty; echo hello-from-pty"], mutate)
    sock_path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    box: dict = {}
    t = threading.Thread(target=_recv_master, args=(server, box))
    t.start()
    cid = new_id("tty")
    out = mc("run", "-d", "--console-socket", sock_path, "-b", str(bundle), cid)
    t.join(10)
    server.close()
    assert out.returncode == 0, out.stderr
    data = b""
    try:
        while b"hello-from-pty" not in data:
            chunk = os.read(box["fd"], 4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    finally:
        os.close(box["fd"])
    assert b"/dev/pts/0" in data and b"hello-from-pty" in data
    assert box["name"] == "/dev/ptmx"


def test_terminal_without_console_socket_is_refused_like_runc(mc, make_bundle, new_id):
    def mutate(spec):
        spec["process"]["terminal"] = True

    out = mc("create", "-b", str(make_bundle(["true"], mutate)), new_id("nt"))
    assert out.returncode == 1
    assert "cannot allocate tty if runc will detach without setting console socket" in out.stderr


@pytest.mark.tool("script")
def test_foreground_run_with_terminal_proxies_the_pty(mc, make_bundle, new_id):
    import subprocess

    def mutate(spec):
        spec["process"]["terminal"] = True

    bundle = make_bundle(["sh", "-c", "tty; echo fg-ok; exit 6"], mutate)
    cmd = " ".join(mc.cmd("run", "-b", str(bundle), new_id("fg")))
    out = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "/dev/pts/0" in out.stdout and "fg-ok" in out.stdout, out.stdout + out.stderr
    assert out.returncode == 6


def _read_pty(master: int, timeout: float = 20) -> bytes:
    """Everything the pty's other side writes until it closes (EIO) or goes quiet."""
    import select

    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return out
        try:
            chunk = os.read(master, 4096)
        except OSError:
            return out
        if not chunk:
            return out
        out += chunk


def test_exec_tty_in_a_pty_matches_runc(runtimes, make_bundle, new_id):
    """`exec -t` from a terminal: the process gets its own pty, sized like ours
    (tty.go resize), and its status is exec's status — the same under both runtimes."""
    import fcntl
    import struct
    import subprocess
    import termios

    bundle = make_bundle(["sleep", "100"])
    seen = {}
    for name in ("minicontainer", "runc"):
        rt = runtimes[name]
        cid = new_id("xt")
        assert rt("run", "-d", "-b", str(bundle), cid).returncode == 0
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
        script = "tty; stty size; echo exec-ok; exit 4"
        proc = subprocess.Popen(
            rt.cmd("exec", "-t", cid, "sh", "-c", script), stdin=slave, stdout=slave, stderr=slave
        )
        os.close(slave)
        try:
            out = _read_pty(master)
        finally:
            os.close(master)
        lines = out.decode(errors="replace").replace("\r", "").splitlines()
        seen[name] = (proc.wait(timeout=30), lines)
        assert rt("delete", "-f", cid).returncode == 0
    # runc sizes the pty only after the process started (tty.go), so its `stty size`
    # may still see 0x0; we size it first (process.consoleSize), so ours always matches.
    assert seen["minicontainer"] == (4, ["/dev/pts/0", "33 101", "exec-ok"])
    status, lines = seen["runc"]
    assert (status, lines[0], lines[-1]) == (4, "/dev/pts/0", "exec-ok")


def test_exec_detached_tty_sends_master_over_console_socket(mc, make_bundle, new_id, tmp_path):
    cid = new_id("xs")
    assert mc("run", "-d", "-b", str(make_bundle(["sleep", "100"])), cid).returncode == 0
    refused = mc("exec", "-d", "-t", cid, "true")
    assert refused.returncode == 255
    assert "cannot allocate tty if runc will detach without setting console socket" in (
        refused.stderr
    )
    sock_path = str(tmp_path / "exec-console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    box: dict = {}
    t = threading.Thread(target=_recv_master, args=(server, box))
    t.start()
    args = ["exec", "-d", "-t", "--console-socket", sock_path, cid]
    out = mc(*args, "sh", "-c", "tty; echo exec-pty-ok")
    t.join(10)
    server.close()
    assert out.returncode == 0, out.stderr
    try:
        data = _read_pty(box["fd"], timeout=10)
    finally:
        os.close(box["fd"])
    assert box["name"] == "/dev/ptmx"
    assert b"/dev/pts/" in data and b"exec-pty-ok" in data
