"""The cgroup v2 device filter: OCI device rules compiled to an eBPF program.

Mirrors libcontainer/cgroups/devices/devicefilter.go (deviceFilter: a prologue
that splits `struct bpf_cgroup_dev_ctx` into type, access, major and minor,
one block per rule that jumps to the next block on any mismatch, a default
verdict at the end), the emulator it runs first (devices_emulator.go: the rule
list as cgroup v1 would leave it, so v1 and v2 allow the same devices), and
ebpf_linux.go (BPF_PROG_LOAD, then BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI).
cgroup v2 has no devices.allow file: the kernel asks this program on every
open and mknod of a device node by a task in the cgroup (1 = allow, 0 = deny).
Omitted: replacing a previously attached program (runc's BPF_F_REPLACE
dance); a new cgroup has none. Pure except `attach`.
"""

from __future__ import annotations

import os
import struct

from minicontainer.libcontainer.cgroups.devices import ALLOWED_DEVICES

# include/uapi/linux/bpf.h
BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR = 1, 2
BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE = 1, 2, 4
_ACCESS_BITS = {"m": BPF_DEVCG_ACC_MKNOD, "r": BPF_DEVCG_ACC_READ, "w": BPF_DEVCG_ACC_WRITE}
_ALL_ACCESS = 7
_TYPES = {"c": BPF_DEVCG_DEV_CHAR, "b": BPF_DEVCG_DEV_BLOCK}

# eBPF opcodes (instruction class | operation | source)
_LDX_MEM_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W
_ALU32_AND_K = 0x54
_ALU32_RSH_K = 0x74
_ALU32_MOV_K = 0xB4
_ALU32_MOV_X = 0xBC
_JMP_JNE_K = 0x55
_JMP_JNE_X = 0x5D
_JMP_EXIT = 0x95

LICENSE = b"Apache\0"  # runc's license string; the kernel checks GPL-only helpers against it


def insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One 8-byte instruction: opcode, dst/src registers (4 bits each), offset, immediate."""
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


Rule = tuple[str, int, int, int, bool]  # (type, major, minor, access bits, allow); -1 = any


def emulate(spec_rules: list[dict]) -> tuple[bool, list[Rule]]:
    """The state cgroup v1 reaches from these writes: (default allow, exceptions).

    Like rules_v1 it starts from "deny all" and appends runc's default devices.
    A rule with the default's verdict takes access away from an identical
    exception, as the v1 kernel does; it cannot punch holes in a wildcard.
    """
    rules = [
        (
            r.get("allow", False),
            r.get("type") or "a",
            r.get("major"),
            r.get("minor"),
            r.get("access"),
        )
        for r in spec_rules
    ]
    rules += [(True, k, ma, mi, acc) for k, ma, mi, acc in ALLOWED_DEVICES]
    default_allow = False
    exceptions: dict[tuple[str, int, int], int] = {}
    for allow, kind, major, minor, access in rules:
        if kind == "a":
            default_allow, exceptions = allow, {}
            continue
        key = (kind, -1 if major is None else major, -1 if minor is None else minor)
        bits = 0
        for ch in access or "rwm":
            bits |= _ACCESS_BITS[ch]
        if allow == default_allow:
            left = exceptions.get(key, 0) & ~bits
            if left:
                exceptions[key] = left
            else:
                exceptions.pop(key, None)
        else:
            exceptions[key] = exceptions.get(key, 0) | bits
    return default_allow, [
        (k, ma, mi, b, not default_allow) for (k, ma, mi), b in exceptions.items()
    ]


def device_filter(spec_rules: list[dict]) -> bytes:
    """deviceFilter: the program, as bytes ready for BPF_PROG_LOAD."""
    default_allow, rules = emulate(spec_rules)
    prog = [
        insn(_LDX_MEM_W, 2, 1, 0),  # r2 = ctx->access_type
        insn(_ALU32_AND_K, 2, imm=0xFFFF),  # r2 = device type
        insn(_LDX_MEM_W, 3, 1, 0),
        insn(_ALU32_RSH_K, 3, imm=16),  # r3 = requested access
        insn(_LDX_MEM_W, 4, 1, 4),  # r4 = major
        insn(_LDX_MEM_W, 5, 1, 8),  # r5 = minor
    ]
    for rule in rules:
        prog += _rule_block(rule)
    prog += [insn(_ALU32_MOV_K, 0, imm=int(default_allow)), insn(_JMP_EXIT)]
    return b"".join(prog)


def _rule_block(rule: Rule) -> list[bytes]:
    """appendRule: every check jumps past the block's end (to the next block) on mismatch."""
    kind, major, minor, access, allow = rule
    checks: list[tuple[int, int, int, int]] = [(_JMP_JNE_K, 2, 0, _TYPES[kind])]
    if access != _ALL_ACCESS:
        # (r3 & access) != r3: something outside the rule's access was asked for
        checks.append((_ALU32_MOV_X, 1, 3, 0))
        checks.append((_ALU32_AND_K, 1, 0, access))
        checks.append((_JMP_JNE_X, 1, 3, 0))
    if major >= 0:
        checks.append((_JMP_JNE_K, 4, 0, major))
    if minor >= 0:
        checks.append((_JMP_JNE_K, 5, 0, minor))
    total = len(checks) + 2  # the checks, then "r0 = verdict; exit"
    block = []
    for i, (op, dst, src, imm) in enumerate(checks):
        is_jump = op in (_JMP_JNE_K, _JMP_JNE_X)
        block.append(insn(op, dst, src, total - i - 1 if is_jump else 0, imm))
    block += [insn(_ALU32_MOV_K, 0, imm=int(allow)), insn(_JMP_EXIT)]
    return block


# bpf(2) commands, program and attach types
_NR_BPF = 321
_BPF_PROG_LOAD, _BPF_PROG_ATTACH = 5, 8
_BPF_PROG_TYPE_CGROUP_DEVICE = 15
_BPF_CGROUP_DEVICE = 6
_BPF_F_ALLOW_MULTI = 2


def attach(program: bytes, cgroup_dir: str) -> None:
    """ebpf_linux.go LoadAttachCgroupDeviceFilter: load, attach, drop our fds.

    The attachment keeps the program alive; removing the cgroup frees it.
    """
    import ctypes  # only a v2 `set` with device rules pays for it

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    insns = ctypes.create_string_buffer(program, len(program))
    license_ = ctypes.create_string_buffer(LICENSE)
    log = ctypes.create_string_buffer(65536)
    # union bpf_attr for BPF_PROG_LOAD: type, insn_cnt, insns, license, log level/size/buf
    load = struct.pack(
        "<IIQQIIQ",
        _BPF_PROG_TYPE_CGROUP_DEVICE,
        len(program) // 8,
        ctypes.addressof(insns),
        ctypes.addressof(license_),
        1,
        len(log),
        ctypes.addressof(log),
    ).ljust(128, b"\0")
    attr = ctypes.create_string_buffer(load, len(load))
    prog_fd = libc.syscall(_NR_BPF, _BPF_PROG_LOAD, attr, len(load))
    if prog_fd < 0:
        err = ctypes.get_errno()
        detail = log.value.decode(errors="replace").strip()
        raise OSError(err, f"failed to load device filter: {os.strerror(err)} {detail}".strip())
    cg_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # union bpf_attr for BPF_PROG_ATTACH: target_fd, attach_bpf_fd, type, flags
        raw = struct.pack("<IIII", cg_fd, prog_fd, _BPF_CGROUP_DEVICE, _BPF_F_ALLOW_MULTI)
        raw = raw.ljust(128, b"\0")
        attr = ctypes.create_string_buffer(raw, len(raw))
        if libc.syscall(_NR_BPF, _BPF_PROG_ATTACH, attr, len(raw)) < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"failed to call BPF_PROG_ATTACH: {os.strerror(err)}")
    finally:
        os.close(cg_fd)
        os.close(prog_fd)
