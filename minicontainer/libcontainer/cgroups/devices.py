"""Device cgroup rules: the OCI list plus runc's always-allowed defaults.

Mirrors libcontainer/specconv/spec_linux.go (AllowedDevices) and
libcontainer/cgroups/devices (v1 emulator, rule strings). Pure: returns the
(file, line) writes for a v1 `devices` directory; the fs manager does them.
Omitted: the v1 emulator's diffing against the current rules (we always
reset with "a" first). cgroup v2's eBPF program is ebpf.py.
"""

from __future__ import annotations

# (type, major, minor, access): -1 is the "*" wildcard.
ALLOWED_DEVICES: list[tuple[str, int, int, str]] = [
    ("c", -1, -1, "m"),
    ("b", -1, -1, "m"),
    ("c", 1, 3, "rwm"),
    ("c", 1, 8, "rwm"),
    ("c", 1, 7, "rwm"),
    ("c", 5, 0, "rwm"),
    ("c", 1, 5, "rwm"),
    ("c", 1, 9, "rwm"),
    ("c", 136, -1, "rwm"),
    ("c", 5, 2, "rwm"),
    ("c", 10, 200, "rwm"),
]


def _num(n: int | None) -> str:
    return "*" if n is None or n < 0 else str(n)


def rule_line(kind: str, major: int | None, minor: int | None, access: str) -> str:
    if kind == "a":
        return "a"
    return f"{kind} {_num(major)}:{_num(minor)} {access or 'rwm'}"


def rules_v1(spec_rules: list[dict]) -> list[tuple[str, str]]:
    """The writes that leave the cgroup with exactly the spec's rules + the defaults."""
    writes: list[tuple[str, str]] = [("devices.deny", "a")]
    rules = [
        (r.get("allow", False), r.get("type", "a"), r.get("major"), r.get("minor"), r.get("access"))
        for r in spec_rules
    ]
    rules += [(True, k, ma, mi, acc) for k, ma, mi, acc in ALLOWED_DEVICES]
    for allow, kind, major, minor, access in rules:
        line = rule_line(kind or "a", major, minor, access or "rwm")
        if allow:
            writes.append(("devices.allow", line))
        elif line == "a":
            writes = [("devices.deny", "a")]
        else:
            writes.append(("devices.deny", line))
    return writes
