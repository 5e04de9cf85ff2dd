"""Limits the kernel enforces for us: memory (OOM kill), pids, cpu quota, seccomp.

runtime-spec config-linux.md "Memory", "pids", "CPU" and "Seccomp": the
same bundle under runc and minicontainer must meet the same fate — an OOM
kill is exit 137, a fork bomb stops at pids.limit, a denied syscall returns
the configured errno.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.root, pytest.mark.kernel("cgroup", "netns"), pytest.mark.tool("runc")]

HOG = "x=a; while true; do x=$x$x; done"


def _both(runtimes, make_bundle, new_id, args, mutate):
    bundle = make_bundle(args, mutate)
    return {
        n: runtimes[n]("run", "-b", str(bundle), new_id(n[:2]), timeout=60)
        for n in ("runc", "minicontainer")
    }


def test_memory_hog_is_oom_killed_with_137(runtimes, make_bundle, new_id):
    def mutate(spec):
        spec["linux"]["resources"]["memory"] = {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}

    out = _both(runtimes, make_bundle, new_id, ["sh", "-c", HOG], mutate)
    assert out["runc"].returncode == 137
    assert out["minicontainer"].returncode == 137, out["minicontainer"].stderr


def test_fork_bomb_stops_at_pids_limit(runtimes, make_bundle, new_id):
    # busybox sh treats a failed fork as fatal (exit 2, "can't fork"); under the limit it is fine.
    script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do sleep 5 & done; echo spawned"

    def limited(spec):
        spec["linux"]["resources"]["pids"] = {"limit": 10}

    out = _both(runtimes, make_bundle, new_id, ["sh", "-c", script], limited)
    assert out["runc"].returncode == out["minicontainer"].returncode == 2
    assert "can't fork" in out["minicontainer"].stderr
    roomy = _both(runtimes, make_bundle, new_id, ["sh", "-c", script], None)
    assert roomy["runc"].returncode == roomy["minicontainer"].returncode == 0


def test_cpu_quota_caps_usage(mc, make_bundle, new_id):
    # Burn cpu for 1 s of wall time: with a 20% quota, user+sys time stays well under 0.5 s.
    script = (
        "(while true; do :; done) & p=$!; sleep 1; kill $p; "
        "cat /sys/fs/cgroup/cpuacct/cpuacct.usage"
    )

    def mutate(spec):
        spec["linux"]["resources"]["cpu"] = {"quota": 20000, "period": 100000}

    bundle = make_bundle(["sh", "-c", script], mutate)
    out = mc("run", "-b", str(bundle), new_id("cpu"), timeout=60)
    assert out.returncode == 0, out.stderr
    used_ns = int(out.stdout.split()[-1])
    assert used_ns < 500_000_000


@pytest.mark.parametrize("nnp", [True, False])
def test_seccomp_denies_with_configured_errno(runtimes, make_bundle, new_id, nnp):
    # mkdir → EACCES(13) via a per-syscall rule; chmod with mode 0777 → EPERM via an arg rule.
    script = "mkdir /tmp/x; echo mkdir=$?; chmod 777 /tmp 2>&1; echo chmod=$?; chmod 755 /tmp; echo ok=$?"

    def mutate(spec):
        spec["process"]["noNewPrivileges"] = nnp
        spec["root"]["readonly"] = False
        spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
        spec["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {
                    "names": ["chmod", "fchmodat"],
                    "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}],
                },
            ],
        }

    out = _both(runtimes, make_bundle, new_id, ["sh", "-c", script], mutate)
    assert "mkdir=1" in out["runc"].stdout and "ok=0" in out["runc"].stdout
    assert out["minicontainer"].stdout == out["runc"].stdout, out["minicontainer"].stderr
    assert "Permission denied" in out["runc"].stderr or "denied" in out["runc"].stdout
