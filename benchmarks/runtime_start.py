"""Container start latency: minicontainer vs runc vs crun, same bundle, same run.

Two figures per runtime, each the median and p90 wall time over N runs:
  run_true        `RUNTIME run` of /bin/true (busybox), the whole lifecycle in one call;
  lifecycle       create + start + wait until stopped + delete, as a shim drives it.
Plus the floor: `unshare -fpmuin chroot ROOTFS /bin/true` with no runtime at all.
crun refuses this hybrid cgroup layout, so it runs inside `unshare -m` with
/sys/fs/cgroup/unified unmounted; that wrapper's own cost is measured and reported
(`crun_wrapper_ms`) and subtracted. One JSON line per figure, with ratios to runc.

Run from the repo root as root: .venv/bin/python benchmarks/runtime_start.py [--runs N]
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


def wrapper(top: Path) -> str:
    code = (
        f"import sys;sys.path.insert(0,{str(REPO)!r});"
        "from minicontainer.cli.main import entry;entry()"
    )
    path = top / "minicontainer"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} -S -E -s -c "{code}" "$@"\n')
    path.chmod(0o755)
    return str(path)


def runtime_argv(name: str, mc: str, root: Path) -> list[str]:
    if name == "crun":
        inner = f"umount /sys/fs/cgroup/unified; exec crun --root {root}"
        return ["unshare", "-m", "sh", "-c", inner + ' "$@"', "crun"]
    binary = mc if name == "minicontainer" else "runc"
    return [binary, "--root", str(root)]


def timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise SystemExit(f"{argv}: {proc.stderr.decode()}")
    return (time.perf_counter() - t0) * 1000


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
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    top = Path(tempfile.mkdtemp(prefix=f"mc-bench-{os.getpid()}-"))
    try:
        bundle = build_bundle(top)
        mc = wrapper(top)
        wrap = summary(
            [
                timed(["unshare", "-m", "sh", "-c", "umount /sys/fs/cgroup/unified"])
                for _ in range(opts.runs)
            ]
        )
        floor = summary(
            [
                timed(["unshare", "-fpmuin", "chroot", str(bundle / "rootfs"), "/bin/true"])
                for _ in range(opts.runs)
            ]
        )
        print(json.dumps({"benchmark": "unshare_chroot_floor", **floor}))
        results: dict[str, dict] = {}
        for name in ("runc", "crun", "minicontainer"):
            argv = runtime_argv(name, mc, top / f"root-{name}")
            shift = wrap["median_ms"] if name == "crun" else 0.0
            run = [
                timed(argv + ["run", "--bundle", str(bundle), f"b{i}"]) - shift
                for i in range(opts.runs)
            ]
            life = [lifecycle(argv, bundle, f"l{i}") - 4 * shift for i in range(opts.runs)]
            results[name] = {"run_true": summary(run), "lifecycle": summary(life)}
        for figure in ("run_true", "lifecycle"):
            ref = results["runc"][figure]["median_ms"]
            for name, res in results.items():
                line = {"benchmark": figure, "runtime": name, **res[figure]}
                line["ratio_vs_runc"] = round(res[figure]["median_ms"] / ref, 2)
                if name == "crun":
                    line["crun_wrapper_ms"] = wrap["median_ms"]
                print(json.dumps(line))
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
