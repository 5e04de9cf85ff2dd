"""The create/start split, state JSON, and runc's errors for the wrong state.

runtime-spec runtime.md "Lifecycle" and "Operations": create leaves the
process waiting, start runs it, kill/delete act by state. Each scenario is
scripted once and replayed against runc and minicontainer; the transcript
(exit status + the error message or the interesting stdout) must be equal.
"""

from __future__ import annotations

import json
import re
import time

import pytest

pytestmark = [pytest.mark.root, pytest.mark.kernel("cgroup", "netns"), pytest.mark.tool("runc")]

_MSG = re.compile(r'msg="(.*)"')


def _msg(proc) -> str:
    found = _MSG.findall(proc.stderr)
    return found[-1] if found else ""


def _wait_status(rt, cid, want, tries=200):
    for _ in range(tries):
        out = rt("state", cid)
        if out.returncode == 0 and json.loads(out.stdout)["status"] == want:
            return
        time.sleep(0.02)
    raise AssertionError(f"{rt.name}: {cid} never reached {want}")


def _transcript(rt, bundle, cid):
    """A lifecycle walk that touches every state and every wrong-state error."""
    steps = []

    def step(*args):
        out = rt(*args)
        steps.append((args[0], out.returncode, _msg(out)))
        return out

    step("state", cid)
    step("create", "-b", str(bundle), cid)
    step("create", "-b", str(bundle), cid)
    state = json.loads(step("state", cid).stdout)
    steps.append(("created-state", sorted(state), state["status"], state["pid"] > 0))
    step("kill", cid, "NOSUCHSIG")
    step("start", cid)
    _wait_status(rt, cid, "running")
    step("start", cid)
    step("delete", cid)
    step("resume", cid)
    step("pause", cid)
    steps.append(("paused", json.loads(rt("state", cid).stdout)["status"]))
    paused_delete = rt("delete", cid)
    steps.append(
        ("delete-paused", paused_delete.returncode, _msg(paused_delete).replace(cid, "<id>"))
    )
    step("resume", cid)
    steps.append(("ps-json", len(json.loads(rt("ps", "-f", "json", cid).stdout))))
    step("kill", "--all", cid, "9")
    _wait_status(rt, cid, "stopped")
    stopped = json.loads(rt("state", cid).stdout)
    steps.append(("stopped-state", stopped["pid"], stopped["status"]))
    step("start", cid)
    step("kill", cid)
    step("pause", cid)
    step("exec", cid, "true")
    step("delete", cid)
    step("delete", cid)
    step("delete", "-f", cid)
    steps.append(("list", rt("list", "-q").stdout))
    return steps


def test_lifecycle_transcript_matches_runc(runtimes, make_bundle, new_id):
    bundle = make_bundle(["sleep", "100"])
    cid = new_id("lc")
    want = _transcript(runtimes["runc"], bundle, cid)
    got = _transcript(runtimes["minicontainer"], bundle, cid)
    assert got == want
    assert ("create", 1, "runc create failed: container with given ID already exists") in got
    assert ("delete-paused", 1, "cannot delete container <id> that is not stopped: paused") in got
    assert list(runtimes["minicontainer"].root.iterdir()) == []


def test_state_json_shape_matches_runc(runtimes, make_bundle, new_id):
    def mutate(spec):
        spec["annotations"] = {"org.example/k": "v"}

    bundle = make_bundle(["sleep", "100"], mutate)
    states = {}
    for name in ("runc", "minicontainer"):
        rt, cid = runtimes[name], new_id("st")
        assert rt("create", "-b", str(bundle), cid).returncode == 0
        states[name] = json.loads(rt("state", cid).stdout)
        assert rt("delete", cid).returncode == 0
    mine, ref = states["minicontainer"], states["runc"]
    assert list(mine) == list(ref)
    for key in ("ociVersion", "status", "bundle", "rootfs", "owner", "annotations"):
        assert mine[key] == ref[key]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", mine["created"])


@pytest.mark.parametrize(
    "case",
    ["no-config", "bad-json", "no-rootfs", "bad-namespace", "empty-id", "no-bundle", "bad-cwd"],
)
def test_bad_input_errors_match_runc_and_leave_nothing(
    runtimes, make_bundle, new_id, case, tmp_path
):
    bundle = make_bundle(["true"])
    cfg = bundle / "config.json"
    spec = json.loads(cfg.read_text())
    cid = new_id("bad")
    if case == "no-config":
        cfg.unlink()
    elif case == "bad-json":
        cfg.write_text("{bad")
    elif case == "no-rootfs":
        spec["root"]["path"] = "missing-rootfs"
    elif case == "bad-namespace":
        spec["linux"]["namespaces"].append({"type": "bogus"})
    elif case == "empty-id":
        cid = ""
    elif case == "no-bundle":
        bundle = tmp_path / "does-not-exist"
    elif case == "bad-cwd":
        spec["process"]["cwd"] = "relative"
    if case in ("no-rootfs", "bad-namespace", "bad-cwd"):
        cfg.write_text(json.dumps(spec))
    results = {}
    for name in ("runc", "minicontainer"):
        rt = runtimes[name]
        out = rt("create", "-b", str(bundle), cid)
        results[name] = (out.returncode, _msg(out))
        assert not rt.root.exists() or list(rt.root.iterdir()) == []
    assert results["minicontainer"] == results["runc"]
    assert results["runc"][0] == 1


def test_rlimit_soft_above_hard_fails_like_runc(runtimes, make_bundle, new_id):
    """setrlimit goes through prlimit64: the kernel's EINVAL, worded as Go prints it."""

    def bad_rlimit(spec):
        spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 1024}]

    bundle = make_bundle(["true"], bad_rlimit)
    for name in ("runc", "minicontainer"):
        rt = runtimes[name]
        out = rt("create", "-b", str(bundle), new_id("rl"))
        assert out.returncode == 1, (name, out.stderr)
        assert _msg(out).endswith("error setting rlimit type 7: invalid argument"), out.stderr
        assert not rt.root.exists() or list(rt.root.iterdir()) == []


def test_run_detached_pid_file_and_list(mc, make_bundle, new_id, tmp_path):
    bundle = make_bundle(["sleep", "100"])
    cid = new_id("det")
    pid_file = tmp_path / "pid"
    out = mc("run", "-d", "--pid-file", str(pid_file), "-b", str(bundle), cid)
    assert out.returncode == 0, out.stderr
    state = json.loads(mc("state", cid).stdout)
    assert state["status"] == "running"
    assert int(pid_file.read_text()) == state["pid"]
    table = mc("list").stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert table[1].split()[:3] == [cid, str(state["pid"]), "running"]
    listed = json.loads(mc("list", "-f", "json").stdout)
    assert [c["id"] for c in listed] == [cid]
    assert mc("delete", "--force", cid).returncode == 0
    assert json.loads(mc("list", "-f", "json").stdout) is None


def test_exec_runs_inside_namespaces_with_exit_status(mc, make_bundle, new_id, tmp_path):
    def mutate(spec):
        spec["hostname"] = "exec-host"

    bundle = make_bundle(["sleep", "100"], mutate)
    cid = new_id("ex")
    assert mc("run", "-d", "-b", str(bundle), cid).returncode == 0
    out = mc("exec", cid, "sh", "-c", "hostname; echo $$; exit 7")
    assert out.returncode == 7
    host, pid = out.stdout.split()
    assert host == "exec-host" and int(pid) < 100
    env = mc(
        "exec",
        "-e",
        "FOO=bar",
        "--cwd",
        "/tmp",
        "-u",
        "1000:1000",
        cid,
        "sh",
        "-c",
        "echo $FOO $(pwd) $(id -u)",
    )
    assert env.stdout.split() == ["bar", "/tmp", "1000"]
    proc_file = tmp_path / "process.json"
    proc_file.write_text(
        json.dumps({"args": ["sh", "-c", "exit 5"], "cwd": "/", "env": ["PATH=/bin"]})
    )
    assert mc("exec", "-p", str(proc_file), cid).returncode == 5
    ps = mc("ps", cid)
    assert ps.returncode == 0 and "sleep 100" in ps.stdout
    missing = mc("exec", cid, "no-such-binary")
    assert missing.returncode == 255
    assert (
        'exec failed: exec: \\"no-such-binary\\": executable file not found in $PATH'
        in missing.stderr
    )
