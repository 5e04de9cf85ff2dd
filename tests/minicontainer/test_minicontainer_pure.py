"""Pure pieces: flag parsing, log lines, cgroup file parsers, device rules,
mount options, securejoin, timestamps, signal names, cgroup v2 conversions.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicontainer.cli.common import CommandError
from minicontainer.cli.flags import Flag, UsageError, parse
from minicontainer.cli.lifecycle import parse_signal
from minicontainer.cli.logs import go_quote
from minicontainer.libcontainer import system as s
from minicontainer.libcontainer.cgroups import fs2, utils
from minicontainer.libcontainer.cgroups.devices import rules_v1
from minicontainer.libcontainer.cgroups.manager import inner_path
from minicontainer.libcontainer.mountopts import parse_mount_options
from minicontainer.libcontainer.securejoin import secure_join
from minicontainer.libcontainer.state import rfc3339nano

FLAGS = [Flag("force, f"), Flag("bundle, b", "string", ""), Flag("env, e", "list")]


def test_flags_urfave_style():
    values, args = parse(["-f", "--bundle=/b", "-e", "A=1", "--env", "B=2", "id", "-x"], FLAGS)
    assert values == {"force": True, "bundle": "/b", "env": ["A=1", "B=2"]}
    assert args == ["id", "-x"]  # flags stop at the first positional argument
    assert parse(["--force=false", "id"], FLAGS)[0]["force"] is False
    with pytest.raises(UsageError):
        parse(["--nope"], FLAGS)
    with pytest.raises(UsageError):
        parse(["--bundle"], FLAGS)


def test_go_quote_matches_go_percent_q():
    assert go_quote('namespace {"bogus" ""} does not exist') == (
        '"namespace {\\"bogus\\" \\"\\"} does not exist"'
    )
    assert go_quote("a\nb\tc\\") == '"a\\nb\\tc\\\\"'


def test_parse_signal_names_and_numbers():
    assert parse_signal("9") == 9
    assert parse_signal("KILL") == parse_signal("SIGKILL") == parse_signal("kill") == 9
    with pytest.raises(CommandError, match='unknown signal "FOO"'):
        parse_signal("FOO")


def test_parse_cgroup_file_and_mountinfo():
    text = "9:name=systemd:/\n4:memory:/a/b\n2:cpu,cpuacct:/x\n0::/u\n"
    assert utils.parse_cgroup_file(text) == {
        "name=systemd": "/",
        "memory": "/a/b",
        "cpu": "/x",
        "cpuacct": "/x",
        "": "/u",
    }
    info = (
        "30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "31 25 0:27 /sub /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "32 25 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
    )
    mounts = utils.parse_mountinfo_cgroups(info)
    assert mounts[""] == ("/sys/fs/cgroup/unified", "/")
    assert mounts["cpu"] == mounts["cpuacct"] == ("/sys/fs/cgroup/cpu,cpuacct", "/sub")
    assert mounts["name=systemd"][0] == "/sys/fs/cgroup/systemd"
    assert "xattr" in mounts  # unknown super options are harmless keys


def test_join_path_absolute_and_relative():
    assert utils.join_path("/cg/memory", "/", "/own", "/abs/c") == "/cg/memory/abs/c"
    assert utils.join_path("/cg/memory", "/", "/own", "c") == "/cg/memory/own/c"
    assert utils.join_path("/cg/memory", "/own", "/own/x", "c") == "/cg/memory/x/c"
    assert inner_path(None, "id1") == "id1"
    assert inner_path("/a/../b//c", "id1") == "/b/c"


def test_device_rules_reset_then_allow_defaults():
    writes = rules_v1([{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 4}])
    assert writes[0] == ("devices.deny", "a")
    assert ("devices.allow", "c 4:* rwm") in writes
    assert ("devices.allow", "c 1:3 rwm") in writes and ("devices.allow", "c *:* m") in writes


def test_mount_options_table():
    opts = parse_mount_options(["nosuid", "ro", "rw", "rbind", "rslave", "mode=755", "size=1k"])
    assert opts.flags == s.MS_NOSUID | s.MS_BIND | s.MS_REC
    assert opts.propagation == [s.MS_SLAVE | s.MS_REC]
    assert opts.data == "mode=755,size=1k"


def test_secure_join_keeps_symlinks_inside(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/etc", root / "abs")
    os.symlink("../../../..", root / "up")
    assert secure_join(str(root), "/abs/passwd") == str(root / "etc" / "passwd")
    assert secure_join(str(root), "up/etc") == str(root / "etc")
    assert secure_join(str(root), "../../x") == str(root / "x")


@settings(max_examples=30)
@given(st.integers(0, 2**62))
def test_rfc3339nano_trims_zeros(ns):
    text = rfc3339nano(ns)
    assert text.endswith("Z")
    if "." in text:
        assert not text[:-1].endswith("0")


@settings(max_examples=30)
@given(st.integers(2, 262144))
def test_cpu_weight_in_range(shares):
    assert 1 <= fs2.convert_cpu_shares(shares) <= 10000


def test_cpu_weight_and_swap_conversions():
    assert fs2.convert_cpu_shares(1024) == 39
    assert fs2.convert_cpu_shares(0) == 0
    assert fs2.convert_memory_swap(100, 300) == 200
    assert fs2.convert_memory_swap(100, -1) == -1


def test_parent_mount_finds_longest_prefix_and_shared_flag():
    from minicontainer.libcontainer.rootfs import parent_mount

    info = (
        "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
        "30 22 0:26 / /tmp rw shared:5 - tmpfs tmpfs rw\n"
        "31 30 0:27 / /tmp/other rw - tmpfs tmpfs rw\n"
    )
    assert parent_mount("/tmp/bundle/rootfs", info) == ("/tmp", "shared:5")
    assert parent_mount("/tmp/other2/x", info) == ("/tmp", "shared:5")
    assert parent_mount("/srv/x", info) == ("/", "shared:1")
    assert parent_mount("/tmp/other/x", info) == ("/tmp/other", "")


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ("6.1.0-18-amd64", True),
        ("5.7.0", True),
        ("5.6.19-300.fc32.x86_64", False),
        ("5.4.0-150-generic", False),
        ("6.18.44-fc-v782", True),
        ("4.19.0+", False),
        ("garbage", False),
    ],
)
def test_kernel_at_least_gates_clone_into_cgroup(release, expected):
    """CLONE_INTO_CGROUP came with Linux 5.7: older kernels take the stage-1 path."""
    assert s.kernel_at_least(release, (5, 7)) is expected


@given(st.integers(0, 99), st.integers(0, 99), st.text("0123456789.-+abc", max_size=12))
def test_kernel_at_least_orders_like_tuples(major, minor, tail):
    release = f"{major}.{minor}{'-' + tail if tail else ''}"
    assert s.kernel_at_least(release, (5, 7)) is ((major, minor) >= (5, 7))
