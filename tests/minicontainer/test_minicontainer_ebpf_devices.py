"""The cgroup v2 device filter: emulated v1 rules → an eBPF program the kernel enforces.

runc's devicefilter.go is the reference for the program's shape; the kernel is
the oracle: the program is loaded with BPF_PROG_LOAD (the verifier must accept
it) and attached to a cgroup2 directory under this hybrid host's
/sys/fs/cgroup/unified, and a process moved there may open only what it allows.
"""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicontainer.libcontainer.cgroups import ebpf, fs2
from minicontainer.libcontainer.cgroups.devices import rules_v1

UNIFIED = "/sys/fs/cgroup/unified"
DENY_ALL = {"allow": False, "access": "rwm"}


def test_default_spec_rules_emulate_to_runcs_allow_list():
    default_allow, rules = ebpf.emulate([DENY_ALL])
    assert default_allow is False
    assert ("c", 1, 3, 7, True) in rules and ("c", 136, -1, 7, True) in rules
    assert ("c", -1, -1, ebpf.BPF_DEVCG_ACC_MKNOD, True) in rules  # "c *:* m"


def test_allow_all_then_deny_one_is_a_deny_list():
    default_allow, rules = ebpf.emulate(
        [{"allow": True, "type": "a"}, {"allow": False, "type": "c", "major": 1, "minor": 11}]
    )
    # runc's defaults come after the spec's rules: in allow-all mode they change nothing
    assert default_allow is True
    assert rules == [("c", 1, 11, 7, False)]


rule_st = st.fixed_dictionaries(
    {
        "allow": st.booleans(),
        "type": st.sampled_from(["a", "c", "b"]),
        "major": st.sampled_from([None, 1, 5, 136]),
        "minor": st.sampled_from([None, 3, 9]),
        "access": st.sampled_from(["r", "w", "m", "rw", "rwm"]),
    }
)


@settings(max_examples=40, deadline=None)
@given(st.lists(rule_st, max_size=6))
def test_program_shape_follows_the_emulated_rules(rules):
    """Prologue (6) + per rule: type check, access check (3, unless rwm), major, minor,
    verdict (2) + the default verdict (2); every jump lands inside the program."""
    prog = ebpf.device_filter(rules)
    _default, emulated = ebpf.emulate(rules)
    expected = 6 + 2
    for _kind, major, minor, access, _allow in emulated:
        expected += 1 + (3 if access != 7 else 0) + (major >= 0) + (minor >= 0) + 2
    assert len(prog) == 8 * expected
    for pc in range(len(prog) // 8):
        op, _regs, off, _imm = ebpf.struct.unpack_from("<BBhi", prog, pc * 8)
        if op in (0x55, 0x5D):
            assert 0 <= pc + 1 + off < len(prog) // 8
    # the same list written to a v1 devices cgroup starts from "deny all" too
    assert rules_v1(rules)[0] == ("devices.deny", "a")


def _opens_in_cgroup(cgroup: str, paths: list[str]) -> dict[str, str]:
    """Fork a child into `cgroup`, try each open (read and write), report the outcome."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            lines = []
            for path in paths:
                for flag, name in ((os.O_RDONLY, "r"), (os.O_WRONLY, "w")):
                    try:
                        os.close(os.open(path, flag))
                        lines.append(f"{path} {name} ok")
                    except OSError as e:
                        lines.append(f"{path} {name} {e.errno}")
            os.write(w, "\n".join(lines).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return {" ".join(ln.split()[:2]): ln.split()[2] for ln in data.decode().splitlines()}


@pytest.mark.root
@pytest.mark.kernel("cgroup")
def test_kernel_enforces_the_filter_on_a_cgroup2_directory():
    if not os.path.exists(os.path.join(UNIFIED, "cgroup.procs")):
        pytest.fail(f"no cgroup2 hierarchy at {UNIFIED}")
    cgroup = os.path.join(UNIFIED, f"mc-ebpf-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.mkdir(cgroup)
    manager = fs2.Manager({"": cgroup}, UNIFIED)
    try:
        # runc's spec: deny all, then its defaults; plus /dev/kmsg (1:11) read-only
        rules = [DENY_ALL, {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"}]
        manager.set({"devices": rules})  # the v2 manager's Set: load + attach the filter
        seen = _opens_in_cgroup(cgroup, ["/dev/null", "/dev/kmsg", "/dev/loop-control"])
    finally:
        manager.destroy()
    assert not os.path.exists(cgroup)
    eperm = str(1)
    assert seen["/dev/null r"] == "ok" and seen["/dev/null w"] == "ok"
    assert seen["/dev/kmsg r"] == "ok" and seen["/dev/kmsg w"] == eperm
    assert seen["/dev/loop-control r"] == eperm  # 10:237, not in the list
