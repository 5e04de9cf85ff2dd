"""The seccomp compiler, checked by running its BPF in a tiny interpreter.

A classic-BPF interpreter (the subset seccomp allows: ld abs, jeq/jgt/jge,
and, ret) executes the compiled program on seccomp_data; hypothesis checks
that the verdict always equals a direct reading of the OCI profile
(config-linux.md "Seccomp": first matching rule, conditions ANDed, default
action otherwise).
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from minicontainer.libcontainer import seccomp as sc
from minicontainer.libcontainer.syscall_table import SYSCALLS_X86_64


def run_bpf(program: bytes, nr: int, args: list[int], arch: int = sc.AUDIT_ARCH_X86_64) -> int:
    data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    insns = [struct.unpack("<HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        op, jt, jf, k = insns[pc]
        if op == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif op == 0x54:
            acc &= k
        elif op in (0x15, 0x25, 0x35):
            ok = {0x15: acc == k, 0x25: acc > k, 0x35: acc >= k}[op]
            pc += jt if ok else jf
        elif op == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")
        pc += 1


def reference(profile: dict, nr: int, args: list[int]) -> int:
    ops = {
        "SCMP_CMP_EQ": lambda a, v, _t: a == v,
        "SCMP_CMP_NE": lambda a, v, _t: a != v,
        "SCMP_CMP_LT": lambda a, v, _t: a < v,
        "SCMP_CMP_LE": lambda a, v, _t: a <= v,
        "SCMP_CMP_GT": lambda a, v, _t: a > v,
        "SCMP_CMP_GE": lambda a, v, _t: a >= v,
        "SCMP_CMP_MASKED_EQ": lambda a, v, t: a & v == t,
    }
    for rule in profile["syscalls"]:
        if nr not in [SYSCALLS_X86_64[n] for n in rule["names"]]:
            continue
        conds = rule.get("args") or []
        checks = [ops[c["op"]](args[c["index"]], c["value"], c.get("valueTwo", 0)) for c in conds]
        indexes = [c["index"] for c in conds]
        hit = any(checks) if len(set(indexes)) != len(indexes) else all(checks)
        if hit:
            return sc.action_value(rule["action"], rule.get("errnoRet"))
    return sc.action_value(profile["defaultAction"], profile.get("defaultErrnoRet"))


NAMES = ["read", "write", "openat", "mkdir", "chmod", "kill", "socket", "clone"]
U64 = st.one_of(st.integers(0, 8), st.sampled_from([2**32 - 1, 2**32, 2**63, 2**64 - 1]))
ARG = st.fixed_dictionaries(
    {
        "index": st.integers(0, 2),
        "value": U64,
        "valueTwo": U64,
        "op": st.sampled_from(
            ["SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE"]
            + ["SCMP_CMP_GT", "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ"]
        ),
    }
)
RULE = st.fixed_dictionaries(
    {
        "names": st.lists(st.sampled_from(NAMES), min_size=1, max_size=3),
        "action": st.sampled_from(
            ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_LOG"]
        ),
        "errnoRet": st.integers(1, 200),
        "args": st.lists(ARG, max_size=3),
    }
)
PROFILE = st.fixed_dictionaries(
    {
        "defaultAction": st.sampled_from(["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_TRAP"]),
        "syscalls": st.lists(RULE, max_size=5),
    }
)


@settings(max_examples=60, deadline=None)
@given(PROFILE, st.sampled_from(NAMES), st.lists(U64, min_size=6, max_size=6))
def test_compiled_filter_agrees_with_profile(profile, name, args):
    program = sc.compile_profile(profile)
    nr = SYSCALLS_X86_64[name]
    assert run_bpf(program, nr, args) == reference(profile, nr, args)


def test_foreign_arch_and_x32_are_not_native():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}
    program = sc.compile_profile(profile)
    assert run_bpf(program, 1, [0] * 6, arch=0x40000003) == sc.RET_KILL_PROCESS
    assert run_bpf(program, 1 | sc.X32_SYSCALL_BIT, [0] * 6) == sc.RET_KILL_PROCESS
    listed = dict(profile, architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
    assert run_bpf(sc.compile_profile(listed), 1, [0] * 6, arch=0x40000003) == sc.RET_ALLOW


def test_errno_defaults_to_eperm_and_unknown_names_are_skipped():
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_syscall", "mkdir"], "action": "SCMP_ACT_ERRNO"}],
    }
    program = sc.compile_profile(profile)
    assert run_bpf(program, SYSCALLS_X86_64["mkdir"], [0] * 6) == sc.RET_ERRNO | 1
    assert run_bpf(program, SYSCALLS_X86_64["read"], [0] * 6) == sc.RET_ALLOW
