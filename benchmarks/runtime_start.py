"""Container start latency: minicontainer vs runc vs crun, same bundle, same run.

Three figures per runtime, each the median and p90 over N runs:
  run_true        wall time of `RUNTIME run` of /bin/true (busybox), the whole lifecycle
                  in one call;
  run_true_cpu    the CPU time (user+system) of that call and all it reaped: the figure
                  that stays comparable when other processes load the shared cores;
  lifecycle       wall time of create + start + wait until stopped + delete, as a shim
                  drives it.
Plus the floor: `unshare -fpmuin chroot ROOTFS /bin/true` with no runtime at all.
minicontainer runs through its lean launcher (python -m minicontainer.cli.launcher):
once with this venv's interpreter ("minicontainer"), and, when Debian's python3.11
is there, once with it ("minicontainer-debian-python": a static, PGO-built
interpreter that starts faster than a shared-library build).
crun refuses this hybrid cgroup layout, so it runs inside `unshare -m` with
/sys/fs/cgroup/unified unmounted; that wrapper's own cost is measured and reported
(`crun_wrapper_ms`) and subtracted. The runtimes take turns within each round, so a
burst of load from other processes hits them all alike. One JSON line per figure,
with ratios to runc.

Run from the repo root as root: .venv/bin/python benchmarks/runtime_start.py [--runs N]
[--compare old=/path/to/another/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from minicontainer.cli.launcher import write_launcher  # noqa: E402
from minicontainer.cli.spec_cmd import example  # noqa: E402


def build_bundle(top: Path) -> Path:
    rootfs = top / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", rootfs / "bin" / "busybox")
    for name in subprocess.run(
        ["/bin/busybox", "--list"], capture_output=True, text=True
    ).stdout.split():
        if name != "busybox":
            os.symlink("busybox", rootfs / "bin" / name)
    for d in ("proc", "sys", "dev"):
        (rootfs / d).mkdir()
    spec = example()
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/true"]
    (top / "config.json").write_text(json.dumps(spec))
    return top


DEBIAN_PYTHON = "/usr/bin/python3.11"


def launchers(top: Path, compare: list[str]) -> dict[str, str]:
    """name → the minicontainer executable, as `python -m minicontainer.cli.launcher` writes it.

    `compare`: NAME=DIR entries, other checkouts (say, the previous commit) run the
    same way, with Debian's python3.11 when it is there.
    """
    out = {"minicontainer": write_launcher(str(top / "minicontainer"))}
    debian = os.path.exists(DEBIAN_PYTHON)
    if debian and os.path.realpath(DEBIAN_PYTHON) != os.path.realpath(sys.executable):
        out["minicontainer-debian-python"] = write_launcher(str(top / "mc-deb"), DEBIAN_PYTHON)
    for entry in compare:
        name, _, repo = entry.partition("=")
        python = DEBIAN_PYTHON if debian else sys.executable
        out[name] = write_launcher(str(top / f"mc-{name}"), python, os.path.abspath(repo))
    return out


def runtime_argv(name: str, mc: dict[str, str], root: Path) -> list[str]:
    if name == "crun":
        inner = f"umount /sys/fs/cgroup/unified; exec crun --root {root}"
        return ["unshare", "-m", "sh", "-c", inner + ' "$@"', "crun"]
    return [mc.get(name, name), "--root", str(root)]


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall ms, CPU ms): CPU is user+system of the command and every child it reaped
    (wait4's rusage), so it counts the runtime's helpers and the container's /bin/true,
    and it barely moves when other processes load the machine."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv}: {err}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def lifecycle(argv: list[str], bundle: Path, cid: str) -> float:
    t0 = time.perf_counter()
    for step in (["create", "--bundle", str(bundle), cid], ["start", cid]):
        subprocess.run(argv + step, check=True, stdout=subprocess.DEVNULL)
    while True:
        out = subprocess.run(argv + ["state", cid], capture_output=True, text=True)
        if json.loads(out.stdout)["status"] == "stopped":
            break
    subprocess.run(argv + ["delete", cid], check=True)
    return (time.perf_counter() - t0) * 1000


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
        "n": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also run the minicontainer of another checkout DIR, reported as NAME",
    )
    opts = parser.parse_args()
    top = Path(tempfile.mkdtemp(prefix=f"mc-bench-{os.getpid()}-"))
    try:
        bundle = build_bundle(top)
        mc = launchers(top, opts.compare)
        names = ["runc", "crun", *mc]
        argvs = {name: runtime_argv(name, mc, top / f"root-{name}") for name in names}
        wrap_cmd = ["unshare", "-m", "sh", "-c", "umount /sys/fs/cgroup/unified"]
        floor_cmd = ["unshare", "-fpmuin", "chroot", str(bundle / "rootfs"), "/bin/true"]
        figures = ("run_true", "run_true_cpu", "lifecycle")
        samples: dict[str, list[float]] = {"wrap": [], "wrap_cpu": [], "floor": []}
        samples.update({f"{n}/{fig}": [] for n in names for fig in figures})
        for i in range(opts.runs):
            wrap_wall, wrap_cpu = timed(wrap_cmd)
            samples["wrap"].append(wrap_wall)
            samples["wrap_cpu"].append(wrap_cpu)
            samples["floor"].append(timed(floor_cmd)[0])
            for name in names:
                crun = name == "crun"
                shift = statistics.median(samples["wrap"]) if crun else 0.0
                shift_cpu = statistics.median(samples["wrap_cpu"]) if crun else 0.0
                wall, cpu = timed(argvs[name] + ["run", "--bundle", str(bundle), f"b{i}"])
                samples[f"{name}/run_true"].append(wall - shift)
                samples[f"{name}/run_true_cpu"].append(cpu - shift_cpu)
                life = lifecycle(argvs[name], bundle, f"l{i}")
                samples[f"{name}/lifecycle"].append(life - 4 * shift)
        wrap = summary(samples["wrap"])
        print(json.dumps({"benchmark": "unshare_chroot_floor", **summary(samples["floor"])}))
        for figure in figures:
            ref = summary(samples[f"runc/{figure}"])["median_ms"]
            for name in names:
                res = summary(samples[f"{name}/{figure}"])
                line = {"benchmark": figure, "runtime": name, **res}
                line["ratio_vs_runc"] = round(res["median_ms"] / ref, 2)
                if name == "crun":
                    line["crun_wrapper_ms"] = wrap["median_ms"]
                print(json.dumps(line))
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
