"""Compile an OCI `linux.seccomp` profile into a classic BPF program.

Mirrors what runc gets from libseccomp (libcontainer/seccomp/seccomp_linux.go
InitSeccomp + libseccomp's gen_bpf.c): check the audit architecture, load the
syscall number, test each rule in order (number, then the 64-bit argument
conditions as hi/lo 32-bit words), return the rule's action, else the
default action. Pure: `compile_profile` returns bytes; `install` is the syscall.
Omitted: syscall tables for non-native architectures (their syscalls get the
default action), SCMP_ACT_NOTIFY (needs a listener), filter flags, and
libseccomp's priority reordering (rules are tested in profile order).
"""

from __future__ import annotations

import errno as errno_mod
import struct

from minicontainer.libcontainer.syscall_table import SYSCALLS_X86_64

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
ARCHES = {"SCMP_ARCH_X86_64": AUDIT_ARCH_X86_64, "SCMP_ARCH_X86": 0x40000003, "SCMP_ARCH_X32": 0}

RET_KILL_PROCESS = 0x80000000
RET_KILL_THREAD = 0x00000000
RET_TRAP = 0x00030000
RET_ERRNO = 0x00050000
RET_TRACE = 0x7FF00000
RET_LOG = 0x7FFC0000
RET_ALLOW = 0x7FFF0000

_LD_ABS = 0x20
_JEQ = 0x15
_JGT = 0x25
_JGE = 0x35
_AND = 0x54
_RET = 0x06


class SeccompError(ValueError):
    """A profile we cannot compile; the message follows runc's wording."""


def action_value(action: str, errno_ret: int | None) -> int:
    """seccomp_linux.go getAction: OCI action name → SECCOMP_RET_* value."""
    if action in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return RET_KILL_THREAD
    if action == "SCMP_ACT_KILL_PROCESS":
        return RET_KILL_PROCESS
    if action == "SCMP_ACT_TRAP":
        return RET_TRAP
    if action == "SCMP_ACT_ERRNO":
        code = errno_mod.EPERM if errno_ret is None else errno_ret
        return RET_ERRNO | (code & 0xFFFF)
    if action == "SCMP_ACT_TRACE":
        code = errno_mod.EPERM if errno_ret is None else errno_ret
        return RET_TRACE | (code & 0xFFFF)
    if action == "SCMP_ACT_LOG":
        return RET_LOG
    if action == "SCMP_ACT_ALLOW":
        return RET_ALLOW
    raise SeccompError(f"invalid action {action!r} in seccomp profile")


def _words(value: int) -> tuple[int, int]:
    value &= 0xFFFFFFFFFFFFFFFF
    return value >> 32, value & 0xFFFFFFFF


def _condition(arg: dict, fail: str, ok: str) -> list:
    """Instructions for one argument condition; fall through (to `ok`) when it holds."""
    idx, op = arg["index"], arg["op"]
    if not 0 <= idx < 6:
        raise SeccompError(f"invalid argument index {idx}")
    lo_off, hi_off = 16 + 8 * idx, 20 + 8 * idx
    vh, vl = _words(arg.get("value", 0))
    ld_hi, ld_lo = (_LD_ABS, 0, 0, hi_off), (_LD_ABS, 0, 0, lo_off)
    if op == "SCMP_CMP_EQ":
        return [ld_hi, (_JEQ, 0, fail, vh), ld_lo, (_JEQ, 0, fail, vl)]
    if op == "SCMP_CMP_NE":
        return [ld_hi, (_JEQ, 0, ok, vh), ld_lo, (_JEQ, fail, 0, vl)]
    if op == "SCMP_CMP_GT":
        return [ld_hi, (_JGT, ok, 0, vh), (_JEQ, 0, fail, vh), ld_lo, (_JGT, 0, fail, vl)]
    if op == "SCMP_CMP_GE":
        return [ld_hi, (_JGT, ok, 0, vh), (_JEQ, 0, fail, vh), ld_lo, (_JGE, 0, fail, vl)]
    if op == "SCMP_CMP_LT":
        return [ld_hi, (_JGT, fail, 0, vh), (_JEQ, 0, ok, vh), ld_lo, (_JGE, fail, 0, vl)]
    if op == "SCMP_CMP_LE":
        return [ld_hi, (_JGT, fail, 0, vh), (_JEQ, 0, ok, vh), ld_lo, (_JGT, fail, 0, vl)]
    if op == "SCMP_CMP_MASKED_EQ":
        eh, el = _words(arg.get("valueTwo", 0))
        return [
            *[ld_hi, (_AND, 0, 0, vh), (_JEQ, 0, fail, eh)],
            *[ld_lo, (_AND, 0, 0, vl), (_JEQ, 0, fail, el)],
        ]
    raise SeccompError(f"invalid operator {op!r} in seccomp profile")


def _rule_groups(args: list[dict]) -> list[list[dict]]:
    """runc: conditions on distinct arguments are ANDed; repeats of one index become ORed rules."""
    indexes = [a["index"] for a in args]
    if len(set(indexes)) != len(indexes):
        return [[a] for a in args]
    return [args]


def _assemble(items: list) -> bytes:
    """Resolve label jumps (strings) into relative offsets and pack sock_filter structs."""
    labels: dict[str, int] = {}
    code: list[tuple] = []
    for item in items:
        if isinstance(item, str):
            labels[item] = len(code)
        else:
            code.append(item)
    out = bytearray()
    for pc, (op, jt, jf, k) in enumerate(code):
        jt = labels[jt] - pc - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - pc - 1 if isinstance(jf, str) else jf
        if not (0 <= jt <= 255 and 0 <= jf <= 255):
            raise SeccompError("seccomp rule too long to compile")
        out += struct.pack("<HBBI", op, jt, jf, k & 0xFFFFFFFF)
    return bytes(out)


def compile_profile(profile: dict) -> bytes:
    """The whole filter for x86_64; unknown syscall names are skipped like runc does."""
    default = action_value(profile.get("defaultAction", ""), profile.get("defaultErrnoRet"))
    arches = profile.get("architectures") or []
    listed_foreign = any(ARCHES.get(a) not in (None, AUDIT_ARCH_X86_64) for a in arches)
    foreign = default if listed_foreign else RET_KILL_PROCESS
    items: list = [
        (_LD_ABS, 0, 0, 4),
        (_JEQ, 1, 0, AUDIT_ARCH_X86_64),
        (_RET, 0, 0, foreign),
        (_LD_ABS, 0, 0, 0),
        (_JGE, 0, 1, X32_SYSCALL_BIT),
        (_RET, 0, 0, foreign),
    ]
    n = 0
    for rule in profile.get("syscalls") or []:
        action = action_value(rule.get("action", ""), rule.get("errnoRet"))
        for name in rule.get("names") or []:
            nr = SYSCALLS_X86_64.get(name)
            if nr is None:
                continue
            for group in _rule_groups(rule.get("args") or []):
                n += 1
                end = f"end{n}"
                items += [(_LD_ABS, 0, 0, 0), (_JEQ, 0, end, nr)]
                for c, arg in enumerate(group):
                    ok = f"ok{n}.{c}"
                    items += [*_condition(arg, end, ok), ok]
                items += [(_RET, 0, 0, action), end]
    items.append((_RET, 0, 0, default))
    return _assemble(items)
