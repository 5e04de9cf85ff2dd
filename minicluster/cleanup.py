"""`down`: remove everything `up` made, from its state file and by name, even after a crash.

Mirrors kind's `delete cluster` (pkg/cluster/internal/delete: find the nodes by their
cluster label, remove them, remove the kubeconfig entry) for our kinds of leftovers:
processes (the supervisor, kubelets, kube-proxies, shims, containers), the containers'
runtime state, pod and node network namespaces (the iptables rules live and die in them),
the host bridge and routes, overlay mounts, pod cgroups, and the data directory.
Every step tolerates what is already gone, so `down` can be run twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from minicluster import netns, state


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


# Only what up starts: a learner's `tail -f <data-dir>/.../kubelet.log` is left alone.
OURS = ("python", "nsenter", "runc", "minicontainer")


def processes_mentioning(text: str) -> list[int]:
    """Pids of our programs whose command line names the cluster directory."""
    me = {os.getpid(), os.getppid()}
    out = []
    for p in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        argv = _argv(p)
        if p in me or not argv or not Path(argv[0]).name.startswith(OURS):
            continue
        if any(text in a for a in argv):
            out.append(p)
    return out


def kill_all(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(state.pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)


def stop_supervisor(st: state.State | None) -> None:
    """SIGTERM first: the supervisor stops its children and the in-process control plane."""
    if st is None or not state.pid_alive(st.supervisor_pid):
        return
    kill_all([st.supervisor_pid], signal.SIGTERM)
    wait_gone([st.supervisor_pid], 20)
    kill_all([st.supervisor_pid])


def sandboxes(root: Path) -> list[dict]:
    out = []
    for f in root.glob("nodes/*/sandboxes/*/sandbox.json"):
        try:
            out.append(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue
    return out


def delete_containers(root: Path, runtime: str) -> None:
    """`<runtime> --root R delete --force ID` for every container the kubelets made."""
    from minikubelet.cri import runtime_argv

    for cdir in root.glob("nodes/*/containers/*"):
        runtime_root = cdir.parent.parent / "runtime" / Path(runtime).name
        subprocess.run([*runtime_argv(runtime), "--root", str(runtime_root), "delete", "--force",
                        cdir.name], capture_output=True, timeout=30, check=False)  # fmt: skip


def remove_pod_netns(boxes: list[dict]) -> None:
    for box in boxes:
        name = Path(box["netns"]).name
        if name in netns.netns_list():
            kill_all(netns.netns_pids(name))
            netns.ip("netns", "del", name, check=False)


def remove_pod_cgroups(boxes: list[dict]) -> None:
    """Kill what is left in each pod's cgroups, then remove them, leaves first."""
    uids = {b["config"]["uid"] for b in boxes}
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        for uid in uids:
            pod = hierarchy / "minikubelet" / f"pod{uid}"
            if not pod.is_dir():
                continue
            for d in sorted(pod.rglob("*"), key=lambda p: -len(p.parts)):
                if d.is_dir():
                    _kill_cgroup(d)
                    _rmdir(d)
            _rmdir(pod)
        with contextlib.suppress(OSError):  # only when no other kubelet's pod is in it
            (hierarchy / "minikubelet").rmdir()


def _kill_cgroup(d: Path) -> None:
    try:
        kill_all([int(p) for p in (d / "cgroup.procs").read_text().split()])
    except OSError:
        pass


def _rmdir(d: Path) -> None:
    for _ in range(20):
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)  # the last killed task may not have left the cgroup yet


def unmount_under(root: Path) -> list[str]:
    """Lazy-unmount every mount point under root (overlays, netns binds), deepest first."""
    prefix = str(root) + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix):
            points.append(point)
    for point in sorted(set(points), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    return points


def down(data_dir: str, name: str) -> list[str]:
    """Remove the cluster; returns what was found, for the user's record."""
    root = state.cluster_dir(data_dir, name)
    st = state.load(data_dir, name)
    runtime = st.options.runtime if st else "minicontainer"
    found: list[str] = []
    stop_supervisor(st)
    # Node agents first, so that nothing recreates what follows.
    pids = processes_mentioning(f"{root}/")
    for ns in netns.cluster_netns(name):
        pids += netns.netns_pids(ns)
    if st:
        pids += [p for p in st.pids.values() if state.pid_alive(p)]
    kill_all(sorted(set(pids)))
    wait_gone(pids, 10)
    found += [f"{len(set(pids))} processes"] if pids else []
    boxes = sandboxes(root)
    delete_containers(root, runtime)
    remove_pod_netns(boxes)
    remove_pod_cgroups(boxes)
    found += [f"{len(boxes)} pod sandboxes"] if boxes else []
    mounts = unmount_under(root)
    found += [f"{len(mounts)} mounts"] if mounts else []
    node_ns, links = netns.cluster_netns(name), netns.cluster_links(name)
    netns.teardown(name, st.host_routes if st else [])
    found += [f"netns {n}" for n in node_ns] + [f"link {link}" for link in links]
    shutil.rmtree(root, ignore_errors=True)
    _remove_shared_kubeconfig(Path(data_dir).resolve(), root)
    return found


def _remove_shared_kubeconfig(data_dir: Path, root: Path) -> None:
    """<data-dir>/kubeconfig is ours only while it points at this cluster."""
    shared = data_dir / "kubeconfig"
    marker = data_dir / ".kubeconfig-owner"
    if marker.exists() and marker.read_text().strip() == str(root):
        shared.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
    try:
        data_dir.rmdir()
    except OSError:
        pass  # not empty: someone else's files live there too
